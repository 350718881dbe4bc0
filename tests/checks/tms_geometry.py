"""What `tms_geometry` must show at `smoke` (EXPERIMENTS.md: fractional dimensionality and polytopes)."""

from helpers.book.intervals import Band


def check(results: dict) -> None:
    metrics = results["metrics"]
    holds = {row["id"]: row["holds"] for row in results["claims"]}
    # dense features of equal importance: PCA, m features with a dimension each
    assert abs(metrics["densest_dims_per_feature"] - 1) < 0.05, "dense: one dimension per feature"
    assert metrics["densest_dims_per_feature"] > metrics["sparsest_dims_per_feature"]
    assert metrics["checked_features"] > 0
    plateau = metrics["plateau_length"]
    assert metrics["plateau_length_low"] <= plateau <= metrics["plateau_length_high"]
    assert holds["half_plateau"] == Band(low=2).verdict(
        (metrics["plateau_length_low"], metrics["plateau_length_high"])
    ), "decided on the plateau length's interval over seeds"
    if "plateau_level" in metrics:
        level = metrics["plateau_level"]
        assert metrics["plateau_level_low"] <= level <= metrics["plateau_level_high"]
        assert abs(level - 0.5) <= metrics["plateau_tolerance"], "the plateau is within the tolerance of 1/2"
    assert 0 < metrics["sticky_chance_share"] <= 1 and 0 <= metrics["sticky_share_all_seeds"] <= 1
    assert metrics["dimensionality_low"] < metrics["dimensionality_high"] <= 1
    assert (
        abs(metrics["sticky_excess"] - (metrics["sticky_share_all_seeds"] - metrics["sticky_chance_share"]))
        < 1e-12
    )
    assert metrics["sticky_excess_low"] <= metrics["sticky_excess"] <= metrics["sticky_excess_high"]
    assert holds["sticky_fractions"] == Band(low=0.0).verdict(
        (metrics["sticky_excess_low"], metrics["sticky_excess_high"])
    ), "decided on the excess over chance"
    grouped = sum(metrics[f"features_in_{kind}"] for kind in ("trivial_groups", "polytopes", "other_groups"))
    assert grouped > 0, "every represented feature of the checked models is in some group"
    if "nontrivial_polytope_share" in metrics:
        assert (
            metrics["nontrivial_polytope_share_low"]
            <= metrics["nontrivial_polytope_share"]
            <= metrics["nontrivial_polytope_share_high"]
        )
        expected = metrics["features_in_polytopes"] / (
            metrics["features_in_polytopes"] + metrics["features_in_other_groups"]
        )
        assert abs(metrics["nontrivial_polytope_share"] - expected) < 1e-12, (
            "pairs and dedicated dims left out"
        )
    else:
        assert holds["uniform_polytopes"] == "no", "no shared group beyond a pair: none found"
