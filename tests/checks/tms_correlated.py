"""What `tms_correlated` must show at `smoke` (EXPERIMENTS.md: correlated and anticorrelated features)."""

import math

from helpers.book.results import verdict
from helpers.profiles import load
from tests.toys.sweep_invariants import assert_whole_seeds_missed


def check(results: dict) -> None:
    metrics = results["metrics"]
    holds = {row["id"]: row["holds"] for row in results["claims"]}
    profile = load(results["profile"])
    settings = len(profile.tms_correlated.probabilities)
    instances = settings * profile.toy.seeds_per_setting
    for kind in ("correlated", "anticorrelated"):
        assert_whole_seeds_missed(metrics[f"{kind}_seed_miss_rate"], instances, settings, kind)
    # a collapsed pair is read back from its sum: least squares gives each feature length 1/√2
    if metrics["most_pairs_collapsed_share"] > 0:
        assert abs(metrics["collapsed_mean_norm"] - 1 / math.sqrt(2)) < 0.1
    for claim_id, share in (
        ("correlated_orthogonal", metrics["correlated_orthogonal_share"]),
        ("anticorrelated_antipodal", metrics["anticorrelated_antipodal_share"]),
    ):
        assert 0 <= share <= 1
        assert holds[claim_id] == verdict(share == 1, share > 0), "decided over every trained probability"
    assert metrics["probabilities_trained"] == settings
    few, most = metrics["few_pairs_collapsed_share"], metrics["most_pairs_collapsed_share"]
    assert holds["pca_collapse"] == verdict(most >= 0.75 and few == 0, most > few)
