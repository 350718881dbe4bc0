"""Dark matter §7's statistics with intervals: subsamples that keep a split's sides, resample
counts read for a subsample's test contexts, pursuit's effects per SAE, and the headline numbers."""

import numpy as np
import pytest
import torch

from helpers.book.intervals import resample_counts
from helpers.dark_matter.adjacent_saes import cross_prediction
from helpers.dark_matter.decomposition import ExplainedVariance, split_by_context, split_tokens
from helpers.dark_matter.nonlinear_reduction import (
    Across,
    context_columns,
    pursuit_effects,
    reduction_headlines,
    run_pursuit,
    source_scores,
    within,
)

CPU = torch.device("cpu")


def contexts_split(n=1200, n_contexts=20, seed=0):
    contexts = np.repeat(np.arange(n_contexts), n // n_contexts)
    return split_by_context(np.arange(n), contexts, 0.6, seed)


def test_a_subsample_keeps_each_token_on_its_side_and_in_its_context():
    split = contexts_split()
    rows = np.random.default_rng(1).choice(split.rows, 300, replace=False)
    part = within(split, rows)
    np.testing.assert_array_equal(part.rows, np.sort(rows))
    np.testing.assert_array_equal(part.is_train, split.is_train[part.rows])
    np.testing.assert_array_equal(part.contexts, split.contexts[part.rows])
    by_token = within(split_tokens(np.arange(50), 0.6, seed=0), np.arange(10))
    assert by_token.contexts is None
    with pytest.raises(ValueError, match="all of them the split's"):
        within(split_by_context(np.arange(0, 40, 2), np.arange(20) // 2, 0.5, seed=0), np.array([2, 3]))


def test_a_subsample_reads_the_resamples_of_the_whole_splits_test_contexts():
    """A subsample that misses some test contexts scores, under `counts[:, columns]`, exactly as its
    test tokens weighted by how often the whole split's resample drew each token's context."""
    split = contexts_split(seed=2)
    test_contexts = np.unique(split.contexts[~split.is_train])
    missing = test_contexts[:2]
    rows = split.rows[~np.isin(split.contexts, missing)][::3]
    part = within(split, rows)
    columns = context_columns(part, split)
    assert len(columns) == len(test_contexts) - 2
    np.testing.assert_array_equal(test_contexts[columns], np.unique(part.contexts[~part.is_train]))

    rng = np.random.default_rng(3)
    target = rng.normal(size=(len(part.test), 4))
    prediction = 0.5 * target + rng.normal(size=target.shape)
    groups, n_groups = part.test_groups()
    score = ExplainedVariance(n_groups)
    score.add(torch.from_numpy(target), torch.from_numpy(prediction), torch.from_numpy(groups))
    counts = resample_counts(len(test_contexts), resamples=5, seed=4)
    weight = counts[:, np.searchsorted(test_contexts, part.contexts[~part.is_train])]  # [resamples, tokens]
    residual = ((target - prediction) ** 2).sum(-1)
    mean = (weight @ target) / weight.sum(-1, keepdims=True)
    total = (weight[:, :, None] * (target[None] - mean[:, None]) ** 2).sum((1, 2))
    np.testing.assert_allclose(
        score.fvu_replicates(counts[:, columns]), weight @ residual / total, rtol=1e-10
    )

    other = split_by_context(split.rows, split.contexts, 0.6, seed=9)
    with pytest.raises(ValueError, match="test context of the whole split"):
        context_columns(within(other, other.test), split)
    with pytest.raises(ValueError, match="split_by_context"):
        context_columns(split_tokens(np.arange(40), 0.5, seed=0), split)


def test_the_share_removed_is_of_the_targets_squared_norm_not_its_variance():
    rng = np.random.default_rng(5)
    target = rng.normal(loc=2.0, size=(600, 3))
    prediction = target - rng.normal(scale=0.5, size=target.shape)
    groups = np.repeat(np.arange(6), 100)
    score = ExplainedVariance(6)
    score.add(torch.from_numpy(target), torch.from_numpy(prediction), torch.from_numpy(groups))
    residual = ((target - prediction) ** 2).sum()
    assert score.removed_replicates(None)[0] == pytest.approx(1 - residual / (target**2).sum(), rel=1e-12)
    assert score.removed_replicates(None)[0] > 1 - score.fvu, "the mean counts as error to remove"
    draw = np.array([[2.0, 0.0, 1.0, 1.0, 0.0, 2.0]])
    rows = np.repeat(np.arange(600), draw[0][groups].astype(int))
    expected = 1 - ((target[rows] - prediction[rows]) ** 2).sum() / (target[rows] ** 2).sum()
    assert score.removed_replicates(draw)[0] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="counts must be"):
        score.removed_replicates(np.ones((2, 5)))


def test_reductions_over_items_are_taken_within_each_resample():
    stat = Across(np.array([0.2, -0.5, 0.1]), np.array([[0.3, -0.1, 0.0], [0.1, -0.6, 0.4]]))
    assert stat.min().value == -0.5 and list(stat.min().replicates) == [-0.1, -0.6]
    assert stat.max().value == 0.2 and list(stat.max().replicates) == [0.3, 0.4]
    assert stat.max_abs().value == 0.5 and list(stat.max_abs().replicates) == [0.3, 0.6]
    assert stat.mean().value == pytest.approx(-0.2 / 3)
    difference = stat.at(0) - stat.at(1)
    assert difference.value == pytest.approx(0.7) and list(difference.replicates) == pytest.approx([0.4, 0.7])
    low, high = stat.min().estimate.interval
    assert low <= -0.5 <= high, "the interval reaches the value measured on the whole test set"


class TopKSae(torch.nn.Module):
    """A tied TopK SAE on a given dictionary, with the interface pursuit and `decompose` read."""

    def __init__(self, atoms: torch.Tensor, k: int):
        super().__init__()
        self.W_dec, self.b_dec, self.k = atoms, torch.zeros(atoms.shape[1]), k

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        pre = (x - self.b_dec) @ self.W_dec.T
        top = pre.topk(self.k, dim=-1)
        return torch.zeros_like(pre).scatter(1, top.indices, top.values.clamp_min(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x) @ self.W_dec + self.b_dec


def sparse_problem(n=1600, d=12, width=40, k=3, seed=6):
    generator = torch.Generator().manual_seed(seed)
    atoms = torch.randn(width, d, generator=generator)
    atoms /= atoms.norm(dim=-1, keepdim=True)
    codes = torch.zeros(n, width)
    support = torch.rand(n, width, generator=generator).argsort(-1)[:, :k]
    codes.scatter_(1, support, 0.5 + torch.rand(n, k, generator=generator))
    x = codes @ atoms + 0.05 * torch.randn(n, d, generator=generator)
    return x.numpy(), atoms


def test_pursuit_effects_follow_from_both_decompositions_and_all_ones_resamples_give_the_values():
    activations, atoms = sparse_problem()
    split = contexts_split(n=len(activations), seed=7)
    runs = [run_pursuit(TopKSae(atoms, k), activations, split, CPU) for k in (2, 4)]
    _, n_groups = split.test_groups()
    effects = pursuit_effects(runs, np.ones((3, n_groups)))
    for i, run in enumerate(runs):
        sae, pursuit = run.by_sae, run.by_pursuit
        assert effects["fvu_drop"].values[i] == pytest.approx(1 - pursuit.fvu_sae / sae.fvu_sae)
        assert effects["nonlinear_change"].values[i] == pytest.approx(
            pursuit.fvu_nonlinear / sae.fvu_nonlinear - 1
        )
        assert effects["nonlinear_share_of_drop"].values[i] == pytest.approx(
            (sae.fvu_nonlinear - pursuit.fvu_nonlinear) / (sae.fvu_sae - pursuit.fvu_sae)
        )
        assert run.pursuit.max_l0_excess == 0
    assert (effects["fvu_drop"].values > 0).all(), "pursuit beats a tied TopK encoder at equal L0"
    np.testing.assert_allclose(effects["nonlinear_removed"].values, -effects["nonlinear_change"].values)
    for stat in effects.values():
        np.testing.assert_allclose(
            stat.replicates, np.broadcast_to(stat.values, stat.replicates.shape), rtol=1e-9
        )


def test_headlines_compare_the_maps_and_pursuit_on_the_same_resamples():
    activations, atoms = sparse_problem(seed=8)
    split = contexts_split(n=len(activations), seed=9)
    part = within(split, np.random.default_rng(0).choice(split.rows, 1000, replace=False))
    saes = [TopKSae(atoms, k) for k in (2, 3)]
    runs = [run_pursuit(sae, activations, part, CPU) for sae in saes]
    x = torch.from_numpy(activations)
    error = x - saes[1](x)

    def features(**arrays):
        return lambda rows: {name: values[rows] for name, values in arrays.items()}

    sources = features(a=x[:, :4] ** 2, b=torch.roll(x, 1, 0))
    targets = features(SaeError=error, NonlinearError=error - error.mean(0))
    scores = cross_prediction(sources, targets, split, CPU, chunk=400)
    _, n_groups = split.test_groups()
    counts = resample_counts(n_groups, resamples=200, seed=1)
    columns = context_columns(part, split)
    h = reduction_headlines(runs, runs[1], scores, ["a", "b"], counts, columns)
    for estimate in vars(h).values():
        low, high = estimate.interval
        assert low <= estimate.value <= high
    by_source = source_scores(scores, ["a", "b"], "NonlinearError", counts)
    assert h.earlier_nonlinear_removed_max.value == pytest.approx(by_source["removed"].values.max())
    assert h.earlier_sae_error_r2_max.value == pytest.approx(max(scores[s, "SaeError"].r2 for s in "ab"))
    removed_by_pursuit = 1 - runs[1].by_pursuit.fvu_nonlinear / runs[1].by_sae.fvu_nonlinear
    assert h.pursuit_nonlinear_removed.value == pytest.approx(removed_by_pursuit)
    assert h.earlier_minus_pursuit.value == pytest.approx(
        h.earlier_nonlinear_removed_max.value - removed_by_pursuit
    )
    assert h.fvu_drop_min.value == pytest.approx(
        pursuit_effects(runs, counts[:, columns])["fvu_drop"].values.min()
    )
