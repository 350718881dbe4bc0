"""Training a TopK SAE (Gao et al. 2024) fast on a CPU, saved as a `sae_lens` TopK SAE.

The step is the whole reason this module exists: the encoder is a dense matmul, but only k of
`width` latents are non-zero per token, so the decoder is an `embedding_bag` over the k chosen rows
(forward and backward), not a dense `[batch, width] @ [width, d]` product. The encoder's backward
is one dense product too: the pre-activations are `x @ W_enc - b_dec @ W_enc + b_enc`, so `b_dec`'s
gradient through the encoder is a matrix-vector product, not autograd's `[batch, width] @ [width,
d]` one; and the selection runs on the pre-activations in the product's own dtype. Everything else is the
usual recipe on centred inputs scaled to mean squared norm `d_in`, parametrised as sae_lens's
`TopKTrainingSAE` is (`rescale_acts_by_decoder_norm`, the "heuristic" initialisation of Anthropic's
2024 circuits update): decoder rows start at norm 0.1 and are left free, the encoder starts as the
decoder's transpose, and latents are ranked by their pre-activation times their decoder row's norm
(so the reconstruction is `sum_i pre_i * W_dec_i`). Small rows turn faster under Adam than unit-norm
rows projected back after each step; at 300 steps this is worth 6% of FVU at width 4096.
Then Adam with a short warm-up and a linear decay to zero over the last fifth, and the AuxK loss
that gives dead latents a gradient. The saved SAE has the norms folded in: unit-norm decoder rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from sae_lens import TopKSAE, TopKSAEConfig


@dataclass(frozen=True)
class TopKTraining:
    """One TopK SAE's training run. `dead_after` is how many samples a latent may go without firing
    before the AuxK loss treats it as dead; `aux_k` how many dead latents that loss uses per token.
    Both, and the AuxK coefficient, are set for short runs (a few hundred thousand samples): Gao et
    al. wait 10M tokens and weigh the loss 1/32; here a quarter keeps dead latents near 5% at width
    4096 where 1/32 left twice as many. `aux_k` is 64, not d/2: the top-k over the dead latents'
    pre-activations is the slowest part of a step that uses it. `decoder_init_norm` is the decoder
    rows' starting norm (sae_lens's default); a changed value retrains a cached suite."""

    width: int
    k: int
    samples: int
    batch_size: int = 1024
    lr: float = 4e-4
    aux_coefficient: float = 0.25
    aux_k: int = 64
    dead_after: int = 20_000
    seed: int = 0
    bf16: bool = False
    decoder_init_norm: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.k <= self.width:
            raise ValueError(f"k = {self.k} must be in [1, width = {self.width}].")
        if self.decoder_init_norm <= 0:
            raise ValueError(f"decoder_init_norm = {self.decoder_init_norm} must be positive.")
        if self.samples < self.batch_size:
            raise ValueError(f"samples = {self.samples} is less than one batch ({self.batch_size}).")


@dataclass
class TrainingLog:
    """What a run measured: the training FVU over time (one value per `log_every` steps), the
    latents still dead at the end (by `dead_after`), and the wall time."""

    steps: list[int]
    fvu: list[float]
    dead_latents: int
    seconds: float
    samples_per_second: float


class _TopKParameters(torch.nn.Module):
    """The trained tensors, in normalised units, with sae_lens's names and layout."""

    def __init__(self, d_in: int, width: int, init_norm: float, generator: torch.Generator):
        super().__init__()
        decoder = torch.randn(width, d_in, generator=generator)
        decoder *= init_norm / decoder.norm(dim=1, keepdim=True)
        self.W_dec = torch.nn.Parameter(decoder)
        self.W_enc = torch.nn.Parameter(decoder.T.clone().contiguous())
        self.b_enc = torch.nn.Parameter(torch.zeros(width))
        self.b_dec = torch.nn.Parameter(torch.zeros(d_in))


class _SelectedPreactivations(torch.autograd.Function):
    """`values` (the pre-activations `centred @ W_enc + b_enc` at `indices`, already computed) as a
    function of the encoder's parameters. The backward pass scatters their gradient into one dense
    `centred.T @ grad` product for `W_enc`, and gives `b_dec` (`centred = x - b_dec`) its gradient
    in closed form: `-W_enc @ grad_b_enc`."""

    @staticmethod
    def forward(ctx, values, indices, centred, W_enc, b_enc, b_dec):
        ctx.save_for_backward(indices, centred, W_enc)
        return values.float()

    @staticmethod
    def backward(ctx, grad):
        indices, centred, W_enc = ctx.saved_tensors
        grad_b_enc = torch.zeros_like(W_enc[0]).index_add_(0, indices.flatten(), grad.flatten())
        scattered = torch.zeros(centred.shape[0], W_enc.shape[1], dtype=centred.dtype, device=grad.device)
        scattered.scatter_add_(1, indices, grad.to(centred.dtype))
        grad_W_enc = (centred.T @ scattered).float()
        return None, None, None, grad_W_enc, grad_b_enc, -(W_enc @ grad_b_enc)


