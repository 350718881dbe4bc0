"""What `ground_truth_dark_matter` must show at `smoke` (Part V): a set per dictionary, planted kind
and share plus one with nothing planted, each share planted as asked, and the identities of the
method: a TopK dictionary's frequencies sum to k, and with nothing planted the nonlinear error is
all the SAE's own."""

from helpers import profiles

PLANTED_KINDS = 3
DICTIONARIES = 2


def check(results: dict) -> None:
    metrics = results["metrics"]
    settings = profiles.load(results["profile"]).ground_truth_dark_matter
    assert metrics["planted_sets"] == DICTIONARIES * (1 + PLANTED_KINDS * len(settings.shares))
    assert metrics["max_share_error"] < 0.05, "each set plants (about) the share asked for"
    assert abs(metrics["mean_l0"] - metrics["reference_k"]) < 1e-6, (
        "a TopK SAE's latents fire k times a token"
    )
    assert metrics["dictionary_features"] <= settings.dictionary_width
    assert abs(metrics["baseline_nonlinear_from_sae"] - 1) < 1e-9, "nothing planted: all the SAE's own"
    for kind in ("absent", "dense", "nonlinear_kind"):
        for key in ("linear_per_unit", "nonlinear_per_unit", "planted_linear_share"):
            assert metrics[f"{kind}_{key}_min"] <= metrics[f"{kind}_{key}_max"], f"{kind}: {key} measured"
        assert 0 <= metrics[f"{kind}_planted_linear_share_max"] <= 1 + 1e-9, "an R² of a fit on other tokens"
    ids = {claim["id"] for claim in results["claims"]}
    assert ids == {
        "absent_features_in_linear_error",
        "dense_noise_in_linear_error",
        "nonlinear_features_in_linear_error",
        "nonlinear_error_from_the_sae",
    }
