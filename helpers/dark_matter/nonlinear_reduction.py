"""Dark matter §7's headline numbers, each with its 95% interval over test contexts: how far
gradient pursuit on an SAE's own decoder lowers its FVU and its nonlinear FVU (Fig. 10a), and how
much of an SAE's error linear maps from the SAEs of earlier components explain (Fig. 10b).

Pursuit re-encodes a random subset of the analysis tokens (`within`: on the sides of the analysis
split, so its test contexts are some of the analysis split's), and the regressions of §7.2 read the
whole analysis split. Every statistic is re-evaluated under the same bootstrap resamples of the
analysis split's test contexts (`context_columns` reads a subset's columns of the resample counts),
so a statistic over several SAEs, and the difference between a pursuit statistic and a regression
statistic, are resampled as one: each resample draws the same contexts for both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from helpers.book.intervals import Estimate, percentile_interval
from helpers.dark_matter.decomposition import ErrorDecomposition, ExplainedVariance, TokenSplit, decompose
from helpers.dark_matter.pursuit import PursuitReconstructor


def within(split: TokenSplit, rows: np.ndarray) -> TokenSplit:
    """The tokens `rows` (some of `split.rows`), each on the side and with the context that `split`
    gave it: a subsample that keeps the split's training and test contexts."""
    rows = np.unique(np.asarray(rows))
    where = np.minimum(np.searchsorted(split.rows, rows), len(split.rows) - 1)
    if len(rows) == 0 or (split.rows[where] != rows).any():
        raise ValueError("a subsample of a split needs one or more rows, all of them the split's.")
    contexts = None if split.contexts is None else split.contexts[where]
    return TokenSplit(rows, split.is_train[where], contexts)


def context_columns(part: TokenSplit, whole: TokenSplit) -> np.ndarray:
    """Each test context of `part` (in the order of `part.test_groups()`) as its position among
    `whole`'s (the order of `whole.test_groups()`): `counts[:, context_columns(part, whole)]` are
    the resamples drawn for `whole`'s test contexts, read for `part`'s."""
    part.test_groups(), whole.test_groups()  # both by context, or a clear error
    mine = np.unique(part.contexts[~part.is_train])
    theirs = np.unique(whole.contexts[~whole.is_train])
    if not np.isin(mine, theirs).all():
        raise ValueError("every test context of the subsample must be a test context of the whole split.")
    return np.searchsorted(theirs, mine)


@dataclass(frozen=True)
class PursuitRun:
    """One SAE's error split into linear and nonlinear parts (Eqs. 2-4) with its own encoder and with
    gradient pursuit on its decoder at the SAE's L0, on the same tokens and split; `pursuit` tallies
    pursuit's L0 against the SAE's."""

    by_sae: ErrorDecomposition
    by_pursuit: ErrorDecomposition
    pursuit: PursuitReconstructor


def run_pursuit(
    sae: torch.nn.Module, activations: np.ndarray, split: TokenSplit, device: torch.device
) -> PursuitRun:
    """Decompose `sae`'s error and that of gradient pursuit on its decoder on `split` (each token is
    pursued once: the second pass reuses the codes)."""
    pursuit = PursuitReconstructor(sae)
    return PursuitRun(
        decompose(sae, activations, split, device), decompose(pursuit, activations, split, device), pursuit
    )


@dataclass(frozen=True)
class Replicated:
    """A statistic measured on the whole test set (`value`) and under each bootstrap resample of the
    test contexts (`replicates`); differences of two statistics read on the same resamples are
    statistics too."""

    value: float
    replicates: np.ndarray

    @property
    def estimate(self) -> Estimate:
        """The value and its 95% percentile interval (reaching the value where it does not already)."""
        return Estimate(self.value, percentile_interval(self.replicates, self.value))

    def __sub__(self, other: Replicated) -> Replicated:
        return Replicated(self.value - other.value, self.replicates - other.replicates)


@dataclass(frozen=True)
class Across:
    """One statistic of several items (SAEs, or regression sources): `values` measured on the whole
    test set and `replicates` (`[resamples, items]`) under the same resamples; its reductions over
    the items are taken within each resample."""

    values: np.ndarray
    replicates: np.ndarray

    def at(self, item: int) -> Replicated:
        return Replicated(float(self.values[item]), self.replicates[:, item])

    def min(self) -> Replicated:
        return Replicated(float(self.values.min()), self.replicates.min(-1))

    def max(self) -> Replicated:
        return Replicated(float(self.values.max()), self.replicates.max(-1))

    def mean(self) -> Replicated:
        return Replicated(float(self.values.mean()), self.replicates.mean(-1))

    def max_abs(self) -> Replicated:
        return Replicated(float(np.abs(self.values).max()), np.abs(self.replicates).max(-1))


def _effects(
    fvu: np.ndarray, nonlinear: np.ndarray, fvu_pursuit: np.ndarray, nonlinear_pursuit: np.ndarray
) -> dict[str, np.ndarray]:
    return {
        "fvu_drop": 1 - fvu_pursuit / fvu,
        "nonlinear_change": nonlinear_pursuit / nonlinear - 1,
        "nonlinear_removed": 1 - nonlinear_pursuit / nonlinear,
        "nonlinear_share_of_drop": (nonlinear - nonlinear_pursuit) / (fvu - fvu_pursuit),
    }


