"""What `lm_activations` must show at `smoke` (Part III): working stores, measured consistently."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    kept_per_context = metrics["context_length"] - metrics["keep_from"]
    assert metrics["analysis_tokens"] > 0 and metrics["analysis_tokens"] % kept_per_context == 0, (
        "every analysis context contributes each of its kept positions once"
    )
    assert metrics["train_tokens"] % (metrics["context_length"] - 1) == 0, (
        "and every training context all but one"
    )
    assert metrics["position0_norm_over_kept"] > 5, "the first position carries a huge-norm outlier"
    assert metrics["largest_later_norm_over_median"] >= 1, "the largest norm is at least the median"
    assert 0 <= metrics["outlier_token_share"] <= metrics["outlier_variance_share"] <= 1, (
        "outliers are the largest norms: their share of the squared norm is at least their share of tokens"
    )
    assert [c["id"] for c in results["claims"]] == ["first_token_massive"]
