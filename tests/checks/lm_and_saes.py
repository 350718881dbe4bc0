"""What `lm_and_saes` must show at `smoke` (Part III): a working suite, measured consistently."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    assert metrics["clean_loss"] < 5 < metrics["zero_ablation_loss"], (
        "the model predicts English; ablation hurts"
    )
    assert 0 < metrics["min_ce_recovered_percent"] <= metrics["max_ce_recovered_percent"] < 100
    for early in ("early_over_late_fvu", "early_over_late_fvu_paper_share"):
        assert 0 < metrics[f"{early}_low"] <= metrics[early] <= metrics[f"{early}_high"]
    assert 0 < metrics["paper_share_prefix"] < metrics["context_length"]
    assert metrics["reference_line_span"] >= 8, "the reference line is widened beyond the grid at smoke too"
    assert (
        0 <= metrics["max_never_fire_percent"] <= 100 and 0 <= metrics["max_dead_in_training_percent"] <= 100
    )
    assert 0 <= metrics["fit_constant_share_of_widest_fvu"] < 1, (
        "the fit's constant lies in [0, the smallest FVU)"
    )
    assert 0 <= metrics["share_k_falls_with_width"] <= 1 and 0 <= metrics["share_widths_falls_with_k"] <= 1
    assert metrics["reference_seeds"] >= 2, "the smoke profile trains the reference line more than once"
    assert 0 < metrics["max_seed_fvu_spread"] < 1, "seeds train different SAEs of similar quality"
    assert metrics["fvu_width_slope_low"] <= metrics["fvu_width_slope"] <= metrics["fvu_width_slope_high"], (
        "the width slope's interval holds its estimate"
    )
    assert metrics["analysis_contexts"] >= 2, "the interval resamples contexts"
    assert any(claim["id"] == "fvu_falls_with_width" for claim in results["claims"])
