"""Measurements of a toy model's learned embedding `W` (`[instances, hidden, features]`)."""

from __future__ import annotations

import torch

REPRESENTED_NORM = 0.5


def feature_norms(W: torch.Tensor) -> torch.Tensor:
    """`‖W_i‖` of each feature's embedding column: `[instances, features]`."""
    return W.norm(dim=-2)


def represented(W: torch.Tensor, threshold: float = REPRESENTED_NORM) -> torch.Tensor:
    """Which features a model represents: `‖W_i‖ > threshold` (the book's convention, 0.5)."""
    return feature_norms(W) > threshold


def superposition(W: torch.Tensor) -> torch.Tensor:
    """How much each feature shares its direction with others: `Σ_{j≠i} (Ŵ_i · W_j)²`.

    Returns `[instances, features]`."""
    unit = W / feature_norms(W).clamp_min(1e-12)[..., None, :]
    overlap = torch.einsum("ihf,ihg->ifg", unit, W) ** 2
    return overlap.sum(dim=-1) - overlap.diagonal(dim1=-2, dim2=-1)


def mean_superposition(W: torch.Tensor) -> torch.Tensor:
    """The mean `superposition` of each instance's represented features (0 where none is)."""
    kept = represented(W)
    return (superposition(W) * kept).sum(dim=1) / kept.sum(dim=1).clamp_min(1)


def feature_dimensionality(W: torch.Tensor) -> torch.Tensor:
    """`D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)²`: the fraction of a dimension feature i gets (1 if dedicated)."""
    unit = W / feature_norms(W).clamp_min(1e-12)[..., None, :]
    shared = (torch.einsum("ihf,ihg->ifg", unit, W) ** 2).sum(dim=-1)
    return feature_norms(W) ** 2 / shared.clamp_min(1e-12)


def dimensions_per_feature(W: torch.Tensor) -> torch.Tensor:
    """`m / ‖W‖_F²`: hidden dimensions per (norm-weighted) represented feature, one per instance."""
    return W.shape[-2] / (W**2).sum(dim=(-2, -1))


def planar_angle_gaps(W: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """For a 2-d embedding `W` (`[2, features]`), the angles in degrees between consecutive chosen
    feature directions going round the circle; they sum to 360 (a regular pentagon: five times 72)."""
    if W.shape[0] != 2:
        raise ValueError(f"planar_angle_gaps needs a 2-d embedding; W has {W.shape[0]} rows.")
    chosen = W[:, features]
    if chosen.shape[1] < 2:
        return torch.full((chosen.shape[1],), 360.0)
    angles = torch.rad2deg(torch.atan2(chosen[1], chosen[0])).sort().values
    return torch.diff(angles, append=angles[:1] + 360.0)
