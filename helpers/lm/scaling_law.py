"""The scaling law of SAE error with width (Gao et al. 2024): `FVU(W) = c + a * W^-m`.

The constant `c` is the error no width removes; the dark-matter paper's Fig. 1 sets it beside
the nonlinear error. Fitted by least squares in log space of the reducible part, over a grid of `c`
below the smallest FVU, then refined by scipy's bounded least squares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

FIT_RESAMPLES = 500  # resamples under which an interval refits the power law (~10 ms each)


@dataclass(frozen=True)
class PowerLawWithConstant:
    c: float
    a: float
    m: float

    def __call__(self, width: np.ndarray | float) -> np.ndarray | float:
        return self.c + self.a * np.asarray(width, dtype=float) ** -self.m


def fit_power_law_with_constant(widths, fvus) -> PowerLawWithConstant:
    """Least-squares fit of `c + a * W^-m` to at least three (width, FVU) points, with `c` in
    [0, min FVU) and `a, m > 0`."""
    w, y = np.asarray(widths, dtype=float), np.asarray(fvus, dtype=float)
    if len(w) < 3 or len(np.unique(w)) != len(w):
        raise ValueError(f"a power law with a constant needs three or more distinct widths, got {list(w)}.")
    best = None
    for c in np.linspace(0, 0.999 * y.min(), 200):  # start: for each c, a line in log-log space
        slope, intercept = np.polyfit(np.log(w), np.log(y - c), 1)
        guess = PowerLawWithConstant(c, float(np.exp(intercept)), float(-slope))
        error = float(((guess(w) - y) ** 2).sum())
        if best is None or error < best[0]:
            best = (error, guess)
    start = best[1]

    def residuals(params: np.ndarray) -> np.ndarray:
        c, a, m = params
        return c + a * w**-m - y

    refined = least_squares(  # what scipy's curve_fit runs, without its covariance (never used here)
        residuals,
        np.array([start.c, start.a, max(start.m, 1e-3)]),
        jac="2-point",
        bounds=([0, 0, 0], [y.min(), np.inf, 10]),
        method="trf",
        max_nfev=20_000,
    )
    if not refined.success:  # no better optimum than the grid's
        return start
    c, a, m = refined.x
    return PowerLawWithConstant(float(c), float(a), float(m))
