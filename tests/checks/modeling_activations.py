"""What `modeling_activations` must show at `smoke` (EXPERIMENTS.md Part IV): App. B.1's theory and the
diagonal of the synthetic Table 1."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    verdicts = {row["id"]: row["holds"] for row in results["claims"]}
    assert metrics["bernoulli_probe_r2"] > 0.9999, "Bernoulli sums of orthogonal features: a perfect probe"
    assert metrics["bernoulli_max_weight_error"] < 1e-3, "the probe's weight along each feature is s_i"
    assert metrics["poisson_max_r2_gap"] < 0.03, "Poisson: the measured R² follows the closed form"
    assert verdicts["bernoulli_probe_perfect"] == "yes"
    diagonal = (metrics["corr_input_noise_dense"], metrics["corr_reconstruction_noise_introduced"])
    off_diagonal = (metrics["corr_input_noise_introduced"], metrics["corr_reconstruction_noise_dense"])
    assert min(diagonal) > max(off_diagonal), "Table 1: each planted noise shows in its own estimate"
    assert verdicts["table1_diagonal"] in ("yes", "partly")
    assert 0 < metrics["sae_fvu_on_clean"] < metrics["sae_fvu_on_x"] < 1, (
        "Sae(x) is easier for the SAE than x"
    )
    assert metrics["b2_probe_r2"] > 0.3, "the norm of an SAE's sparse sums is linearly predictable"
    assert metrics["drift_no_noise"] < metrics["random_drift"], (
        "masked SAE latents are more linear than random"
    )
