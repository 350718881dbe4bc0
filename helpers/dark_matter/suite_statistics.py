"""Statistics over a suite's decompositions, each with its 95% interval over test contexts.

Every SAE's decomposition is scored on the same test contexts, and every statistic below is
re-evaluated under the same bootstrap resamples of them (`ErrorDecomposition.replicates`), so a
statistic over several SAEs (a minimum, a mean, a slope along widths) is resampled as one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from helpers.book.intervals import percentile_interval, slope
from helpers.dark_matter.decomposition import ErrorDecomposition


@dataclass(frozen=True)
class Estimate:
    """A statistic measured on the whole test set, and its 95% interval."""

    value: float
    interval: tuple[float, float]


@dataclass(frozen=True)
class Headlines:
    """Section 4's headline numbers for one suite: the smallest norm-probe R², the mean
    vector-probe R², and, along a line of widths at fixed sparsity, the slopes of linear and
    nonlinear FVU per doubling of width and their ratio (0: nonlinear FVU flat; 1: as fast)."""

    norm_r2_min: Estimate
    vector_r2_mean: Estimate
    linear_slope: Estimate
    nonlinear_slope: Estimate
    slope_ratio: Estimate


def _estimate(value: float, replicates: np.ndarray) -> Estimate:
    return Estimate(float(value), percentile_interval(replicates, float(value)))


def headlines(
    decompositions: Mapping[str, ErrorDecomposition],
    counts: np.ndarray,
    line: Sequence[str],
    widths: Sequence[float],
) -> Headlines:
    """The headline statistics of `decompositions` (by SAE name) under the resamples `counts`;
    `line` names the SAEs of the width line, in the order of their `widths`."""
    if len(line) != len(widths) or len(line) < 2:
        raise ValueError(
            f"a width line needs two or more SAEs, one per width; got {len(line)} for {len(widths)}."
        )
    missing = [name for name in line if name not in decompositions]
    if missing:
        raise ValueError(f"the width line names SAEs without a decomposition: {', '.join(missing)}.")
    replicates = {name: d.replicates(counts) for name, d in decompositions.items()}
    norm_r2 = [d.norm_probe_r2 for d in decompositions.values()]
    vector_r2 = [d.vector_probe_r2 for d in decompositions.values()]
    doublings = np.log2(np.asarray(widths, dtype=np.float64))
    fvu = {
        part: (
            [getattr(decompositions[name], f"fvu_{part}") for name in line],
            np.stack([replicates[name][f"fvu_{part}"] for name in line], axis=-1),
        )
        for part in ("linear", "nonlinear")
    }
    linear, nonlinear = (slope(doublings, fvu[part][0]) for part in ("linear", "nonlinear"))
    linear_replicates, nonlinear_replicates = (
        slope(doublings, fvu[part][1]) for part in ("linear", "nonlinear")
    )
    return Headlines(
        norm_r2_min=_estimate(
            min(norm_r2), np.min([r["norm_probe_r2"] for r in replicates.values()], axis=0)
        ),
        vector_r2_mean=_estimate(
            float(np.mean(vector_r2)), np.mean([r["vector_probe_r2"] for r in replicates.values()], axis=0)
        ),
        linear_slope=_estimate(linear, linear_replicates),
        nonlinear_slope=_estimate(nonlinear, nonlinear_replicates),
        slope_ratio=_estimate(nonlinear / linear, nonlinear_replicates / linear_replicates),
    )
