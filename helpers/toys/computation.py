"""Computation in superposition: which features a toy model computes, and which neurons are polysemantic.

Two measurements of a batched toy model (`[instances, ...]` tensors, see `helpers.toys.models`):

- **Per-feature computation error** on single-feature probes: feature `f` alone takes each value of
  a grid (e.g. evenly spaced in [-1, 1]); the error is `Σ_t (y_f - target_f)² / Σ_t target_f²`,
  the squared error of output `f` relative to that of predicting zero. A feature is *computed*
  when this is below a threshold (the book uses 0.1: 90% of the target's energy recovered).
- **Polysemantic neurons**: a neuron reads feature `f` when `|W_in[n, f]|` is more than a fraction
  (the book: one half) of the neuron's largest input weight; it is polysemantic when it reads more
  than one feature. Neurons whose largest weight is negligible next to the model's largest are
  *unused* and count as neither.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

COMPUTED_ERROR = 0.1
READS_FRACTION = 0.5
UNUSED_FRACTION = 0.1


def single_feature_probes(n_features: int, values: torch.Tensor) -> torch.Tensor:
    """Inputs `[n_features * len(values), n_features]`: feature `f` alone at each value, `f`-major."""
    if values.dim() != 1 or values.numel() == 0:
        raise ValueError(f"values must be a non-empty 1-d grid; got shape {tuple(values.shape)}.")
    eye = torch.eye(n_features, dtype=values.dtype, device=values.device)
    return (eye[:, None, :] * values[None, :, None]).reshape(-1, n_features)


@torch.no_grad()
def single_feature_error(
    model: Callable[[torch.Tensor], torch.Tensor],
    target: Callable[[torch.Tensor], torch.Tensor],
    n_instances: int,
    n_features: int,
    values: torch.Tensor,
) -> torch.Tensor:
    """Per-feature error `[instances, features]` of output `f` when only feature `f` is on.

    `model` maps `[instances, batch, features]` to outputs of the same shape; `target` maps inputs to
    what the outputs should be (e.g. `abs`). The error is relative to predicting zero, so 0 is exact
    and 1 is no better than a constant zero output."""
    probes = single_feature_probes(n_features, values)
    x = probes[None].expand(n_instances, -1, -1)
    out = model(x).reshape(n_instances, n_features, len(values), n_features)
    want = target(x).reshape(n_instances, n_features, len(values), n_features)
    own = torch.arange(n_features)
    out_own, want_own = out[:, own, :, own], want[:, own, :, own]  # [features, instances, values]
    scale = (want_own**2).sum(dim=-1)
    if (scale == 0).any():
        raise ValueError("the target is zero on every probe of some feature; the error is undefined.")
    return (((out_own - want_own) ** 2).sum(dim=-1) / scale).T


def computed_features(error: torch.Tensor, threshold: float = COMPUTED_ERROR) -> torch.Tensor:
    """Which features a model computes: relative single-feature error below `threshold`."""
    return error < threshold


def neuron_reads(
    W_in: torch.Tensor, fraction: float = READS_FRACTION, unused_fraction: float = UNUSED_FRACTION
) -> torch.Tensor:
    """Which features each neuron reads, `[instances, neurons, features]` from `W_in` of the same shape.

    Neuron `n` reads `f` when `|W_in[n, f]| > fraction · max_g |W_in[n, g]|`. A neuron whose largest
    weight is below `unused_fraction` of its instance's largest weight reads nothing."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction = {fraction}: it must be in (0, 1).")
    magnitude = W_in.abs()
    largest = magnitude.amax(dim=-1, keepdim=True)
    used = largest > unused_fraction * magnitude.amax(dim=(-2, -1), keepdim=True)
    return (magnitude > fraction * largest) & used


def polysemantic_neurons(W_in: torch.Tensor, fraction: float = READS_FRACTION) -> torch.Tensor:
    """`[instances, neurons]`: the neuron reads more than one feature (see `neuron_reads`)."""
    return neuron_reads(W_in, fraction).sum(dim=-1) > 1


def used_neurons(W_in: torch.Tensor) -> torch.Tensor:
    """`[instances, neurons]`: the neuron reads at least one feature."""
    return neuron_reads(W_in).any(dim=-1)


def polysemantic_fraction(W_in: torch.Tensor, fraction: float = READS_FRACTION) -> torch.Tensor:
    """Share of used neurons that are polysemantic, one per instance (0 when no neuron is used)."""
    used = used_neurons(W_in).sum(dim=-1)
    return polysemantic_neurons(W_in, fraction).sum(dim=-1) / used.clamp_min(1)


def neuron_order(W: torch.Tensor) -> torch.Tensor:
    """An order of the neurons of one model (`W` is `[neurons, features]`) for plotting.

    Neurons are sorted by the feature they read most strongly (most important first), then by that
    weight's sign (positive first) and by how many features they read, so monosemantic neurons of
    a feature sit together and a heatmap of `W[order]` shows a staircase."""
    if W.dim() != 2:
        raise ValueError(f"neuron_order takes one model's [neurons, features] weights; got {W.dim()}-d.")
    top = W.abs().argmax(dim=-1)
    sign = W.gather(-1, top[:, None]).squeeze(-1) < 0
    n_read = neuron_reads(W[None])[0].sum(dim=-1)
    keys = [(int(f), bool(s), int(k)) for f, s, k in zip(top, sign, n_read, strict=True)]
    return torch.tensor(sorted(range(len(keys)), key=keys.__getitem__), dtype=torch.long)
