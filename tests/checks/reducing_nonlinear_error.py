"""What `reducing_nonlinear_error` must show at `smoke` (Part IV, dark matter §7): pursuit spends the
SAE's own L0, and the regressions are scored consistently."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    assert metrics["pursuit_train_tokens"] + metrics["pursuit_test_tokens"] == metrics["pursuit_tokens"]
    assert metrics["pursuit_train_tokens_per_regressor"] >= metrics["min_tokens_per_coefficient"]
    assert metrics["pursuit_l0_excess_max"] == 0, "pursuit never uses more atoms than the SAE did"
    assert metrics["pursuit_mean_l0"] > 0.9 * metrics["sae_mean_l0"], "and almost always as many"
    assert 0 < metrics["pursuit_l0_equal_share"] <= 1
    assert metrics["max_nonlinear_minus_fvu"] <= 0, "the linear prediction never hurts, SAE or pursuit"
    assert metrics["r2_max"] <= 1, "R² cannot exceed 1"
    assert (
        metrics["own_sae_error_r2"] <= metrics["r2_max"]
        and metrics["earlier_sae_error_r2_max"] <= metrics["r2_max"]
    )
