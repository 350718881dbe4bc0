"""What `predicting_error` must show at `smoke` (EXPERIMENTS.md Part IV, dark matter §4 and App. A)."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    verdicts = {row["id"]: row["holds"] for row in results["claims"]}
    assert metrics["norm_probe_r2_max"] <= 1 and metrics["vector_probe_r2_max"] <= 1, "R² cannot exceed 1"
    assert metrics["max_nonlinear_minus_sae_fvu"] <= 0, "the linear prediction never hurts"
    assert metrics["norm_probe_r2_min"] > 0.5, "the error norm is linearly predictable even at smoke scale"
    assert 0 < metrics["vector_probe_r2_min"], "part of every SAE's error vector is linearly predictable"
    assert metrics["pairwise_r2_min"] > 0.3, "per-token error norms carry over from small to large SAEs"
    assert metrics["max_mean_abs_linear_cosine"] < 0.9, "the vector probe is more than a rescaling of x"
    assert metrics["train_tokens"] > metrics["d_model"], "more training tokens than regressors"
    assert verdicts["norm_probe_high"] in ("yes", "partly")
