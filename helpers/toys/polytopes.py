"""The geometry of superposition in one learned embedding `W` (`[hidden, features]`).

Features that share a subspace form small polytopes (antipodal pairs, triangles, pentagons,
tetrahedra) in subspaces orthogonal to each other. This module finds those groups and names their
shapes, picks and projects examples for drawing, matches feature dimensionalities to the paper's
"sticky" fractions, and measures the cosines between paired features (for correlated and
anticorrelated features).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from helpers.toys.geometry import represented

# (fraction of a dimension per feature, the configuration that gives it), from the paper
STICKY_FRACTIONS: tuple[tuple[float, str], ...] = (
    (1.0, "dedicated dimension"),
    (3 / 4, "tetrahedron"),
    (2 / 3, "triangle"),
    (1 / 2, "antipodal pair"),
    (2 / 5, "pentagon"),
    (3 / 8, "square antiprism"),
)

# (features in a group, dimensions it spans) -> its name
POLYTOPE_NAMES: dict[tuple[int, int], str] = {
    (1, 1): "dedicated dimension",
    (2, 1): "antipodal pair",
    (3, 2): "triangle",
    (4, 2): "square",
    (5, 2): "pentagon",
    (4, 3): "tetrahedron",
    (8, 3): "square antiprism",
}

STICKY_TOLERANCE = 0.05  # how near a sticky fraction a dimensionality counts as at it (ours)


def _unit_columns(W: torch.Tensor) -> torch.Tensor:
    return W / W.norm(dim=-2, keepdim=True).clamp_min(1e-12)


def sticky_fraction_distance(dimensionality: torch.Tensor) -> torch.Tensor:
    """Distance from each dimensionality `D_i` to the nearest sticky fraction (same shape)."""
    fractions = torch.tensor([value for value, _ in STICKY_FRACTIONS], dtype=dimensionality.dtype)
    return (dimensionality[..., None] - fractions).abs().min(dim=-1).values


def near_sticky_fraction(dimensionality: torch.Tensor, tolerance: float = STICKY_TOLERANCE) -> torch.Tensor:
    """Which dimensionalities lie within `tolerance` of a sticky fraction (a boolean mask)."""
    if tolerance < 0:
        raise ValueError(f"tolerance = {tolerance} must be non-negative.")
    return sticky_fraction_distance(dimensionality) <= tolerance


def sticky_share_by_chance(low: float, high: float, tolerance: float = STICKY_TOLERANCE) -> float:
    """The share of `[low, high]` within `tolerance` of a sticky fraction: the sticky share that
    dimensionalities spread uniformly over that range would have (the null of clustering)."""
    if not low < high:
        raise ValueError(f"the range [{low}, {high}] is empty.")
    if tolerance < 0:
        raise ValueError(f"tolerance = {tolerance} must be non-negative.")
    windows = sorted((max(v - tolerance, low), min(v + tolerance, high)) for v, _ in STICKY_FRACTIONS)
    covered, reach = 0.0, low
    for start, end in windows:
        start = max(start, reach)
        if end > start:
            covered += end - start
            reach = end
    return covered / (high - low)


TRIVIAL_SHAPES = ("dedicated dimension", "antipodal pair")  # a feature alone, or with its negative


def shape_kind(size: int, rank: int) -> str:
    """ "trivial" (a dedicated dimension or an antipodal pair), "polytope" (another named shape:
    a triangle, square, pentagon, tetrahedron or square antiprism) or "other" (an unnamed group)."""
    name = POLYTOPE_NAMES.get((size, rank))
    if name is None:
        return "other"
    return "trivial" if name in TRIVIAL_SHAPES else "polytope"


def plateau(values: torch.Tensor, target: float, tolerance: float) -> tuple[int, float]:
    """The longest run of consecutive `values` within `tolerance` of `target`: its length, and
    the mean of its values (the first such run; NaN where no value is that close)."""
    close = ((values - target).abs() <= tolerance).tolist()
    best_start = best_length = start = 0
    for i, near in enumerate(close + [False]):
        if not near:
            if i - start > best_length:
                best_start, best_length = start, i - start
            start = i + 1
    level = values[best_start : best_start + best_length].double().mean().item() if best_length else math.nan
    return best_length, level


def plateau_resamples(
    values: torch.Tensor, loss: torch.Tensor, target: float, tolerance: float, resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The `plateau` of the kept curve (at each setting the lowest-loss seed's value; `values` and
    `loss` are `[settings, seeds]`) and of the same curve under `resamples` bootstrap draws of
    each setting's seeds (with replacement; the lowest-loss seed drawn is kept): lengths and
    levels, `[1 + resamples]` each, row 0 the curve of all seeds."""
    settings, seeds = loss.shape
    draws = np.random.default_rng(seed).integers(0, seeds, size=(resamples, settings, seeds))
    loss_np, values_np = loss.double().numpy(), values.double().numpy()
    drawn_loss = np.take_along_axis(np.broadcast_to(loss_np, draws.shape), draws, axis=-1)
    kept = np.take_along_axis(draws, drawn_loss.argmin(-1)[..., None], axis=-1)[..., 0]
    curves = np.vstack(
        [values_np[np.arange(settings), loss_np.argmin(-1)], values_np[np.arange(settings), kept]]
    )
    found = [plateau(torch.from_numpy(curve), target, tolerance) for curve in curves]
    return np.array([length for length, _ in found]), np.array([level for _, level in found])


