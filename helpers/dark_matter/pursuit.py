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

from dataclasses import dataclass

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
    """One batch of tokens. Per step, the only pass over every atom is the correlation matmul; the
    support's correlations are the gradient, so `⟨c, r⟩ = ‖gradient‖²`, and the residual moves by
    the step itself, corrected (on the few tokens concerned) where the clamp changed a weight."""
    n, n_steps = len(signal), int(steps.max()) if len(steps) else 0
    indices = torch.zeros(n, max(n_steps, 1), dtype=torch.long, device=signal.device)
    weights = torch.zeros(n, max(n_steps, 1), dtype=signal.dtype, device=signal.device)
    residual = signal.clone()
    for step in range(n_steps):
        live = (steps > step).unsqueeze(-1)  # tokens still below their L0
        chosen, slots = indices[:, :step], slice(0, step + 1)
        correlation = residual @ atoms.T
        on_support = correlation.gather(1, chosen)
        best, pick = correlation.scatter_(1, chosen, -torch.inf).max(-1, keepdim=True)
        indices[:, step : step + 1] = pick * live
        gradient = torch.cat([on_support, best], dim=1) * live
        direction = _combine(atoms, indices[:, slots], gradient)
        size = torch.linalg.vecdot(gradient, gradient) / (
            torch.linalg.vecdot(direction, direction) + torch.finfo(signal.dtype).tiny
        )
        size = size.unsqueeze(-1)
        stepped = weights[:, slots] + size * gradient
        weights[:, slots] = stepped.clamp_min(0)
        residual.addcmul_(size, direction, value=-1)
        clamped = (stepped < 0).any(-1).nonzero().squeeze(-1)
        if len(clamped):
            lifted = weights[clamped, slots] - stepped[clamped]
            residual[clamped] -= _combine(atoms, indices[clamped, slots], lifted)
    return indices, weights


@dataclass(frozen=True)
class SparseCode:
    """Each token's atoms and their weights: row `i` is `Σ_j weights[i, j] · decoder[indices[i, j]]`.
    Rows are padded to the largest L0 asked for with zero weights."""

    indices: torch.Tensor  # [tokens, max L0], long
    weights: torch.Tensor  # [tokens, max L0], ≥ 0

    @property
    def l0(self) -> torch.Tensor:
        """How many atoms each token uses with a non-zero weight."""
        return (self.weights > 0).sum(-1)

    def decode(self, decoder: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return _combine(decoder.float(), self.indices, self.weights) + bias.float()


@torch.no_grad()
def pursuit_code(x: torch.Tensor, decoder: torch.Tensor, bias: torch.Tensor, l0: torch.Tensor) -> SparseCode:
    """The sparse code that gradient pursuit finds for each row of `x` on the atoms of `decoder`
    (`[width, d]`, the SAE's `W_dec`) after subtracting `bias`: at most `l0[row]` atoms, each
    with a non-negative weight."""
    if decoder.ndim != 2 or x.shape[-1] != decoder.shape[1]:
        raise ValueError(f"x has {x.shape[-1]} dimensions but the decoder's rows {decoder.shape[-1]}.")
    if len(l0) != len(x):
        raise ValueError(f"one L0 per token: {len(l0)} for {len(x)} tokens.")
    if len(l0) and (int(l0.min()) < 0 or int(l0.max()) > len(decoder)):
        raise ValueError(f"every L0 must be in [0, width = {len(decoder)}].")
    atoms, signal = decoder.float(), (x - bias).float()
    l0 = l0.to(signal.device)
    width = max(int(l0.max()) if len(l0) else 0, 1)
    indices = torch.zeros(len(x), width, dtype=torch.long, device=signal.device)
    weights = torch.zeros(len(x), width, dtype=signal.dtype, device=signal.device)
    for start in range(0, len(x), PURSUIT_CHUNK_ROWS):
        rows = slice(start, start + PURSUIT_CHUNK_ROWS)
        chunk_indices, chunk_weights = _pursue_chunk(signal[rows], atoms, l0[rows])
        indices[rows, : chunk_indices.shape[1]] = chunk_indices
        weights[rows, : chunk_weights.shape[1]] = chunk_weights
    return SparseCode(indices, weights)


@torch.no_grad()
def gradient_pursuit(
    x: torch.Tensor, decoder: torch.Tensor, bias: torch.Tensor, l0: torch.Tensor
) -> torch.Tensor:
    """Reconstruct each row of `x` as `bias + Σ w_j decoder[i_j]` with non-negative `w` on at most
    `l0[row]` atoms of `decoder` (`[width, d]`, the SAE's `W_dec`), chosen by gradient pursuit."""
    return pursuit_code(x, decoder, bias, l0).decode(decoder, bias)


class PursuitReconstructor:
    """A drop-in reconstruction function for an SAE (`x ↦ Sae(x)`, e.g. for
    `helpers.dark_matter.decomposition.decompose`) that keeps the SAE's decoder and the L0 its encoder uses on
    each token, but finds the code by gradient pursuit (dark matter §7.1). It works on any chunk
    of tokens and remembers each token it has encoded (keyed by the activation's bytes), so a
    second pass over the same tokens costs no pursuit; over the distinct tokens it has encoded,
    it tallies how the code's L0 compares with the SAE's."""

    def __init__(self, sae: torch.nn.Module):
        self.sae = sae
        self.tokens = 0
        self.sae_l0_sum = 0
        self.pursuit_l0_sum = 0
        self.tokens_at_sae_l0 = 0  # pursuit kept every atom it chose with a non-zero weight
        self.max_l0_excess = 0  # the largest (pursuit L0 - SAE L0) seen: 0 unless pursuit is broken
        self._encoded: dict[bytes, torch.Tensor] = {}

    @torch.no_grad()
    def _pursue(self, x: torch.Tensor) -> torch.Tensor:
        sae_l0 = (self.sae.encode(x) > 0).sum(-1)
        code = pursuit_code(x, self.sae.W_dec, self.sae.b_dec, sae_l0)
        pursuit_l0 = code.l0
        self.tokens += len(x)
        self.sae_l0_sum += int(sae_l0.sum())
        self.pursuit_l0_sum += int(pursuit_l0.sum())
        self.tokens_at_sae_l0 += int((pursuit_l0 == sae_l0).sum())
        self.max_l0_excess = max(self.max_l0_excess, int((pursuit_l0 - sae_l0).max()))
        return code.decode(self.sae.W_dec, self.sae.b_dec)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        keys = [row.tobytes() for row in x.cpu().numpy()]
        new = [i for i, key in enumerate(keys) if key not in self._encoded]
        if new:
            self._encoded.update(zip((keys[i] for i in new), self._pursue(x[new]).cpu(), strict=True))
        return torch.stack([self._encoded[key] for key in keys]).to(x) if keys else torch.empty_like(x)
