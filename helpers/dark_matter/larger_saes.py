"""Predicting a larger SAE's per-token error from a smaller one's (dark matter Eq. 5 and Eq. 10).

Eq. 5 regresses the larger SAE's error norm `‖SaeError_large(x)‖` on the smaller SAE's,
`a·‖SaeError_small(x)‖ + c`; Eq. 10 adds the smaller SAE's nonlinear-error norm as a second
regressor. Both are fitted on the training tokens and scored on the test tokens of the split that
the two `ErrorDecomposition`s share, by test context, so that a gain has bootstrap replicates. The
same gain with the smaller SAE's linear-error norm as the second regressor is the control: a
second piece of the same error, of comparable size, that Eq. 10's argument gives no special role.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from helpers.dark_matter.decomposition import (
    ErrorDecomposition,
    ExplainedVariance,
    TokenSplit,
    scalar_prediction_scores,
)
from helpers.lm.suite import SaeEntry


def by_size(entries: list[SaeEntry]) -> list[SaeEntry]:
    """`entries` ordered by width, then sparsity: the rows and columns of a pair matrix."""
    return sorted(entries, key=lambda e: (e.width, e.sparsity))


def pair_label(entry: SaeEntry) -> str:
    """`width/sparsity`, an SAE's label on a pair matrix's axes."""
    return f"{entry.width}/{entry.sparsity}"


def wider_pair_names(entries: list[SaeEntry]) -> list[tuple[str, str]]:
    """Every `(smaller, larger)` pair of `entries` (by name) whose second is wider, in `by_size`
    order."""
    ordered = by_size(entries)
    return [(small.name, large.name) for small in ordered for large in ordered if large.width > small.width]


def wider_pairs(entries: list[SaeEntry], score: Callable[[str, str], float]) -> pd.DataFrame:
    """`score(smaller, larger)` for every pair of `wider_pair_names(entries)`: a matrix with the
    larger SAE as row and the smaller as column, both in `by_size` order, NaN where the row's SAE is
    not the wider."""
    names = [e.name for e in by_size(entries)]
    matrix = pd.DataFrame(np.nan, index=names, columns=names)
    for small, large in wider_pair_names(entries):
        matrix.loc[large, small] = score(small, large)
    return matrix


def error_norm_scores(
    small: ErrorDecomposition, large: ErrorDecomposition, split: TokenSplit
) -> ExplainedVariance:
    """Eq. 5: test scores (kept by test context) of the larger SAE's per-token error norm from the
    smaller SAE's."""
    return scalar_prediction_scores(small.error_norm, large.error_norm, split)


def error_norm_r2(small: ErrorDecomposition, large: ErrorDecomposition, split: TokenSplit) -> float:
    """Eq. 5: test R² of the larger SAE's per-token error norm from the smaller SAE's."""
    return error_norm_scores(small, large, split).r2


def added_norm_gain(
    small: ErrorDecomposition,
    large: ErrorDecomposition,
    split: TokenSplit,
    component: str,
    counts: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Eq. 10 against Eq. 5: the relative decrease in test FVU, `1 - FVU₁₀ / FVU₅`, when the smaller
    SAE's `component` norm ("NonlinearError" for Eq. 10; "LinearError" for the control) joins its
    error norm in predicting the larger SAE's error norm; and the same under each resample of the
    test contexts (`counts`)."""
    eq5 = scalar_prediction_scores(small.error_norm, large.error_norm, split)
    both = np.column_stack([small.error_norm, small.norm(component)])
    eq10 = scalar_prediction_scores(both, large.error_norm, split)
    return 1 - eq10.fvu / eq5.fvu, 1 - eq10.fvu_replicates(counts) / eq5.fvu_replicates(counts)


def pair_gains(
    decompositions: dict[str, ErrorDecomposition],
    pairs: list[tuple[str, str]],
    split: TokenSplit,
    component: str,
    counts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """`added_norm_gain` of `component` for each `(smaller, larger)` pair: the gains, and
    `[resamples, pairs]` their replicates."""
    gains = [
        added_norm_gain(decompositions[small], decompositions[large], split, component, counts)
        for small, large in pairs
    ]
    return np.array([value for value, _ in gains]), np.stack([r for _, r in gains], axis=-1)


def finite_values(matrix: pd.DataFrame) -> np.ndarray:
    """The entries of a pair matrix that hold a pair, as a flat array (row by row)."""
    values = matrix.to_numpy()
    return values[np.isfinite(values)]
