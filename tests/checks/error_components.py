"""What `error_components` must show at `smoke` (EXPERIMENTS.md Part IV, dark matter §6)."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    assert metrics["x_norm_r2"] > 0.8, "‖x‖² is linearly predictable from x even at smoke scale"
    assert metrics["x_norm_r2"] > metrics["nonlinear_norm_r2_median"], (
        "x is near the top, above NonlinearError"
    )
    assert metrics["max_norm_test_vs_probe_gap"] < 1e-4, "the SaeError column is Eq. 2's norm probe"
    assert metrics["ce_above_sae_worst"] <= 0.02, "adding an error part back never costs loss (within noise)"
    assert metrics["ce_below_clean_worst"] <= 0.02, "nor does it beat the clean model (within noise)"
    assert metrics["ce_min_gap"] > 0, "every SAE spliced in costs some loss over the clean model"
    for component in ("LinearError", "NonlinearError"):
        assert 0 < metrics[f"{component}_sae_fvu"] < 1, "a component SAE explains part of its component"
