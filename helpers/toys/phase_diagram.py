"""The phase change of Toy Models of Superposition: two features in one hidden dimension.

Feature 0 has importance 1, the "extra" feature 1 has relative importance `r`; both are present
with probability `p` (the density) and have a magnitude uniform on [0, 1). The model is the
book's toy model, `x' = ReLU(WᵀW x + b)`. Each cell of the (r, p) grid is classified by what
happens to the extra feature: not represented, given a dedicated dimension (feature 0 dropped),
or in superposition with feature 0 (both represented, antipodal).

The expected loss `Σ_i I_i E[(x_i - x'_i)²]` of any `(W, b)` is computed exactly up to quadrature:
the four presence cases in closed form, the uniform magnitudes by Gauss-Legendre quadrature.
The analytic diagram compares three candidate solutions at their optimal free parameters:
(a) `W = [1, 0]` with the extra feature's bias predicting its mean, (b) `W = [0, 1]` likewise,
(c) antipodal `W = [a, -c]` with optimal `a, c` and biases (optimised numerically, all cells at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from helpers.toys.geometry import REPRESENTED_NORM, feature_norms

PHASES = ("not represented", "dedicated dimension", "superposition")
NOT_REPRESENTED, DEDICATED, SUPERPOSITION = range(3)
PHASE_COLOURS = ("#bdbdbd", "#4c72b0", "#dd8452")
QUADRATURE_POINTS = 32


def check_grid(relative_importance: torch.Tensor, density: torch.Tensor) -> None:
    """Refuse cells that the model does not define: importance must be > 0, density in (0, 1]."""
    if relative_importance.shape != density.shape or relative_importance.dim() != 1:
        raise ValueError(
            "relative_importance and density must be 1-d tensors of one value per cell; got shapes "
            f"{tuple(relative_importance.shape)} and {tuple(density.shape)}."
        )
    if (relative_importance <= 0).any():
        raise ValueError("every relative importance must be positive.")
    if ((density <= 0) | (density > 1)).any():
        raise ValueError("every density must be in (0, 1].")


def gauss_legendre_on_unit_interval(n_points: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights (summing to 1) of `n_points`-point Gauss-Legendre quadrature on [0, 1]."""
    if n_points < 1:
        raise ValueError(f"n_points = {n_points}: quadrature needs at least one point.")
    nodes, weights = np.polynomial.legendre.leggauss(n_points)
    return torch.tensor((nodes + 1) / 2, dtype=torch.float64), torch.tensor(weights / 2, dtype=torch.float64)


