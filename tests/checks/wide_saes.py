"""What `wide_saes` must show at `smoke` (EXPERIMENTS.md: more latents than features)."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    verdicts = {row["id"]: row["holds"] for row in results["claims"]}
    assert verdicts["tied_exact"] == "yes", "the tied 8-latent SAE: 4 clean latents, the rest dead"
    assert metrics["tied_min_clean_cos"] > 0.95 and metrics["tied_dead"] == 4
    assert verdicts["tied_hierarchy_exact"] == "yes"
    assert verdicts["untied_misuses_capacity"] == "yes"
    assert metrics["untied_duplicates"] + metrics["untied_broken"] > 0
