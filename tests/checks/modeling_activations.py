"""What `modeling_activations` must show at `smoke` (Part IV, dark matter §5 and Apps. B-C): least
squares against App. B.1's closed forms, and synthetic activations built as specified."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    assert metrics["bernoulli_probe_r2"] > 0.9999, "‖x‖² is exactly linear in x here: least squares finds it"
    assert metrics["bernoulli_max_weight_error"] < 1e-3, "and its weight along each feature is s_i"
    assert metrics["poisson_max_r2_gap"] < 0.03, "Poisson: the measured R² follows the closed form"
    assert metrics["poisson_max_relative_weight_gap"] < 0.05, "and the weights 2λ + 1"
    assert 0 < metrics["sae_fvu_on_clean"] < metrics["sae_fvu_on_x"] < 1, (
        "Sae(x) is easier for the SAE than x"
    )
    assert metrics["clean_l0"] <= metrics["sae_sparsity"], "a TopK SAE fires at most k latents"
    assert 0 < metrics["b2_latents_fired"] <= metrics["sae_width"]
    assert abs(metrics["random_measured_l0"] / metrics["random_l0"] - 1) < 0.1, (
        "App. C's sampler fires the mean number of vectors it was set to"
    )
    assert metrics["fvu_reconstruction_rise_no_noise"] > 0, "masking latents raises the reconstruction's FVU"
    assert metrics["drift_no_noise"] >= 0 and metrics["random_drift"] >= 0
