"""What `reducing_nonlinear_error` must show at `smoke` (EXPERIMENTS.md Part IV, dark matter §7)."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    verdicts = {row["id"]: row["holds"] for row in results["claims"]}
    assert metrics["max_pursuit_minus_sae_fvu"] < 0, "pursuit at the SAE's L0 beats its encoder, every width"
    assert metrics["max_nonlinear_minus_fvu"] <= 0, "the linear prediction never hurts, SAE or pursuit"
    assert metrics["pursuit_l0_excess_max"] == 0, "pursuit never uses more atoms than the SAE did"
    assert metrics["pursuit_mean_l0"] > 0.9 * metrics["sae_mean_l0"], "and almost always as many"
    assert metrics["r2_max"] <= 1, "R² cannot exceed 1"
    assert metrics["earlier_sae_error_r2_max"] < 0.5, "earlier components explain a minority of the error"
    assert verdicts["pursuit_lowers_fvu"] == "yes"
    assert verdicts["own_reconstruction_explains_nonlinear"] == "yes", "NonlinearError is a function of x"
