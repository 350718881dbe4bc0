"""Predicting a larger SAE's per-token error from a smaller one's (Eqs. 5 and 10), on decompositions
whose error norms are built to a known relation."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.book.intervals import resample_counts
from helpers.dark_matter.decomposition import ErrorDecomposition, split_by_context, split_tokens
from helpers.dark_matter.larger_saes import (
    added_norm_gain,
    by_size,
    error_norm_r2,
    finite_values,
    pair_label,
    wider_pair_names,
    wider_pairs,
)
from helpers.lm.suite import SaeEntry

SITE = "resid_post.3"


def decomposition(
    error_norm: np.ndarray,
    nonlinear_error_norm: np.ndarray,
    split,
    linear_error_norm: np.ndarray | None = None,
) -> ErrorDecomposition:
    """An `ErrorDecomposition` holding only the per-token norms Eqs. 5 and 10 read."""
    zeros = np.zeros_like(error_norm)
    return ErrorDecomposition(
        split,
        None,
        None,
        0.0,
        0.0,
        0.0,
        0.0,
        *([zeros] * 2),
        error_norm,
        zeros if linear_error_norm is None else linear_error_norm,
        nonlinear_error_norm,
        zeros,
        zeros,
    )


def gain(small, large, split, component="NonlinearError"):
    return added_norm_gain(small, large, split, component, np.ones((1, split.score_groups()[1])))[0]


def test_pairs_hold_a_value_only_where_the_row_sae_is_wider():
    entries = [SaeEntry(SITE, "topk", w, k) for w in (512, 256) for k in (32, 8)]
    calls = []
    matrix = wider_pairs(entries, lambda small, large: calls.append((small, large)) or len(calls))
    ordered = [e.name for e in by_size(entries)]
    assert list(matrix.index) == list(matrix.columns) == ordered
    assert [pair_label(e) for e in by_size(entries)] == ["256/8", "256/32", "512/8", "512/32"]
    widths = {e.name: e.width for e in entries}
    for small, large in calls:
        assert widths[large] > widths[small]
    assert len(calls) == 4 and len(finite_values(matrix)) == 4
    assert calls == wider_pair_names(entries)
    assert np.isnan(matrix.loc[ordered[0], ordered[1]]) and np.isnan(matrix.loc[ordered[2], ordered[3]])


def test_eq5_is_perfect_for_an_affine_relation_and_eq10_gains_from_the_nonlinear_norm():
    rng = np.random.default_rng(0)
    split = split_tokens(np.arange(4000), 0.6, seed=0)
    small_error, small_nonlinear = rng.gamma(2.0, size=4000), rng.gamma(2.0, size=4000)
    small = decomposition(small_error, small_nonlinear, split)
    affine = decomposition(0.5 * small_error + 1.0, small_nonlinear, split)
    assert error_norm_r2(small, affine, split) == pytest.approx(1.0, abs=1e-12)
    # the larger SAE's error norm depends on the smaller one's nonlinear norm too: Eq. 10 explains it all
    both = decomposition(small_error + 2.0 * small_nonlinear, small_nonlinear, split)
    assert 0 < error_norm_r2(small, both, split) < 0.5
    assert gain(small, both, split) == pytest.approx(1.0, abs=1e-9)
    # an unrelated nonlinear norm adds (almost) nothing on held-out tokens
    noise = decomposition(small_error, rng.gamma(2.0, size=4000), split)
    unrelated = decomposition(small_error + rng.normal(size=4000), small_nonlinear, split)
    assert abs(gain(noise, unrelated, split)) < 0.01


def test_the_control_regressor_and_the_replicates_of_a_gain():
    """The control (the linear-error norm) gains what its own relation gives, and the replicates of
    a gain under resampled test contexts centre on the gain measured on all of them."""
    rng = np.random.default_rng(3)
    n = 6000
    split = split_by_context(np.arange(n), np.arange(n) // 60, 0.6, seed=0)
    error, nonlinear, linear = (rng.gamma(2.0, size=n) for _ in range(3))
    small = decomposition(error, nonlinear, split, linear)
    large = decomposition(error + nonlinear + 0.3 * rng.normal(size=n), nonlinear, split)
    assert gain(small, large, split) > 0.8 > abs(gain(small, large, split, "LinearError"))
    _, n_groups = split.test_groups()
    value, replicates = added_norm_gain(small, large, split, "NonlinearError", resample_counts(n_groups))
    assert replicates.shape == (2000,) and abs(np.median(replicates) - value) < 0.01
