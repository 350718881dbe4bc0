"""Gradient pursuit (Smith 2024; Blumensath & Davies 2008): a better sparse code for a frozen SAE
decoder, found at inference time (dark matter §7.1).

For each token, starting from an empty support: add the atom (decoder row) whose inner product with
the residual is largest and not yet chosen; take a gradient step on the squared error restricted to
the support, with the exact line search `⟨c, r⟩ / ⟨c, c⟩` (`c` the step's direction in activation
space); clamp the weights at zero. Each token runs for its own number of steps, the L0 the SAE
used on it, so pursuit and SAE are compared at equal sparsity token by token. Tokens run as one
batch per chunk on the device; the support's decoder rows are summed with `embedding_bag`, so no
`[tokens, support, d]` tensor is ever built.
"""

from __future__ import annotations

import torch
from torch.nn.functional import embedding_bag

PURSUIT_CHUNK_ROWS = 2048


def _combine(atoms: torch.Tensor, indices: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """`Σ_j weights[:, j] · atoms[indices[:, j]]` for each row."""
    return embedding_bag(indices, atoms, per_sample_weights=weights, mode="sum")


@torch.no_grad()
def _pursue_chunk(
    signal: torch.Tensor, atoms: torch.Tensor, steps: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    n, n_steps = len(signal), int(steps.max()) if len(steps) else 0
    indices = torch.zeros(n, max(n_steps, 1), dtype=torch.long, device=signal.device)
    weights = torch.zeros(n, max(n_steps, 1), dtype=signal.dtype, device=signal.device)
    chosen = torch.zeros(n, len(atoms), dtype=torch.bool, device=signal.device)
    residual = signal.clone()
    rows = torch.arange(n, device=signal.device)
    for step in range(n_steps):
        live = steps > step  # tokens still below their L0
        slots = slice(0, step + 1)
        correlation = residual @ atoms.T
        pick = correlation.masked_fill(chosen, -torch.inf).argmax(-1)
        indices[live, step] = pick[live]
        chosen[rows[live], pick[live]] = True
        in_support = torch.arange(step + 1, device=signal.device) < steps.unsqueeze(-1)
        gradient = correlation.gather(1, indices[:, slots]) * (in_support & live.unsqueeze(-1))
        direction = _combine(atoms, indices[:, slots], gradient)
        size = (direction * residual).sum(-1) / (direction.pow(2).sum(-1) + torch.finfo(signal.dtype).tiny)
        weights[:, slots] = (weights[:, slots] + size.unsqueeze(-1) * gradient).clamp_min(0) * in_support
        residual = signal - _combine(atoms, indices[:, slots], weights[:, slots])
    return indices, weights


@torch.no_grad()
def gradient_pursuit(
    x: torch.Tensor, decoder: torch.Tensor, bias: torch.Tensor, l0: torch.Tensor
) -> torch.Tensor:
    """Reconstruct each row of `x` as `bias + Σ w_j decoder[i_j]` with non-negative `w` on at most
    `l0[row]` atoms of `decoder` (`[width, d]`, the SAE's `W_dec`), chosen by gradient pursuit."""
    if decoder.ndim != 2 or x.shape[-1] != decoder.shape[1]:
        raise ValueError(f"x has {x.shape[-1]} dimensions but the decoder's rows {decoder.shape[-1]}.")
    if len(l0) != len(x):
        raise ValueError(f"one L0 per token: {len(l0)} for {len(x)} tokens.")
    if len(l0) and (int(l0.min()) < 0 or int(l0.max()) > len(decoder)):
        raise ValueError(f"every L0 must be in [0, width = {len(decoder)}].")
    atoms, signal = decoder.float(), (x - bias).float()
    reconstruction = torch.empty_like(signal)
    for start in range(0, len(x), PURSUIT_CHUNK_ROWS):
        rows = slice(start, start + PURSUIT_CHUNK_ROWS)
        indices, weights = _pursue_chunk(signal[rows], atoms, l0[rows].to(signal.device))
        reconstruction[rows] = _combine(atoms, indices, weights)
    return reconstruction + bias.float()
