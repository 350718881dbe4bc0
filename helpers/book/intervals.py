"""95% intervals, and claim verdicts decided on them.

A claim row's verdict is decided on the 95% interval of its deciding estimate (DESIGN.md): "yes"
when the interval lies inside the paper's band, "partly" when it straddles an edge of the band,
"no" when it lies outside. Intervals come from a bootstrap over the units that were drawn
independently, resampling whole units: the tokens of one context of text are not independent
draws, so a bootstrap over contexts, not tokens (seeds are units too). The statistics that the
units enter are sums, so a resample is a weighted sum of per-unit totals: `resample_counts` gives
the weights, and a statistic evaluates all resamples in one matrix product.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
RESAMPLES = 2000


@dataclass(frozen=True)
class Band:
    """The range of an estimate that agrees with a paper's statement: `[low, high]`, either end
    open (a one-sided statement such as "R² above 0.9" is `Band(low=0.9)`)."""

    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self) -> None:
        if not self.low <= self.high or (math.isinf(self.low) and math.isinf(self.high)):
            raise ValueError(
                f"a band needs low <= high and at least one finite end, not [{self.low}, {self.high}]."
            )

    def verdict(self, interval: tuple[float, float]) -> str:
        """The verdict: yes if `interval` lies inside the band, no if wholly outside, else partly."""
        low, high = interval
        if not low <= high:
            raise ValueError(f"interval [{low}, {high}] has low above high.")
        if self.low <= low and high <= self.high:
            return "yes"
        if high < self.low or low > self.high:
            return "no"
        return "partly"

    def outside_verdict(self, interval: tuple[float, float]) -> str:
        """The verdict on a claim that the estimate lies outside the band (e.g. "differs from 0 by
        more than 0.05" is outside `Band(-0.05, 0.05)`): yes if `interval` lies wholly outside,
        no if inside, else partly."""
        return {"yes": "no", "no": "yes", "partly": "partly"}[self.verdict(interval)]

    def outside_rule(self, decimals: int = 2) -> str:
        """`outside_verdict`'s rule, as a criterion states it."""
        band = f"[{self.low:.{decimals}f}, {self.high:.{decimals}f}]"
        return (
            f"yes if the 95% interval lies wholly outside {band}, no if it lies inside, partly if it "
            "straddles an edge"
        )

    def words(self, decimals: int = 2) -> str:
        """The band as a criterion states it, e.g. "in [0.30, 0.70]" or "above 0.90"."""
        if math.isinf(self.high):
            return f"above {self.low:.{decimals}f}"
        if math.isinf(self.low):
            return f"below {self.high:.{decimals}f}"
        return f"in [{self.low:.{decimals}f}, {self.high:.{decimals}f}]"

    def rule(self, decimals: int = 2) -> str:
        """The criterion's closing words: how the interval decides the verdict."""
        return (
            f"yes if the 95% interval lies {self.words(decimals)}, no if it lies wholly outside, "
            "partly if it straddles the edge"
        )


def resample_counts(n_units: int, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """`[resamples, n_units]`: how many times each unit is drawn in each bootstrap resample (`n_units`
    draws with replacement)."""
    if n_units < 2:
        raise ValueError(f"a bootstrap needs at least two units to resample, not {n_units}.")
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_units, np.full(n_units, 1 / n_units), size=resamples).astype(np.float64)


def with_whole_sample(counts: np.ndarray) -> np.ndarray:
    """`[1 + resamples, units]`: a row of ones (the whole sample) above the resamples `counts`,
    the weights whose statistic `Estimate.from_rows` reads."""
    counts = np.asarray(counts, dtype=np.float64)
    return np.vstack([np.ones((1, counts.shape[1])), counts])


def percentile_interval(
    replicates: np.ndarray, estimate: float | None = None, level: float = LEVEL
) -> tuple[float, float]:
    """The central `level` range of bootstrap replicates (the percentile interval). With `estimate`,
    the interval reaches it where it does not already: the replicates of a discrete or biased
    statistic (a rank correlation over a few SAEs, a minimum) can all miss the value measured on
    the whole sample, and a verdict is then decided on the wider, more cautious range."""
    replicates = np.asarray(replicates, dtype=np.float64)
    if replicates.ndim != 1 or len(replicates) < 2 or not np.isfinite(replicates).all():
        raise ValueError("a percentile interval needs a 1-d array of at least two finite replicates.")
    tail = (1 - level) / 2
    low, high = np.quantile(replicates, [tail, 1 - tail])
    if estimate is not None:
        low, high = min(low, estimate), max(high, estimate)
    return float(low), float(high)


def group_totals(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """`[n_groups, ...]`: the sum of `values` (one row per item) over each group's items."""
    values, groups = np.asarray(values, dtype=np.float64), np.asarray(groups)
    if len(values) != len(groups):
        raise ValueError(f"{len(values)} values but {len(groups)} group labels.")
    if len(groups) and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"group labels must lie in [0, {n_groups}).")
    totals = np.zeros((n_groups, *values.shape[1:]))
    np.add.at(totals, groups, values)
    return totals


def ratio_replicates(
    numerator: np.ndarray, denominator: np.ndarray, groups: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """`Σ numerator / Σ denominator` over items (one per item, `groups[i]` its unit 0..n-1) under
    each resample of the units (`counts`: `[resamples, n]`); a ratio of means when both are read on
    the same items."""
    counts = np.asarray(counts, dtype=np.float64)
    sums = group_totals(np.stack([numerator, denominator], axis=-1), groups, counts.shape[1])
    resampled = counts @ sums
    return resampled[:, 0] / resampled[:, 1]


def interval_text(interval: tuple[float, float], spec: str = ".3f") -> str:
    """`[low, high]` formatted for a table cell."""
    low, high = interval
    return f"[{low:{spec}}, {high:{spec}}]"


def combined(*verdicts: str) -> str:
    """One verdict for a claim with several parts: yes if every part is yes, no if any is no, else
    partly."""
    if not verdicts:
        raise ValueError("no verdicts to combine.")
    if "no" in verdicts:
        return "no"
    return "yes" if all(v == "yes" for v in verdicts) else "partly"


def slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least-squares slope of `y` on `x` along `y`'s last axis (one slope per resample when `y`
    is `[resamples, len(x)]`)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 2 or y.shape[-1] != len(x) or np.ptp(x) == 0:
        raise ValueError(
            f"a slope needs at least two distinct x values, one per y column; got {x} for {y.shape}."
        )
    centred = x - x.mean()
    return (y - y.mean(-1, keepdims=True)) @ centred / (centred @ centred)


def rank_correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's ρ of `y` with `x` along the last axis (one ρ per resample when `y`, and `x` too
    where it varies, are `[resamples, n]`); tied values share their mean rank."""
    from scipy.stats import rankdata

    x_ranks = rankdata(np.asarray(x, dtype=np.float64), axis=-1)
    y_ranks = rankdata(np.asarray(y, dtype=np.float64), axis=-1)
    x_centred = x_ranks - x_ranks.mean(-1, keepdims=True)
    y_centred = y_ranks - y_ranks.mean(-1, keepdims=True)
    return (y_centred * x_centred).sum(-1) / np.sqrt((y_centred**2).sum(-1) * (x_centred**2).sum(-1))


def seed_weights(n_seeds: int, n_rows: int, stream: int) -> np.ndarray:
    """`[n_rows, n_seeds]`: how often each seed counts in each row; row 0 (the whole sample) takes
    each once, the other rows draw the seeds with replacement from resample stream `stream` (one
    seed alone is always taken)."""
    weights = np.ones((n_rows, n_seeds))
    if n_seeds > 1:
        weights[1:] = resample_counts(n_seeds, resamples=n_rows - 1, seed=stream)
    return weights


def seed_mean(values: np.ndarray, stream: int) -> np.ndarray:
    """`[n_rows]`: the mean over seeds of `values` (`[n_rows, n_seeds]`; row 0 the whole sample,
    the others resamples), each row after the first drawing the seeds with replacement from
    resample stream `stream` (`seed_weights`)."""
    weights = seed_weights(values.shape[-1], values.shape[0], stream)
    return (values * weights).sum(-1) / values.shape[-1]


@dataclass(frozen=True)
class Estimate:
    """A statistic measured on the whole sample, and its 95% interval."""

    value: float
    interval: tuple[float, float]

    @classmethod
    def of(cls, value: float, replicates: np.ndarray) -> Estimate:
        """`value` with the percentile interval of its bootstrap `replicates` (reaching `value`)."""
        return cls(float(value), percentile_interval(replicates, float(value)))

    @classmethod
    def from_rows(cls, rows: np.ndarray) -> Estimate:
        """From a statistic evaluated under weights whose first row is all ones (the whole sample)
        and whose other rows are bootstrap resamples: row 0 is the value, the rest its replicates."""
        return cls.of(rows[0], rows[1:])

    def text(self, spec: str = ".3f") -> str:
        """`value [low, high]` for a table cell."""
        return f"{self.value:{spec}} {interval_text(self.interval, spec)}"
