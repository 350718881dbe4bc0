"""What `pathological_errors` must show at `smoke` (Part V): every SAE and part was spliced with its
two twins on held-out contexts, and KL divergences are non-negative."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    assert 0 < metrics["ce_contexts"] <= metrics["test_contexts"], "the spliced contexts are test contexts"
    assert metrics["spliced_sites"] >= 2, "the splices cover the main site and at least one depth layer"
    assert metrics["spliced_saes"] > metrics["spliced_sites"], "several widths at the main site"
    assert metrics["min_divergence"] > -1e-3, "a KL divergence is not negative (beyond float error)"
    for part in ("SaeError", "LinearError", "NonlinearError"):
        for twin in ("random", "difference"):
            smallest, median, largest = (
                metrics[f"{part}_{twin}_{s}_ratio"] for s in ("min", "median", "max")
            )
            assert 0 < smallest <= median <= largest, f"{part}, {twin} twin: every ratio measured, in order"
    ids = {claim["id"] for claim in results["claims"]}
    assert ids == {
        "sae_error_pathological",
        "not_pathological_against_activation_differences",
        "linear_error_pathological",
        "nonlinear_error_pathological",
        "nonlinear_more_pathological",
    }
