"""Statistics over a suite's decompositions, each with its 95% interval over test contexts.

Every SAE's decomposition is scored on the same test contexts, and every statistic below is
re-evaluated under the same bootstrap resamples of them (`ErrorDecomposition.replicates`), so a
statistic over several SAEs (a minimum, a mean, a slope along widths) is resampled as one. Where
the SAEs of a width line were trained several times with other seeds (`replicas`), the line reads
the mean over seeds at each width, and each resample also draws the seeds of each width with
replacement: the interval then spans both the test contexts and the seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from helpers.book.intervals import Estimate, seed_mean, slope, with_whole_sample
from helpers.dark_matter.decomposition import ErrorDecomposition
from helpers.lm.scaling_law import FIT_RESAMPLES, fit_power_law_with_constant


@dataclass(frozen=True)
class Headlines:
    """Section 4's headline numbers for one suite: the smallest norm-probe R², the mean
    vector-probe R², the mean FVU and nonlinear FVU along a line of widths at fixed sparsity, and
    along it the slopes of linear and nonlinear FVU per doubling of width, their ratio (0:
    nonlinear FVU flat; 1: as fast), and the flatness margin `FLAT_SHARE·|linear slope| −
    |nonlinear slope|` (at least 0: the nonlinear FVU moves less than `FLAT_SHARE` times as fast
    as the linear; the ratio's rule without its division, so it stays defined where the linear
    slope is near 0)."""

    norm_r2_min: Estimate
    vector_r2_mean: Estimate
    fvu_mean: Estimate
    nonlinear_fvu_mean: Estimate
    linear_slope: Estimate
    nonlinear_slope: Estimate
    slope_ratio: Estimate
    flat_margin: Estimate


FLAT_SHARE = 0.25  # "flat": over the paper's 64× span, moving less than a quarter of the linear fall


def seed_means(
    decompositions: Mapping[str, ErrorDecomposition],
    line: Sequence[str],
    attribute: str,
    replicas: Mapping[str, Sequence[str]] | None = None,
) -> list[float]:
    """Each SAE of `line`'s decomposition `attribute` (e.g. "fvu_nonlinear"), the mean over its
    seeds where it has `replicas`: the whole test set's value of what `line_values` resamples."""
    replicas = replicas or {}
    return [
        float(np.mean([getattr(decompositions[n], attribute) for n in (name, *replicas.get(name, ()))]))
        for name in line
    ]


def line_values(
    rows: Mapping[str, Mapping[str, np.ndarray]],
    line: Sequence[str],
    key: str,
    replicas: Mapping[str, Sequence[str]] | None = None,
) -> np.ndarray:
    """`[n_rows, len(line)]`: statistic `key` of each SAE of `line` under every row of weights, the
    mean over its seeds where it has `replicas` (each row after the first drawing them with
    replacement; width i draws from stream i, so that two suites' lines draw alike)."""
    replicas = replicas or {}
    columns = [
        seed_mean(np.stack([rows[n][key] for n in (name, *replicas.get(name, ()))], axis=-1), stream=index)
        for index, name in enumerate(line)
    ]
    return np.stack(columns, axis=-1)


def _other_seeds(replicas: Mapping[str, Sequence[str]] | None) -> list[str]:
    """Every replica's name, whichever SAE it replicates."""
    return [name for names in (replicas or {}).values() for name in names]


def _check_line(decompositions, line, widths, replicas) -> None:
    if len(line) != len(widths) or len(line) < 2:
        raise ValueError(
            f"a width line needs two or more SAEs, one per width; got {len(line)} for {len(widths)}."
        )
    missing = [name for name in [*line, *_other_seeds(replicas)] if name not in decompositions]
    if missing:
        raise ValueError(f"the width line names SAEs without a decomposition: {', '.join(missing)}.")


def headline_rows(
    decompositions: Mapping[str, ErrorDecomposition],
    counts: np.ndarray,
    line: Sequence[str],
    widths: Sequence[float],
    replicas: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, np.ndarray]:
    """Each of `Headlines`' statistics (by field name) of `decompositions` (by SAE name) under the
    whole test set (row 0) and each resample of `counts` (rows 1 on); `line` names the SAEs of the
    width line, in the order of their `widths`, and `replicas` the other seeds of each (read along
    the line only: the minimum and mean over SAEs leave them out). Two suites scored on the same
    test contexts give rows whose difference resamples the difference of their statistics, pairs
    kept together."""
    _check_line(decompositions, line, widths, replicas)
    weights = with_whole_sample(counts)
    rows = {name: d.replicates(weights) for name, d in decompositions.items()}
    seeded = set(_other_seeds(replicas))
    suite = [r for name, r in rows.items() if name not in seeded]
    doublings = np.log2(np.asarray(widths, dtype=np.float64))
    along = {
        part: line_values(rows, line, f"fvu_{part}", replicas) for part in ("sae", "linear", "nonlinear")
    }
    linear, nonlinear = (slope(doublings, along[part]) for part in ("linear", "nonlinear"))
    return {
        "norm_r2_min": np.min([r["norm_probe_r2"] for r in suite], axis=0),
        "vector_r2_mean": np.mean([r["vector_probe_r2"] for r in suite], axis=0),
        "fvu_mean": along["sae"].mean(-1),
        "nonlinear_fvu_mean": along["nonlinear"].mean(-1),
        "linear_slope": linear,
        "nonlinear_slope": nonlinear,
        "slope_ratio": nonlinear / linear,
        "flat_margin": FLAT_SHARE * np.abs(linear) - np.abs(nonlinear),
    }


def headlines(
    decompositions: Mapping[str, ErrorDecomposition],
    counts: np.ndarray,
    line: Sequence[str],
    widths: Sequence[float],
    replicas: Mapping[str, Sequence[str]] | None = None,
) -> Headlines:
    """The headline statistics of `decompositions` (by SAE name) with their intervals over the
    resamples `counts` (and the seeds of `replicas`; see `headline_rows`)."""
    rows = headline_rows(decompositions, counts, line, widths, replicas)
    return Headlines(**{name: Estimate.from_rows(values) for name, values in rows.items()})


def asymptote_margin(
    decompositions: Mapping[str, ErrorDecomposition],
    counts: np.ndarray,
    line: Sequence[str],
    widths: Sequence[float],
    replicas: Mapping[str, Sequence[str]] | None = None,
) -> Estimate:
    """Fig. 1's reading: the asymptote `c` of the power law `c + a·W^-m` fitted to FVU along the
    width `line` (the mean over seeds where it has `replicas`), minus the line's mean nonlinear
    FVU (above 0: some linear error remains at any width); on the whole test set, with its
    interval from refitting under the first `FIT_RESAMPLES` resamples of `counts` (and of the
    seeds)."""
    _check_line(decompositions, line, widths, replicas)
    weights = with_whole_sample(counts[:FIT_RESAMPLES])
    rows = {name: decompositions[name].replicates(weights) for name in [*line, *_other_seeds(replicas)]}
    fvu, nonlinear = (line_values(rows, line, key, replicas) for key in ("fvu_sae", "fvu_nonlinear"))
    asymptotes = np.array([fit_power_law_with_constant(widths, row).c for row in fvu])
    return Estimate.from_rows(asymptotes - nonlinear.mean(-1))
