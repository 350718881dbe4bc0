"""What `absorption_and_dark_matter` must show at `smoke` (Part V): a letter probe that reads
letters better than the most common letter alone, every main-site SAE scored, rates and shares
that are shares, and correlations that are correlations."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    assert metrics["lettered_test_tokens"] > 0
    assert metrics["probe_accuracy"] > metrics["majority_share"], "the probe reads the letter"
    assert metrics["saes"] >= 3, "the main site's SAEs, more than a line's ends"
    assert 0 <= metrics["min_absorption_rate"] <= metrics["max_absorption_rate"] <= 1
    assert 0 <= metrics["min_multi_peak"] <= metrics["max_multi_peak"] <= 1
    for name in ("absorption_vs_nonlinear", "peaks_vs_nonlinear"):
        assert -1 <= metrics[f"{name}_low"] <= metrics[name] <= metrics[f"{name}_high"] <= 1
    for name in ("nonlinear_ratio", "linear_ratio"):
        assert metrics[name] > 0, f"{name}: squared norms over squared norms"
    ids = {claim["id"] for claim in results["claims"]}
    assert ids == {
        "absorption_tracks_nonlinear_error",
        "multi_peak_tracks_nonlinear_error",
        "absorbed_tokens_carry_more_nonlinear_error",
    }
