"""What `reducing_nonlinear_error` must show at `smoke` (Part IV, dark matter §7): pursuit spends the
SAE's own L0, the regressions are scored consistently, and every claim row is decided on an interval
that holds its estimate, for both data choices."""

import math

CHOICES = ("", "_no_norm_filter")
HEADLINE_CLAIMS = {  # claim id: the metric that is its deciding estimate
    "pursuit_lowers_fvu": "fvu_drop_min",
    "pursuit_keeps_nonlinear_fvu": "nonlinear_change_max_abs",
    "pursuit_slightly_lowers_nonlinear_fvu": "nonlinear_change_mean",
    "earlier_components_explain_little": "earlier_sae_error_r2_max",
    "adjacent_beats_pursuit": "earlier_minus_pursuit",
}


def check(results: dict) -> None:
    metrics = results["metrics"]
    assert metrics["pursuit_train_tokens"] + metrics["pursuit_test_tokens"] == metrics["pursuit_tokens"]
    assert metrics["pursuit_train_tokens_per_regressor"] >= metrics["min_tokens_per_coefficient"]
    assert metrics["pursuit_train_tokens"] <= metrics["train_tokens"], "pursuit's tokens are analysis tokens"
    assert metrics["pursuit_test_tokens"] <= metrics["test_tokens"]
    assert 2 <= metrics["pursuit_test_contexts"] <= metrics["test_contexts"], "on the split's test contexts"
    assert metrics["pursuit_l0_excess_max"] == 0, "pursuit never uses more atoms than the SAE did"
    assert metrics["pursuit_mean_l0"] > 0.9 * metrics["sae_mean_l0"], "and almost always as many"
    assert 0 < metrics["pursuit_l0_equal_share"] <= 1
    assert metrics["max_nonlinear_minus_fvu"] <= 0, "the linear prediction never hurts, SAE or pursuit"
    assert metrics["r2_max"] <= 1, "R² cannot exceed 1"
    assert max(metrics["own_sae_error_r2"], metrics["own_nonlinear_r2"]) <= metrics["r2_max"]
    assert 0 <= metrics["removed_token_share"] < 1
    for suffix in CHOICES:
        assert metrics["fvu_drop_min" + suffix] < 1, "pursuit leaves some error"
        for name in ("earlier_sae_error_r2_max", "earlier_nonlinear_r2_max"):
            assert metrics[name + suffix] <= 1, "R² cannot exceed 1"
        assert metrics["earlier_nonlinear_removed_max" + suffix] <= 1, (
            "a share removed cannot exceed the whole"
        )
        assert abs(metrics["nonlinear_change_mean" + suffix]) <= metrics["nonlinear_change_max_abs" + suffix]
        assert math.isclose(
            metrics["earlier_minus_pursuit" + suffix],
            metrics["earlier_nonlinear_removed_max" + suffix] - metrics["pursuit_nonlinear_removed" + suffix],
            abs_tol=1e-12,
        ), "the difference of the two shares, as measured (no fold at 0)"
    if metrics["removed_tokens"] == 0:  # nothing filtered: the two choices are the same analysis
        for claim_id, name in HEADLINE_CLAIMS.items():
            assert math.isclose(metrics[name], metrics[name + "_no_norm_filter"], rel_tol=1e-6), claim_id
    claims = {row["id"]: row for row in results["claims"]}
    assert set(claims) == {claim_id + suffix for claim_id in HEADLINE_CLAIMS for suffix in CHOICES}
    for claim_id, name in HEADLINE_CLAIMS.items():
        for suffix in CHOICES:
            row = claims[claim_id + suffix]
            low, high = row["interval"]
            assert row["estimate"] == metrics[name + suffix], f"{row['id']}: decided on {name}{suffix}"
            assert metrics[name + suffix + "_low"] == low and metrics[name + suffix + "_high"] == high
