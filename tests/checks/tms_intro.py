"""What `tms_intro` must show at `smoke` (EXPERIMENTS.md: five features in two dimensions)."""

from helpers.book.results import verdict
from helpers.profiles import load
from tests.toys.sweep_invariants import assert_whole_seeds_missed


def check(results: dict) -> None:
    metrics = results["metrics"]
    holds = {row["id"]: row["holds"] for row in results["claims"]}
    section = load(results["profile"]).tms_intro
    assert_whole_seeds_missed(
        metrics["single_seed_miss_rate"], metrics["instances"], section.n_probabilities, "miss rate"
    )
    # dense features of decreasing importance: the optimum is PCA, the top two features, orthogonal
    assert metrics["dense_represented"] == 2 and metrics["dense_top2_abs_cos"] < 0.1
    assert holds["monotone"] == verdict(metrics["count_drops"] == 0, metrics["count_drops"] == 1)
    pentagon = metrics["sparse_represented"] == 5 and metrics["sparse_max_gap_error_deg"] < 10
    assert holds["sparse_superposition"] == verdict(pentagon, metrics["sparse_represented"] > 2)
