"""Predicting a larger SAE's per-token error from a smaller one's (Eqs. 5 and 10), on decompositions
whose error norms are built to a known relation."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.dark_matter.decomposition import ErrorDecomposition, split_tokens
from helpers.dark_matter.larger_saes import (
    by_size,
    error_norm_r2,
    finite_values,
    nonlinear_norm_gain,
    pair_label,
    wider_pairs,
)
from helpers.lm.suite import SaeEntry

SITE = "resid_post.3"


def decomposition(error_norm: np.ndarray, nonlinear_error_norm: np.ndarray, split) -> ErrorDecomposition:
    """An `ErrorDecomposition` holding only the two per-token norms Eqs. 5 and 10 read."""
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
        zeros,
        nonlinear_error_norm,
        zeros,
        zeros,
    )


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
    assert nonlinear_norm_gain(small, both, split) == pytest.approx(1.0, abs=1e-9)
    # an unrelated nonlinear norm adds (almost) nothing on held-out tokens
    noise = decomposition(small_error, rng.gamma(2.0, size=4000), split)
    unrelated = decomposition(small_error + rng.normal(size=4000), small_nonlinear, split)
    assert abs(nonlinear_norm_gain(noise, unrelated, split)) < 0.01
