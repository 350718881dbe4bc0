"""What `lm_and_saes` must show at `smoke` (EXPERIMENTS.md Part III): a working model, stores and suite."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    verdicts = {row["id"]: row["holds"] for row in results["claims"]}
    assert metrics["clean_loss"] < 5 < metrics["zero_ablation_loss"], (
        "the model predicts English; ablation hurts"
    )
    assert 0 < metrics["min_ce_recovered_percent"] <= metrics["max_ce_recovered_percent"] < 100
    assert metrics["position0_norm_over_kept"] > 5, "the first position carries a huge-norm outlier"
    assert metrics["analysis_tokens"] > 0 and metrics["train_tokens"] > metrics["analysis_tokens"]
    assert verdicts["fvu_falls_with_width_and_k"] in ("yes", "partly")
    assert metrics["share_widths_falls_with_k"] == 1, "more active latents always reconstruct better"
