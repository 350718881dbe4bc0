"""What `controls` must show at `smoke` (Part IV's controls): all three sources ran on the same test
contexts, their statistics are consistent, and every claim row compares the trained model with a
control on an interval that holds its estimate (never the verdicts themselves)."""

import math

SOURCES = ("trained", "random", "gaussian")
STATISTICS = (
    "fvu_mean",
    "nonlinear_fvu_mean",
    "norm_r2_min",
    "vector_r2_mean",
    "slope_ratio",
    "error_norm_transfer",
    "table1_diagonal_min",
    "table1_off_diagonal_max",
)
CLAIMED = {  # statistic: claim id stem
    "norm_r2_min": "norm_probe",
    "vector_r2_mean": "vector_probe",
    "nonlinear_fvu_mean": "nonlinear_fvu",
    "slope_ratio": "width_trend",
    "error_norm_transfer": "error_norm_transfer",
    "table1_diagonal_min": "table1_diagonal",
}
SUFFIXES = {"random": "random_model", "gaussian": "gaussian_twin"}


def check(results: dict) -> None:
    metrics = results["metrics"]
    assert metrics["line_saes"] >= 2 and metrics["widest_width"] > metrics["narrowest_width"]
    assert metrics["gaussian_analysis_tokens"] == metrics["trained_analysis_tokens"], (
        "twins sit at the same rows"
    )
    for source in SOURCES:
        assert 0 < metrics[f"{source}_test_tokens"] < metrics[f"{source}_analysis_tokens"]
        assert 0 <= metrics[f"{source}_nonlinear_fvu_mean"] <= metrics[f"{source}_fvu_mean"], (
            "the linear prediction never raises the FVU"
        )
        for name in ("norm_r2_min", "vector_r2_mean", "error_norm_transfer"):
            assert metrics[f"{source}_{name}"] <= 1, "R² cannot exceed 1"
        assert -1 <= metrics[f"{source}_table1_diagonal_min"] <= 1, "a correlation"
        assert 0 <= metrics[f"{source}_table1_off_diagonal_max"] <= 1, "a correlation's size"
        for name in STATISTICS:
            low, value, high = (metrics[f"{source}_{name}{end}"] for end in ("_low", "", "_high"))
            assert low <= value <= high, f"{source} {name}: the interval holds its estimate"
    for source in ("random", "gaussian"):
        for name in CLAIMED:
            compared = metrics[f"trained_vs_{source}_{name}"]
            trained, other = metrics[f"trained_{name}"], metrics[f"{source}_{name}"]
            if name.startswith(("fvu", "nonlinear_fvu")):
                assert math.isclose(compared, trained / other, rel_tol=1e-6), "FVUs compare as a ratio"
            else:
                assert math.isclose(compared, trained - other, rel_tol=1e-6, abs_tol=1e-9)
    claims = {row["id"]: row for row in results["claims"]}
    expected = {f"{stem}_differs_from_{SUFFIXES[s]}" for stem in CLAIMED.values() for s in SUFFIXES}
    assert set(claims) == expected, "one row per headline and control"
    for source, suffix in SUFFIXES.items():
        for name, stem in CLAIMED.items():
            row = claims[f"{stem}_differs_from_{suffix}"]
            assert row["holds"] in ("yes", "partly", "no") and "wholly outside" in row["criterion"]
            low, high = row["interval"]
            assert low <= row["estimate"] <= high
            assert row["estimate"] == metrics[f"trained_vs_{source}_{name}"]
            assert row["control"] == metrics[f"{source}_{name}"], "the control's value sits beside ours"
