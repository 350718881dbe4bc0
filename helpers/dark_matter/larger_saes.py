"""Predicting a larger SAE's per-token error from a smaller one's (dark matter Eq. 5 and Eq. 10).

Eq. 5 regresses the larger SAE's error norm `‖SaeError_large(x)‖` on the smaller SAE's,
`a·‖SaeError_small(x)‖ + c`; Eq. 10 adds the smaller SAE's nonlinear-error norm as a second
regressor. Both are fitted on the training tokens and scored on the test tokens of the split that
the two `ErrorDecomposition`s share.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from helpers.dark_matter.decomposition import ErrorDecomposition, TokenSplit, scalar_prediction_r2
from helpers.lm.suite import SaeEntry


def by_size(entries: list[SaeEntry]) -> list[SaeEntry]:
    """`entries` ordered by width, then sparsity: the rows and columns of a pair matrix."""
    return sorted(entries, key=lambda e: (e.width, e.sparsity))


def pair_label(entry: SaeEntry) -> str:
    """`width/sparsity`, an SAE's label on a pair matrix's axes."""
    return f"{entry.width}/{entry.sparsity}"


def wider_pairs(entries: list[SaeEntry], score: Callable[[str, str], float]) -> pd.DataFrame:
    """`score(smaller, larger)` for every pair of `entries` (by name) whose second is wider than its
    first: a matrix with the larger SAE as row and the smaller as column, both in `by_size` order,
    NaN where the row's SAE is not the wider."""
    ordered = by_size(entries)
    names = [e.name for e in ordered]
    matrix = pd.DataFrame(np.nan, index=names, columns=names)
    for small in ordered:
        for large in ordered:
            if large.width > small.width:
                matrix.loc[large.name, small.name] = score(small.name, large.name)
    return matrix


def error_norm_r2(small: ErrorDecomposition, large: ErrorDecomposition, split: TokenSplit) -> float:
    """Eq. 5: test R² of the larger SAE's per-token error norm from the smaller SAE's."""
    return scalar_prediction_r2(small.error_norm, large.error_norm, split)


def nonlinear_norm_gain(small: ErrorDecomposition, large: ErrorDecomposition, split: TokenSplit) -> float:
    """Eq. 10 against Eq. 5: the relative decrease in test FVU, `1 - FVU₁₀ / FVU₅`, when the smaller
    SAE's nonlinear-error norm joins its error norm in predicting the larger SAE's error norm."""
    fvu_eq5 = 1 - scalar_prediction_r2(small.error_norm, large.error_norm, split)
    both = np.column_stack([small.error_norm, small.nonlinear_error_norm])
    fvu_eq10 = 1 - scalar_prediction_r2(both, large.error_norm, split)
    return 1 - fvu_eq10 / fvu_eq5


def finite_values(matrix: pd.DataFrame) -> np.ndarray:
    """The entries of a pair matrix that hold a pair, as a flat array (row by row)."""
    values = matrix.to_numpy()
    return values[np.isfinite(values)]