def _square_integral(k0: torch.Tensor, k1: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """`∫_lo^hi (k0 + k1 v)² dv`, elementwise."""
    return k0**2 * (hi - lo) + k0 * k1 * (hi**2 - lo**2) + k1**2 * (hi**3 - lo**3) / 3


def _positive_interval(s: torch.Tensor, slope: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The interval `[lo, hi]` of `v` in [0, 1] where `s + slope·v > 0` (empty: `lo = hi`)."""
    root = (-s / torch.where(slope == 0, torch.ones_like(slope), slope)).clamp(0, 1)
    lo = torch.where(slope > 0, root, torch.zeros_like(root))
    hi = torch.where(slope < 0, root, torch.where(slope == 0, (s > 0).to(s.dtype), torch.ones_like(root)))
    return lo, torch.maximum(lo, hi)


def relu_error_integral(
    t0: torch.Tensor, t1: torch.Tensor, s: torch.Tensor, slope: torch.Tensor
) -> torch.Tensor:
    """`∫_0^1 (t0 + t1·v - ReLU(s + slope·v))² dv` in closed form, elementwise (broadcasting)."""
    t0, t1, s, slope = torch.broadcast_tensors(t0, t1, s, slope)
    lo, hi = _positive_interval(s, slope)
    zero, one = torch.zeros_like(lo), torch.ones_like(lo)
    active = _square_integral(t0 - s, t1 - slope, lo, hi)
    return active + _square_integral(t0, t1, zero, one) - _square_integral(t0, t1, lo, hi)


def expected_loss(
    W: torch.Tensor,
    b: torch.Tensor,
    relative_importance: torch.Tensor,
    density: torch.Tensor,
    n_points: int = QUADRATURE_POINTS,
) -> torch.Tensor:
    """`E[(x_0 - x'_0)² + r (x_1 - x'_1)²]` per cell for `x' = ReLU(WᵀW x + b)`.

    `W` is `[cells, hidden, 2]` (as `ToyModel.W`), `b` is `[cells, 2]`; differentiable in both.
    Each presence case is integrated over the extra feature's magnitude in closed form; where both
    features are present, feature 0's magnitude by `n_points`-point Gauss-Legendre quadrature.
    """
    check_grid(relative_importance, density)
    if W.dim() != 3 or W.shape[-1] != 2 or b.shape != (W.shape[0], 2) or W.shape[0] != density.shape[0]:
        raise ValueError(
            f"W must be [cells, hidden, 2] and b [cells, 2] for {density.shape[0]} cells; "
            f"got {tuple(W.shape)} and {tuple(b.shape)}."
        )
    gram = torch.einsum("chf,chg->cfg", W, W).double()
    b, r, p = b.double(), relative_importance.double(), density.double()
    g00, g01, g11 = gram[:, 0, 0], gram[:, 0, 1], gram[:, 1, 1]
    b0, b1 = b[:, 0], b[:, 1]
    zero, one = torch.zeros_like(p), torch.ones_like(p)

    neither = torch.relu(b0) ** 2 + r * torch.relu(b1) ** 2
    only_first = relu_error_integral(zero, one, b0, g00) + r * relu_error_integral(zero, zero, b1, g01)
    only_extra = relu_error_integral(zero, zero, b0, g01) + r * relu_error_integral(zero, one, b1, g11)
    nodes, weights = (t.to(W.device) for t in gauss_legendre_on_unit_interval(n_points))
    u = nodes[None, :]  # feature 0's magnitude at the quadrature nodes; the extra one's integrated exactly
    col = lambda t: t[:, None]  # noqa: E731 - per-cell values against the nodes
    both_first = relu_error_integral(u, col(zero), col(b0) + col(g00) * u, col(g01))
    both_extra = relu_error_integral(col(zero), col(one), col(b1) + col(g01) * u, col(g11))
    both = ((both_first + col(r) * both_extra) * weights).sum(dim=1)
    return (1 - p) ** 2 * neither + p * (1 - p) * (only_first + only_extra) + p**2 * both


def mean_predicting_loss(importance: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
    """Loss of a feature that is not represented and whose bias predicts its mean `p/2`: `I·Var(x)`."""
    return importance * (density / 3 - density**2 / 4)


def not_represented_loss(relative_importance: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
    """Candidate (a), `W = [1, 0]`: feature 0 is reproduced exactly, the extra feature costs its variance."""
    check_grid(relative_importance, density)
    return mean_predicting_loss(relative_importance, density)


def dedicated_loss(relative_importance: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
    """Candidate (b), `W = [0, 1]`: the extra feature gets the dimension, feature 0 costs its variance."""
    check_grid(relative_importance, density)
    return mean_predicting_loss(torch.ones_like(density), density)


def optimal_antipodal(
    relative_importance: torch.Tensor,
    density: torch.Tensor,
    steps: int = 1500,
    lr: float = 0.03,
    n_points: int = QUADRATURE_POINTS,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Candidate (c), `W = [a, -c]`: `a, c, b` optimised for every cell at once (Adam, decaying lr).

    Starts from `W = [1, -1]`, `b = 0`. Returns the expected loss `[cells]`, `W` `[cells, 1, 2]`
    and `b` `[cells, 2]` at the optimum.
    """
    check_grid(relative_importance, density)
    n_cells = density.shape[0]
    scales = torch.ones(n_cells, 2, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_cells, 2, dtype=torch.float64, requires_grad=True)
    sign = torch.tensor([1.0, -1.0], dtype=torch.float64)
    optimizer = torch.optim.Adam([scales, b], lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=lr / 100)
    for _ in range(steps):
        loss = expected_loss((scales * sign)[:, None, :], b, relative_importance, density, n_points)
        optimizer.zero_grad(set_to_none=True)
        (loss / density).sum().backward()  # each cell's loss scales like p: balance the cells
        optimizer.step()
        schedule.step()
    W = (scales * sign).detach()[:, None, :]
    b = b.detach()
    return expected_loss(W, b, relative_importance, density, n_points), W, b


def empirical_phases(W: torch.Tensor, threshold: float = REPRESENTED_NORM) -> torch.Tensor:
    """Phase of each model `W` (`[cells, hidden, 2]`) from which features have `‖W_i‖ > threshold`.

    Extra feature not represented: NOT_REPRESENTED; extra feature alone: DEDICATED; both: SUPERPOSITION.
    """
    if W.dim() != 3 or W.shape[-1] != 2:
        raise ValueError(f"W must be [cells, hidden, 2]; got shape {tuple(W.shape)}.")
    kept = feature_norms(W) > threshold
    phase = torch.full(kept.shape[:1], NOT_REPRESENTED, dtype=torch.long)
    phase[kept[:, 1] & ~kept[:, 0]] = DEDICATED
    phase[kept[:, 1] & kept[:, 0]] = SUPERPOSITION
    return phase


@dataclass(frozen=True)
class AnalyticDiagram:
    """The analytic phase of each cell, the three candidate losses `[cells, 3]` (columns in the order
    of PHASES: (a) not represented, (b) dedicated, (c) antipodal) and the winner's `W` `[cells, 1, 2]`."""

    phase: torch.Tensor
    losses: torch.Tensor
    W: torch.Tensor

    @property
    def optimal_loss(self) -> torch.Tensor:
        return self.losses.min(dim=1).values


def analytic_phases(
    relative_importance: torch.Tensor, density: torch.Tensor, **antipodal_options
) -> AnalyticDiagram:
    """Phase of each cell by the lowest-loss candidate solution.

    The phase is read from the winner's `W` as an empirical model's would be, so where the antipodal
    optimum has shrunk a feature below the represented threshold, the cell takes the phase it shows.
    """
    antipodal, antipodal_W, _ = optimal_antipodal(relative_importance, density, **antipodal_options)
    n_cells = density.shape[0]
    dropped = torch.tensor([[1.0, 0.0]], dtype=torch.float64).expand(n_cells, -1)
    dedicated = torch.tensor([[0.0, 1.0]], dtype=torch.float64).expand(n_cells, -1)
    candidates_W = torch.stack([dropped, dedicated, antipodal_W[:, 0]], dim=1)
    losses = torch.stack(
        [
            not_represented_loss(relative_importance, density).double(),
            dedicated_loss(relative_importance, density).double(),
            antipodal,
        ],
        dim=1,
    )
    W = candidates_W[torch.arange(n_cells), losses.argmin(dim=1)][:, None, :]
    return AnalyticDiagram(empirical_phases(W), losses, W)


def phase_grid(relative_importance: torch.Tensor, density: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (importance, density) pair of two 1-d axes as flat cell lists, density-major."""
    if relative_importance.dim() != 1 or density.dim() != 1:
        raise ValueError("the axes must be 1-d tensors.")
    p, r = torch.meshgrid(density, relative_importance, indexing="ij")
    return r.flatten(), p.flatten()


def phase_sequence(phases: torch.Tensor) -> list[int]:
    """The phases along a row of the diagram with repeats merged, e.g. [NOT_REPRESENTED, DEDICATED]."""
    return torch.unique_consecutive(phases).tolist()


def phase_names(phases: torch.Tensor) -> str:
    """A row's `phase_sequence` in words: "dropped → superposition → dedicated"."""
    short = {NOT_REPRESENTED: "dropped", DEDICATED: "dedicated", SUPERPOSITION: "superposition"}
    return " → ".join(short[k] for k in phase_sequence(phases))


class Regimes(NamedTuple):
    """Which of the paper's three regimes a phase diagram shows (see `paper_regimes`)."""

    dense: bool
    sparse: bool
    intermediate: bool


def paper_regimes(grid: torch.Tensor, relative_importance: torch.Tensor) -> Regimes:
    """The paper's regimes in a diagram `grid` (`[densities, importances]`, density rising down
    the rows, importance `relative_importance` along them): in the densest row the extra feature is
    not represented wherever `r < 0.9` and dedicated wherever `r > 1.1`; in the sparsest row it is in
    superposition everywhere; and some row between them runs not represented → superposition →
    dedicated as `r` rises."""
    dense_row, sparse_row = grid[-1], grid[0]
    below_one, above_one = relative_importance < 0.9, relative_importance > 1.1
    dense = bool(
        (dense_row[below_one] == NOT_REPRESENTED).all() and (dense_row[above_one] == DEDICATED).all()
    )
    sparse = bool((sparse_row == SUPERPOSITION).all())
    in_order = [NOT_REPRESENTED, SUPERPOSITION, DEDICATED]
    intermediate = any(phase_sequence(grid[i]) == in_order for i in range(1, grid.shape[0] - 1))
    return Regimes(dense, sparse, intermediate)


def row_with_all_phases(grid: torch.Tensor) -> int:
    """The middle one of the rows of `grid` (`[densities, importances]`) that show all three phases;
    the middle row of the grid when none does."""
    rows = [i for i in range(grid.shape[0]) if len(grid[i].unique()) == 3]
    return rows[len(rows) // 2] if rows else grid.shape[0] // 2
