"""What `modeling_activations` must show at `smoke` (Part IV, dark matter §5 and Apps. B-C): least
squares against App. B.1's closed forms, synthetic activations built as specified, and claim rows
decided on intervals that hold their estimates (never the verdicts themselves)."""

import math

CLAIMS = (
    "poisson_formula",
    *(
        claim + suffix
        for suffix in ("", "_no_norm_filter")
        for claim in (
            "probe_along_decoder",
            "table1_diagonal",
            "masked_latents_linear",
            "masked_latents_linear_noised",
            "random_vectors_parabola",
        )
    ),
)


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
    assert metrics["b2_probe_r2"] <= 1 and metrics["b2_summed_probe_r2"] <= 1
    assert 0 < metrics["b2_own_square_share"]
    assert abs(metrics["random_measured_l0"] / metrics["random_l0"] - 1) < 0.1, (
        "App. C's sampler fires the mean number of vectors it was set to"
    )
    assert metrics["fvu_reconstruction_rise_no_noise"] > 0, "masking latents raises the reconstruction's FVU"
    assert metrics["drift_no_noise"] >= 0 and metrics["random_drift"] >= 0
    assert metrics["drift_max_over_grid"] >= metrics["drift_no_noise"], "the grid's maximum includes no noise"
    assert metrics["drift_max_over_grid_paper_range"] >= metrics["drift_no_noise_paper_range"] >= 0
    assert metrics["paper_mask_percent"] <= metrics["max_mask_percent"]
    # the check of the method for App. C: both ends of the full curve are 0 whatever the vectors
    assert (
        metrics["random_fvu_nonlinear_none_masked"] < 1e-6
        and metrics["random_fvu_nonlinear_all_masked"] < 1e-6
    )
    for name in ("corr_input_noise_dense", "corr_reconstruction_noise_introduced", "table1_diagonal_min"):
        assert -1 <= metrics[name] <= 1
    assert metrics["table1_diagonal_min"] == min(
        metrics["corr_input_noise_dense"], metrics["corr_reconstruction_noise_introduced"]
    )
    assert metrics["table1_off_diagonal_max"] == max(
        abs(metrics["corr_input_noise_introduced"]), abs(metrics["corr_reconstruction_noise_dense"])
    )
    assert metrics["synthetic_train_tokens"] < metrics["synthetic_tokens"] <= metrics["unfiltered_tokens"]
    assert metrics["unfiltered_tokens"] - metrics["synthetic_tokens"] == metrics["filtered_tokens"], (
        "the paper's choice is our tokens plus the filtered ones"
    )
    assert 0 <= metrics["filtered_share_of_squared_norm"] <= 1
    for name in (
        "poisson_max_r2_gap",
        "b2_correlation",
        "b2_median_ratio",
        "table1_diagonal_min",
        "table1_off_diagonal_max",
        "drift_no_noise_paper_range",
        "drift_max_over_grid_paper_range",
        "random_arch",
        "departure_ratio",
    ):
        low, value, high = metrics[f"{name}_low"], metrics[name], metrics[f"{name}_high"]
        assert low <= value <= high, f"{name}'s interval holds its estimate"

    claims = {row["id"]: row for row in results["claims"]}
    assert set(claims) == set(CLAIMS), "every claim of the section, under both data choices"
    for claim_id, row in claims.items():
        assert row["holds"] in ("yes", "partly", "no")
        assert "95% interval" in row["criterion"], f"{claim_id}: the rule says how the interval decides"
        assert math.isfinite(row["estimate"]), f"{claim_id}: a measured estimate"
    assert claims["poisson_formula"]["estimate"] == metrics["poisson_max_r2_gap"]
    assert claims["probe_along_decoder"]["estimate"] == metrics["b2_median_ratio"]
    assert claims["table1_diagonal"]["estimate"] == metrics["table1_diagonal_min"]
    assert claims["masked_latents_linear"]["estimate"] == metrics["drift_no_noise_paper_range"]
    assert claims["masked_latents_linear_noised"]["estimate"] == metrics["drift_max_over_grid_paper_range"]
    assert claims["random_vectors_parabola"]["estimate"] == metrics["departure_ratio"]
    if metrics["filtered_tokens"] == 0:  # nothing filtered: both choices read the same tokens
        for claim in CLAIMS[1:6]:
            assert claims[claim]["interval"] == claims[claim + "_no_norm_filter"]["interval"]