def shared_subspace_groups(
    W: torch.Tensor, features: torch.Tensor | list[int], threshold: float = 0.1
) -> list[list[int]]:
    """Group the chosen features that share a subspace, largest group first.

    Two features are linked when `|Ŵ_i · Ŵ_j| > threshold`; the groups are the connected components
    of that graph (features in orthogonal subspaces end up in different groups)."""
    if W.dim() != 2:
        raise ValueError(f"W must be one embedding [hidden, features]; got shape {tuple(W.shape)}.")
    chosen = torch.as_tensor(features, dtype=torch.long).flatten().tolist()
    unit = _unit_columns(W[:, chosen])
    linked = (unit.T @ unit).abs() > threshold
    unvisited, groups = set(range(len(chosen))), []
    while unvisited:
        stack, group = [min(unvisited)], []
        unvisited.discard(stack[0])
        while stack:
            node = stack.pop()
            group.append(chosen[node])
            neighbours = [j for j in torch.nonzero(linked[node]).flatten().tolist() if j in unvisited]
            unvisited.difference_update(neighbours)
            stack.extend(neighbours)
        groups.append(sorted(group))
    return sorted(groups, key=lambda g: (-len(g), g))


def group_rank(W: torch.Tensor, group: list[int], tolerance: float = 0.1) -> int:
    """How many dimensions a group spans: singular values above `tolerance` × the largest."""
    singular = torch.linalg.svdvals(W[:, group])
    return int((singular > tolerance * singular[0]).sum())


def project_onto_span(W: torch.Tensor, group: list[int], dims: int) -> torch.Tensor:
    """Coordinates `[dims, len(group)]` of the group's columns in the top-`dims` directions of its span."""
    if not 1 <= dims <= min(W.shape[0], len(group)):
        raise ValueError(f"dims = {dims}: a group of {len(group)} features in {W.shape[0]} dimensions.")
    columns = W[:, group]
    basis = torch.linalg.svd(columns, full_matrices=False).U[:, :dims]
    return basis.T @ columns


def polytope_name(size: int, rank: int) -> str:
    """The paper's name for `size` features spanning `rank` dimensions, or a plain description."""
    return POLYTOPE_NAMES.get((size, rank), f"{size} features in {rank} dimensions")


def pair_cosines(W: torch.Tensor, first: int, n_pairs: int) -> torch.Tensor:
    """Cosine between the two features of each pair `(first + 2k, first + 2k + 1)`, `k < n_pairs`.

    `W` is `[..., hidden, features]`; returns `[..., n_pairs]`."""
    if first < 0 or first + 2 * n_pairs > W.shape[-1]:
        raise ValueError(f"{n_pairs} pairs from feature {first} do not fit in {W.shape[-1]} features.")
    unit = _unit_columns(W[..., first : first + 2 * n_pairs])
    return (unit[..., 0::2] * unit[..., 1::2]).sum(dim=-2)


def subspace_shapes(W: torch.Tensor, features: torch.Tensor | list[int], threshold: float) -> list[dict]:
    """Each group of `shared_subspace_groups(W, features, threshold)` with its `size`, `rank` (see
    `group_rank`) and `shape` (see `polytope_name`)."""
    shapes = []
    for group in shared_subspace_groups(W, features, threshold):
        rank = group_rank(W, group)
        shapes.append(
            {"group": group, "size": len(group), "rank": rank, "shape": polytope_name(len(group), rank)}
        )
    return shapes


def drawable_polytopes(W: torch.Tensor, threshold: float, limit: int = 4) -> list[dict]:
    """One example of each named polytope spanning two or three dimensions among the represented
    features of every instance of `W` (`[instances, hidden, features]`), first found first, at
    most `limit`; each a `subspace_shapes` entry with its `instance`."""
    found: dict[str, dict] = {}
    for instance, W_instance in enumerate(W):
        kept = torch.nonzero(represented(W_instance)).flatten()
        for shape in subspace_shapes(W_instance, kept, threshold):
            named = (shape["size"], shape["rank"]) in POLYTOPE_NAMES
            if shape["rank"] in (2, 3) and named and shape["shape"] not in found:
                found[shape["shape"]] = {"instance": instance, **shape}
    return list(found.values())[:limit]
