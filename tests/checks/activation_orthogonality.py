"""What `activation_orthogonality` must show at `smoke` (EXPERIMENTS.md: the fix)."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    verdicts = {row["id"]: row["holds"] for row in results["claims"]}
    assert verdicts["fixes_parent12"] == "yes", "the 5/7 -> 12 setting comes out clean"
    assert metrics["fixed_max_peaks"] < metrics["plain_max_peaks"], "the loss removes the extra peaks"
    assert 0.03 < metrics["superposition_mean_abs_cos"] < 0.08, "20 features in 19-d: |cos| about 0.05"
    assert metrics["samples_share_of_post"] < 1
