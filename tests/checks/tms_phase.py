"""What `tms_phase` must show at `smoke` (EXPERIMENTS.md: the phase change, n=2, m=1)."""

from helpers.book.results import verdict
from tests.toys.sweep_invariants import assert_whole_seeds_missed


def check(results: dict) -> None:
    metrics = results["metrics"]
    holds = {row["id"]: row["holds"] for row in results["claims"]}
    cells, instances = metrics["cells"], metrics["instances"]
    # the trained models against the independent analytic solution
    assert metrics["agreement_pct"] >= 80, (
        "trained and analytic phase diagrams agree on at least 80% of cells"
    )
    assert 0 <= metrics["median_excess_loss_pct"] < 5, "the median kept model is within 5% of the optimum"
    in_between, analytic_in_between = metrics["in_between_norm_pct"], metrics["analytic_in_between_norm_pct"]
    assert abs(in_between - analytic_in_between) <= 10, "as many intermediate norms as the analytic optimum"
    assert metrics["antipodal_pct"] == 100, "two features in superposition on one line point opposite ways"
    # seeds: a cell with a missing seed has between one and all of its non-kept seeds missing
    assert_whole_seeds_missed(metrics["single_seed_miss_rate"], instances, cells, "miss rate")
    missed = round(metrics["single_seed_miss_rate"] * instances / 100)
    cells_missing = round(metrics["cells_with_a_missing_seed_pct"] * cells / 100)
    assert cells_missing <= missed <= cells_missing * (instances // cells - 1)
    found = metrics["regimes_found"]
    assert holds["regimes"] == verdict(found == 3, found == 2)
    assert holds["sharp"] == verdict(in_between <= 5, in_between <= 15)
    assert holds["theory_matches"] == verdict(metrics["agreement_pct"] >= 90, metrics["agreement_pct"] >= 75)
