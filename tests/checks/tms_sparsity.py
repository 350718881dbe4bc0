"""What `tms_sparsity` must show at `smoke` (EXPERIMENTS.md: superposition as sparsity grows)."""

from helpers.book.results import verdict
from helpers.profiles import load
from tests.toys.sweep_invariants import assert_whole_seeds_missed


def check(results: dict) -> None:
    metrics = results["metrics"]
    holds = {row["id"]: row["holds"] for row in results["claims"]}
    section = load(results["profile"]).tms_sparsity
    m, n_settings = section.n_hidden, len(section.sparsities)
    linear = [metrics[f"linear_represented_{i}"] for i in range(n_settings)]
    relu = [metrics[f"relu_represented_{i}"] for i in range(n_settings)]
    # a linear model's optimum is PCA at every sparsity: the top m features, orthogonal
    assert linear == [m] * n_settings, f"linear: exactly m features at every sparsity, got {linear}"
    assert metrics["linear_superposition_max"] < 0.05
    # dense features cannot share a direction without paying for it every time, ReLU or not
    assert relu[0] == m, f"ReLU, dense: only m features, got {relu[0]}"
    drops = sum(later < earlier for earlier, later in zip(relu, relu[1:], strict=False))
    assert metrics["relu_count_drops"] == drops, f"the drops are those of the counts {relu}"
    assert (metrics["relu_represented_dense"], metrics["relu_represented_sparse"]) == (relu[0], relu[-1])
    for activation in ("linear", "relu"):
        rate = metrics[f"{activation}_single_seed_miss_rate"]
        assert_whole_seeds_missed(rate, metrics["instances_per_model"], n_settings, activation)
    sparse = metrics["relu_represented_sparse"]
    assert holds["relu_superposition"] == verdict(relu[0] == m and sparse > m and drops <= 1, sparse > m)
