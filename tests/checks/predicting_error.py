"""What `predicting_error` must show at `smoke` (Part IV, dark matter §4 and App. A): the probes and
their scores are computed consistently."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    n_contexts = metrics["train_contexts"] + metrics["test_contexts"]
    assert metrics["train_contexts"] == round(metrics["train_fraction"] * n_contexts), (
        "the split's training share of the contexts"
    )
    assert metrics["norm_probe_r2_min"] <= metrics["norm_probe_r2_max"] <= 1, "R² cannot exceed 1"
    assert 0 < metrics["vector_probe_r2_min"] <= metrics["vector_probe_r2_max"] <= 1, (
        "on held-out tokens the vector probe still explains part of every SAE's error"
    )
    assert metrics["max_nonlinear_minus_sae_fvu"] <= 0, "adding the linear prediction never hurts"
    assert metrics["pairwise_r2_min"] <= metrics["pairwise_r2_median"] <= 1
    assert metrics["max_mean_abs_linear_cosine"] <= 1, "a mean of cosines"
    assert metrics["best_baseline_r2"] <= 1 and metrics["reference_fit_c"] >= 0
    for name in ("norm_r2_spearman_width", "norm_r2_spearman_l0", "vector_r2_spearman_width"):
        assert -1 <= metrics[name] <= 1, "a rank correlation"
    assert metrics["depth_layer_count"] == 2, "smoke's two depth layers (5 and 25) enter App. A.3's sweep"
    assert metrics["first_counted_layer"] == -(-metrics["n_layers"] // 4), "the first quarter, rounded up"
    assert metrics["probe_minus_best_baseline_min_all_sites"] <= metrics["probe_minus_best_baseline_min"], (
        "a minimum over every site is at most the minimum over the sites past the first quarter"
    )
    assert metrics["reference_seeds"] == 2, "smoke trains the reference line twice"
