"""What `narrow_saes` must show at `smoke` (EXPERIMENTS.md: fewer latents than features)."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    verdicts = {row["id"]: row["holds"] for row in results["claims"]}
    assert (metrics["top_first"], metrics["top_last"]) == (4, 8), "features 4-8 have the largest p*m^2"
    assert verdicts["tied_keeps_top_mse"] == "yes" and verdicts["untied_keeps_top_mse"] == "yes"
    assert verdicts["children_absorb_parent"] == "yes"
    assert min(metrics["latent5_cos_parent"], metrics["latent7_cos_parent"]) > 0.1
    assert verdicts["latents_orthogonal"] == "yes"
    assert metrics["broken_min_peaks"] >= 2, "the 5/7 -> 12 latents have several activation peaks"
