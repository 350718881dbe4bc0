"""What `pathological_errors` must show at `smoke` (Part V): every SAE and part was spliced with its
random twin on held-out contexts, KL divergences are non-negative, and every interval holds its
estimate."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    for claim in results["claims"]:
        if claim["interval"] is not None:
            low, high = claim["interval"]
            assert low <= claim["estimate"] <= high, f"{claim['id']}: an interval holds its point estimate"
    assert 0 < metrics["ce_contexts"] <= metrics["test_contexts"], "the spliced contexts are test contexts"
    assert metrics["spliced_sites"] >= 2, "the splices cover the main site and at least one depth layer"
    assert metrics["spliced_saes"] > metrics["spliced_sites"], "several widths at the main site"
    assert metrics["min_divergence"] > -1e-3, "a KL divergence is not negative (beyond float error)"
    for part in ("SaeError", "LinearError", "NonlinearError"):
        assert metrics[f"{part}_min_ratio"] <= metrics[f"{part}_median_ratio"], (
            "the smallest is below the median"
        )
        assert metrics[f"{part}_min_ratio"] > 0, "every ratio of two KL divergences was measured"
    ids = {claim["id"] for claim in results["claims"]}
    assert ids == {
        "sae_error_pathological",
        "linear_error_pathological",
        "nonlinear_error_pathological",
        "nonlinear_more_pathological",
    }
