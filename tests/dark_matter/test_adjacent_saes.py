"""Explaining an SAE's error with other SAEs' outputs: streamed least squares per source, every
target at once, scored like scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from helpers.dark_matter.adjacent_saes import (
    ERROR_PARTS,
    cross_prediction,
    error_parts,
    neighbours_and_match,
    sae_reconstructions,
)
from helpers.dark_matter.decomposition import TokenSplit, fit_affine, split_by_context, split_tokens
from helpers.lm.suite import SaeEntry

CPU = torch.device("cpu")


def test_each_pair_scores_as_scikit_learn_fitted_on_that_pair_alone():
    rng = np.random.default_rng(0)
    n = 3000
    a, b = rng.normal(size=(n, 6)), rng.normal(size=(n, 4))
    y1 = a @ rng.normal(size=(6, 3)) + rng.normal(size=(n, 3))
    y2 = np.column_stack([b[:, 0] ** 2, a[:, 1] + 0.1 * rng.normal(size=n)])
    arrays = {"a": a, "b": b, "y1": y1, "y2": y2}

    def features(*names):
        return lambda rows: {name: torch.from_numpy(arrays[name][rows]).float() for name in names}

    split = split_tokens(np.arange(n), 0.6, seed=1)
    scores = cross_prediction(features("a", "b"), features("y1", "y2"), split, CPU, chunk=512)
    assert set(scores) == {(s, t) for s in "ab" for t in ("y1", "y2")}
    for (source, target), score in scores.items():
        x, y = arrays[source].astype(np.float32), arrays[target].astype(np.float32)
        fitted = LinearRegression().fit(x[split.train], y[split.train])
        expected = r2_score(y[split.test], fitted.predict(x[split.test]))
        assert score.r2 == pytest.approx(expected, abs=1e-5), (source, target)
    assert scores["a", "y1"].r2 > 0.6 and scores["b", "y1"].r2 < 0.01
    assert 1 - scores["a", "y1"].fvu == pytest.approx(scores["a", "y1"].r2, abs=0.05)


class AffineSae(torch.nn.Module):
    """Stands in for an SAE: any module whose call gives the reconstruction."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight


def test_error_parts_add_up_and_sources_are_each_saes_reconstruction_of_its_own_site():
    generator = torch.Generator().manual_seed(2)
    here, there = torch.randn(200, 5, generator=generator), torch.randn(200, 3, generator=generator)
    sae, other = AffineSae(0.5 * torch.eye(5)), AffineSae(torch.ones(3, 2))
    probe = fit_affine(here, here - sae(here))
    rows = np.arange(10, 60)
    parts = error_parts(sae, probe, here.numpy(), CPU)(rows)
    assert tuple(parts) == ERROR_PARTS
    torch.testing.assert_close(parts["SaeError"], 0.5 * here[rows])
    torch.testing.assert_close(parts["LinearError"] + parts["NonlinearError"], parts["SaeError"])
    torch.testing.assert_close(parts["NonlinearError"], torch.zeros(50, 5), atol=1e-5, rtol=0)
    sources = sae_reconstructions({"other": (other, there.numpy()), "own": (sae, here.numpy())}, CPU)(rows)
    torch.testing.assert_close(sources["other"], there[rows] @ torch.ones(3, 2))
    torch.testing.assert_close(sources["own"], 0.5 * here[rows])


def test_the_main_sae_matching_the_neighbours_is_on_their_sparsity_line_at_their_width():
    main = "resid_post.9"
    grid = [SaeEntry(main, "topk", w, k) for w in (512, 1024, 4096) for k in (8, 32)]
    neighbours = [SaeEntry(s, "topk", 1024, 20) for s in ("resid_post.8", "attn_out.9", "mlp_out.9")]
    found, match = neighbours_and_match(grid + neighbours, main)
    assert found == neighbours
    assert match == SaeEntry(main, "topk", 1024, 8), "k 8 and 32 are equally far from 20: the sparser"
    with pytest.raises(ValueError, match="no SAE beside"):
        neighbours_and_match(grid, main)


def test_scores_kept_by_test_context_equal_the_pooled_ones_and_resample_like_duplicated_contexts():
    """With a split by context the scores are kept per test context: on the whole test set they are
    the scores of the same split without contexts, every context drawn once gives them back, and a
    resample scores as scikit-learn does on the test tokens with each context repeated as drawn."""
    rng = np.random.default_rng(4)
    n = 2400
    a = rng.normal(size=(n, 5))
    y = a @ rng.normal(size=(5, 3)) + rng.normal(size=(n, 3))
    arrays = {"a": a, "y": y}

    def features(name):
        return lambda rows: {name: torch.from_numpy(arrays[name][rows]).float()}

    contexts = np.repeat(np.arange(24), n // 24)
    by_context = split_by_context(np.arange(n), contexts, 0.5, seed=2)
    by_token = TokenSplit(by_context.rows, by_context.is_train)
    grouped = cross_prediction(features("a"), features("y"), by_context, CPU, chunk=500)["a", "y"]
    pooled = cross_prediction(features("a"), features("y"), by_token, CPU, chunk=500)["a", "y"]
    assert grouped.groups == 12 and pooled.groups == 1
    assert grouped.r2 == pytest.approx(pooled.r2, abs=1e-12) and grouped.fvu == pytest.approx(
        pooled.fvu, abs=1e-12
    )
    ones = np.ones((3, 12))
    np.testing.assert_allclose(grouped.r2_replicates(ones), grouped.r2, rtol=1e-12)
    np.testing.assert_allclose(grouped.fvu_replicates(ones), grouped.fvu, rtol=1e-12)
    draw = rng.multinomial(12, np.full(12, 1 / 12)).astype(float)
    groups, _ = by_context.test_groups()
    repeated = np.repeat(np.arange(len(by_context.test)), draw[groups].astype(int))
    x, target = a.astype(np.float32), y.astype(np.float32)
    fitted = LinearRegression().fit(x[by_context.train], target[by_context.train])
    test = by_context.test[repeated]
    expected = r2_score(target[test], fitted.predict(x[test]))
    assert grouped.r2_replicates(draw[None])[0] == pytest.approx(expected, abs=1e-5)
