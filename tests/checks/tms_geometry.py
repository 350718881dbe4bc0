"""What `tms_geometry` must show at `smoke` (EXPERIMENTS.md: fractional dimensionality and polytopes)."""

from helpers.book.results import verdict


def check(results: dict) -> None:
    metrics = results["metrics"]
    holds = {row["id"]: row["holds"] for row in results["claims"]}
    # dense features of equal importance: PCA, m features with a dimension each
    assert abs(metrics["densest_dims_per_feature"] - 1) < 0.05, "dense: one dimension per feature"
    assert metrics["densest_dims_per_feature"] > metrics["sparsest_dims_per_feature"]
    assert metrics["checked_features"] > 0
    plateau = metrics["plateau_length"]
    assert holds["half_plateau"] == verdict(plateau >= 2, plateau == 1)
    assert holds["sticky_fractions"] == verdict(
        metrics["sticky_share"] >= 0.6, metrics["sticky_share"] >= 0.4
    )
    share = metrics["polytope_feature_share"]
    assert holds["uniform_polytopes"] == verdict(
        share >= 0.6 and metrics["distinct_polytopes"] >= 2, share >= 0.3
    )
