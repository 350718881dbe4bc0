"""What `error_components` must show at `smoke` (Part IV, dark matter §6): the six-component norm test
agrees with `predicting_error`'s probe, splicing the error's parts back in on held-out contexts
behaves, and the controls ran."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    assert metrics["max_norm_test_vs_probe_gap"] < 1e-4, "the SaeError column is Eq. 2's norm probe"
    assert metrics["x_norm_r2"] <= 1 and metrics["nonlinear_norm_r2_median"] <= 1, "R² cannot exceed 1"
    assert metrics["ce_above_sae_worst"] <= 0.02, "adding an error part back never costs loss (within noise)"
    assert metrics["ce_below_clean_worst"] <= 0.02, "nor does it beat the clean model (within noise)"
    assert metrics["ce_min_gap"] > 0, "every SAE spliced in costs some loss over the clean model"
    assert 0 < metrics["ce_contexts"] <= metrics["test_contexts"], "the spliced contexts are test contexts"
    assert metrics["ce_median_miss"] <= metrics["ce_max_miss"]
    assert metrics["base_linear_fvu"] > 0 and metrics["base_nonlinear_fvu"] > 0
    for component in ("LinearError", "NonlinearError"):
        assert 0 < metrics[f"{component}_sae_fvu"] < 1, "a component SAE explains part of its component"
        assert 0 <= metrics[f"{component}_detection"] <= 1, "a balanced accuracy"
    runs = metrics["component_runs"]
    assert runs == 2 * metrics["component_sae_seeds"], "every seed trained an SAE on each component"
    assert 0 <= metrics["component_runs_plateaued"] <= runs
    assert metrics["component_tokens_max"] <= 1.25 * metrics["component_sae_samples"] + 512, (
        "no run goes past its cap and the decay after it"
    )
    assert metrics["held_out_contexts"] > 0, "the plateau is read on held-out contexts"
    assert metrics["detection_gap_min"] <= metrics["detection_gap"], (
        "the smallest decile gap is below the mean"
    )
    assert 1 <= metrics["detection_gap_worst_decile"] <= 10
    assert 0 <= metrics["eq10_positive_share"] <= 1 and metrics["eq10_pairs"] > 0
    assert abs(metrics["eq10_control_decrease_median"]) < 1, "the control regressor's gain was measured"
    ids = {claim["id"] for claim in results["claims"]}
    assert {"eq10_helps", "eq10_helps_no_norm_filter", "sae_error_costlier_than_random"} <= ids