def pursuit_effects(runs: Sequence[PursuitRun], counts: np.ndarray) -> dict[str, Across]:
    """What pursuit does to each run's SAE (in the order of `runs`, all on one split), under the
    resamples `counts` of that split's test contexts: `fvu_drop` (`1 - FVU with pursuit / FVU with
    the SAE`), `nonlinear_change` (the relative change of the nonlinear FVU), `nonlinear_removed`
    (minus that: the share of the nonlinear error's summed squared norm that pursuit removes), and
    `nonlinear_share_of_drop` (the fall of nonlinear FVU over the fall of FVU)."""
    if not runs:
        raise ValueError("no pursuit runs to compare.")
    sides, keys = ("by_sae", "by_pursuit"), ("fvu_sae", "fvu_nonlinear")
    replicates = {
        (i, side): getattr(run, side).replicates(counts) for i, run in enumerate(runs) for side in sides
    }
    values = [np.array([getattr(getattr(run, side), key) for run in runs]) for side in sides for key in keys]
    resampled = [
        np.stack([replicates[i, side][key] for i in range(len(runs))], axis=-1)
        for side in sides
        for key in keys
    ]
    point, each = _effects(*values), _effects(*resampled)
    return {key: Across(point[key], each[key]) for key in point}


def source_scores(
    scores: Mapping[tuple[str, str], ExplainedVariance],
    sources: Sequence[str],
    target: str,
    counts: np.ndarray,
) -> dict[str, Across]:
    """How well each of `sources`' maps predicts `target` (scores from
    `helpers.dark_matter.adjacent_saes.cross_prediction`, kept by test context), under the resamples
    `counts`: `r2` (R² averaged over dimensions) and `removed` (the share of the target's summed
    squared norm that subtracting the map's prediction removes)."""
    if not sources:
        raise ValueError("no sources to score.")
    chosen = [scores[source, target] for source in sources]
    return {
        "r2": Across(
            np.array([s.r2 for s in chosen]), np.stack([s.r2_replicates(counts) for s in chosen], axis=-1)
        ),
        "removed": Across(
            np.array([s.removed_replicates(None)[0] for s in chosen]),
            np.stack([s.removed_replicates(counts) for s in chosen], axis=-1),
        ),
    }


@dataclass(frozen=True)
class ReductionHeadlines:
    """Section 7's headline numbers for one data choice, each with its interval: over the widths of
    the reference line, pursuit's smallest FVU drop, the largest and the mean relative change of the
    nonlinear FVU, and the mean nonlinear share of the drop; over the earlier components, the best
    R² of SaeError and of NonlinearError and the largest share of the nonlinear error's squared norm
    removed; the share pursuit removes from the same SAE's nonlinear error, and the difference
    (earlier components' best share minus pursuit's; positive: the maps remove more)."""

    fvu_drop_min: Estimate
    nonlinear_change_max_abs: Estimate
    nonlinear_change_mean: Estimate
    nonlinear_share_of_drop_mean: Estimate
    earlier_sae_error_r2_max: Estimate
    earlier_nonlinear_r2_max: Estimate
    earlier_nonlinear_removed_max: Estimate
    pursuit_nonlinear_removed: Estimate
    earlier_minus_pursuit: Estimate


def reduction_headlines(
    line: Sequence[PursuitRun],
    matched: PursuitRun,
    scores: Mapping[tuple[str, str], ExplainedVariance],
    earlier: Sequence[str],
    counts: np.ndarray,
    pursuit_columns: np.ndarray,
) -> ReductionHeadlines:
    """The headline numbers of pursuit on the reference line's SAEs (`line`, in order of width) and
    of the maps from the `earlier` sources to the error parts of the SAE that `matched` pursued (the
    regressions' `scores`, on a split whose test contexts `counts` resamples; the pursuit runs' test
    contexts are its columns `pursuit_columns`)."""
    pursuit_counts = counts[:, pursuit_columns]
    effects = pursuit_effects(line, pursuit_counts)
    removed_by_pursuit = pursuit_effects([matched], pursuit_counts)["nonlinear_removed"].at(0)
    error, nonlinear = (
        source_scores(scores, earlier, target, counts) for target in ("SaeError", "NonlinearError")
    )
    removed_by_maps = nonlinear["removed"].max()
    return ReductionHeadlines(
        fvu_drop_min=effects["fvu_drop"].min().estimate,
        nonlinear_change_max_abs=effects["nonlinear_change"].max_abs().estimate,
        nonlinear_change_mean=effects["nonlinear_change"].mean().estimate,
        nonlinear_share_of_drop_mean=effects["nonlinear_share_of_drop"].mean().estimate,
        earlier_sae_error_r2_max=error["r2"].max().estimate,
        earlier_nonlinear_r2_max=nonlinear["r2"].max().estimate,
        earlier_nonlinear_removed_max=removed_by_maps.estimate,
        pursuit_nonlinear_removed=removed_by_pursuit.estimate,
        earlier_minus_pursuit=(removed_by_maps - removed_by_pursuit).estimate,
    )
