"""What `lm_and_saes` must show at `smoke` (Part III): a working model, stores and suite, measured
consistently."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    assert metrics["clean_loss"] < 5 < metrics["zero_ablation_loss"], (
        "the model predicts English; ablation hurts"
    )
    assert 0 < metrics["min_ce_recovered_percent"] <= metrics["max_ce_recovered_percent"] < 100
    kept_per_context = metrics["context_length"] - metrics["keep_from"]
    assert metrics["analysis_tokens"] > 0 and metrics["analysis_tokens"] % kept_per_context == 0, (
        "every analysis context contributes each of its kept positions once"
    )
    assert metrics["train_tokens"] % (metrics["context_length"] - 1) == 0, (
        "and every training context all but one"
    )
    assert metrics["position0_norm_over_kept"] > 5, "the first position carries a huge-norm outlier"
    assert 0 <= metrics["outlier_token_share"] <= metrics["outlier_variance_share"] <= 1, (
        "outliers are the largest norms: their share of the squared norm is at least their share of tokens"
    )
    assert (
        0 <= metrics["max_never_fire_percent"] <= 100 and 0 <= metrics["max_dead_in_training_percent"] <= 100
    )
    assert 0 <= metrics["fit_constant_share_of_widest_fvu"] < 1, (
        "the fit's constant lies in [0, the smallest FVU)"
    )
    assert 0 <= metrics["share_k_falls_with_width"] <= 1 and 0 <= metrics["share_widths_falls_with_k"] <= 1