def _decode(indices: torch.Tensor, values: torch.Tensor, decoder: torch.Tensor) -> torch.Tensor:
    return F.embedding_bag(indices, decoder, per_sample_weights=values, mode="sum")


def _lr_factor(step: int, steps: int) -> float:
    warmup, decay_from = max(1, steps // 100), int(0.8 * steps)
    if step < warmup:
        return (step + 1) / warmup
    if step >= decay_from:
        return max(0.0, (steps - step) / (steps - decay_from))
    return 1.0


def train_topk_sae(
    batches: Iterator[torch.Tensor],
    d_in: int,
    config: TopKTraining,
    device: torch.device | str = "cpu",
    log_every: int = 20,
) -> tuple[TopKSAE, TrainingLog]:
    """Train on batches of normalised activations (`[batch_size, d_in]`, centred, mean squared
    norm `d_in`); returns the SAE in those units and what the run measured."""
    device = torch.device(device)
    generator = torch.Generator().manual_seed(config.seed)
    params = _TopKParameters(d_in, config.width, config.decoder_init_norm, generator).to(device)
    optimizer = torch.optim.Adam(params.parameters(), lr=config.lr, fused=True)
    steps = config.samples // config.batch_size
    since_fired = torch.zeros(config.width, dtype=torch.long, device=device)
    log = TrainingLog([], [], 0, 0.0, 0.0)
    matmul_dtype = torch.bfloat16 if config.bf16 else torch.float32
    started = time.perf_counter()
    for step in range(steps):
        x = next(batches).to(device)
        with torch.no_grad():
            norms = params.W_dec.norm(dim=1)
            centred = (x - params.b_dec).to(matmul_dtype)
            pre = torch.addmm(params.b_enc.to(matmul_dtype), centred, params.W_enc.to(matmul_dtype))
            scores = pre.mul_(norms.to(matmul_dtype))
            values, indices = scores.topk(config.k, dim=-1, sorted=False)
            since_fired += config.batch_size
            since_fired[indices.flatten()] = 0
            dead = since_fired > config.dead_after
            n_dead = int(dead.sum())
            if n_dead:
                k_aux = min(config.aux_k, n_dead)
                dead_scores = scores.masked_fill_(~dead, -torch.inf)
                aux_values, aux_indices = dead_scores.topk(k_aux, dim=-1, sorted=False)
                values, indices = torch.cat([values, aux_values], 1), torch.cat([indices, aux_indices], 1)
            preactivations = values.float() / norms[indices]
        selected = _SelectedPreactivations.apply(
            preactivations, indices, centred, params.W_enc, params.b_enc, params.b_dec
        ).relu()
        recon = _decode(indices[:, : config.k], selected[:, : config.k], params.W_dec) + params.b_dec
        error = x - recon
        loss = error.pow(2).sum(-1).mean()
        if n_dead:
            aux_recon = _decode(indices[:, config.k :], selected[:, config.k :], params.W_dec)
            loss = loss + config.aux_coefficient * (error.detach() - aux_recon).pow(2).sum(-1).mean()
        for group in optimizer.param_groups:
            group["lr"] = config.lr * _lr_factor(step, steps)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % log_every == 0 or step == steps - 1:
            log.steps.append(step)
            log.fvu.append(float(error.detach().pow(2).sum() / (x - x.mean(0)).pow(2).sum()))
    log.seconds = time.perf_counter() - started
    log.samples_per_second = steps * config.batch_size / log.seconds
    log.dead_latents = int((since_fired > config.dead_after).sum())
    return _as_sae_lens(params, config), log


def _as_sae_lens(params: _TopKParameters, config: TopKTraining) -> TopKSAE:
    """The trained tensors as a sae_lens TopK SAE (on normalised activations; see sae_suite's
    `fold_normalisation` for raw ones), with the decoder norms folded into the encoder: unit-norm
    decoder rows, and latents that are the scores the training step ranked by."""
    cfg = TopKSAEConfig(
        d_in=params.W_dec.shape[1], d_sae=config.width, k=config.k, rescale_acts_by_decoder_norm=False
    )
    sae = TopKSAE(cfg).to(params.W_dec.device)
    with torch.no_grad():
        norms = params.W_dec.norm(dim=1)
        sae.W_dec.copy_(params.W_dec / norms[:, None])
        sae.W_enc.copy_(params.W_enc * norms)
        sae.b_enc.copy_(params.b_enc * norms)
        sae.b_dec.copy_(params.b_dec)
    return sae
