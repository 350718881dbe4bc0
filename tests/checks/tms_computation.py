"""What `tms_computation` must show at `smoke` (EXPERIMENTS.md: computation in superposition)."""

from helpers.book.results import verdict
from tests.toys.sweep_invariants import assert_whole_seeds_missed


def check(results: dict) -> None:
    metrics = results["metrics"]
    holds = {row["id"]: row["holds"] for row in results["claims"]}
    neurons = metrics["n_neurons"]
    # dense inputs: |x| = ReLU(x) + ReLU(-x) takes a neuron per half, and no neuron can share
    assert metrics["abs_halves_dense"] <= neurons, "dense: at most one computed half per neuron"
    assert metrics["abs_computed_dense"] <= neurons // 2, "dense: two neurons per computed feature"
    assert metrics["abs_polysemantic_dense"] == 0, "dense: every neuron reads one feature"
    assert_whole_seeds_missed(
        metrics["single_seed_miss_rate"], metrics["instances"], metrics["n_settings"], "miss rate"
    )
    computed, halves = metrics["abs_computed_max"], metrics["abs_halves_max"]
    assert holds["computes_more_than_neurons"] == verdict(computed > neurons, halves > neurons)
    dense, sparse = metrics["abs_polysemantic_dense"], metrics["abs_polysemantic_sparse"]
    drops = metrics["abs_polysemantic_drops"]
    assert holds["neurons_become_polysemantic"] == verdict(sparse > dense and drops <= 1, sparse > dense)
