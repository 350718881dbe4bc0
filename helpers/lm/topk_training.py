"""Training TopK SAEs (Gao et al. 2024) fast on a CPU, saved as `sae_lens` TopK SAEs.

The step is the whole reason this module exists. Only k of `width` latents are non-zero per token,
so everything after the encoder's one dense product touches only the chosen latents, and the
gradients are written by hand (no autograd graph, no `[batch, width]` gradient tensor):

- the encoder is one dense `addmm` in the step's dtype, then a top-k over the scores;
- the decoder is an `embedding_bag` over the k chosen rows;
- each chosen latent's gradient is a dot product of the output's gradient with its decoder row,
  computed only at the chosen positions (`sampled_addmm` on the selection's sparsity pattern);
- the decoder's and the encoder's weight gradients are sums, per latent, over the tokens that
  chose it: the selections sorted by latent once, then one `embedding_bag` per gradient with a
  bag per latent (so a latent's row is written once, and latents nobody chose stay zero);
- `b_dec`'s gradient through the encoder (`centred = x - b_dec`) is one matrix-vector product.

Everything else is the usual recipe on centred inputs scaled to mean squared norm `d_in`,
parametrised as sae_lens's `TopKTrainingSAE` is (`rescale_acts_by_decoder_norm`, the "heuristic"
initialisation of Anthropic's 2024 circuits update): decoder rows start at norm 0.1 and are left
free, the encoder starts as the decoder's transpose, and latents are ranked by their
pre-activation times their decoder row's norm (so the reconstruction is `sum_i pre_i * W_dec_i`).
Small rows turn faster under Adam than unit-norm rows projected back after each step; at 300
steps this is worth 6% of FVU at width 4096. Then Adam with a short warm-up and a linear decay to
zero over the last fifth, and the AuxK loss that gives dead latents a gradient. The saved SAE has
the norms folded in: unit-norm decoder rows.

`train_topk_saes` trains several SAEs on one stream of batches, so a suite reads its data once.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from sae_lens import TopKSAE, TopKSAEConfig

from helpers.book.memory import keep_freed_memory


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

    @property
    def steps(self) -> int:
        return self.samples // self.batch_size


@dataclass
class TrainingLog:
    """What a run measured: the training FVU over time (one value per `log_every` steps), the
    latents still dead at the end (by `dead_after`), and the wall time (for SAEs trained together,
    its own steps plus its share of reading the batches)."""

    steps: list[int]
    fvu: list[float]
    dead_latents: int
    seconds: float
    samples_per_second: float


class _TopKParameters(torch.nn.Module):
    """The trained tensors, in normalised units, with sae_lens's names; the encoder is kept as
    `W_enc_T` (`[width, d_in]`, sae_lens's `W_enc` transposed), so that a latent's encoder
    gradient is one contiguous row, as its decoder gradient is."""

    def __init__(self, d_in: int, width: int, init_norm: float, generator: torch.Generator):
        super().__init__()
        decoder = torch.randn(width, d_in, generator=generator)
        decoder *= init_norm / decoder.norm(dim=1, keepdim=True)
        self.W_dec = torch.nn.Parameter(decoder)
        self.W_enc_T = torch.nn.Parameter(decoder.clone())
        self.b_enc = torch.nn.Parameter(torch.zeros(width))
        self.b_dec = torch.nn.Parameter(torch.zeros(d_in))


class _ByLatent:
    """Selections `(row r, latent i, value v)` grouped by latent, for sums `sum_r v * table[r]`
    over each latent's selections, one bag per latent of an `embedding_bag`."""

    def __init__(self, latents: torch.Tensor, width: int):
        latents = latents.flatten()
        self.order = torch.argsort(latents)
        counts = torch.bincount(latents, minlength=width)
        self.offsets = torch.cumsum(counts, 0) - counts

    def sums(self, values: torch.Tensor, rows: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """`[width, table columns]`: for each latent, its selections' values times their rows of
        `table`, summed (zero for a latent nobody selected)."""
        return F.embedding_bag(
            rows.flatten()[self.order],
            table,
            self.offsets,
            mode="sum",
            per_sample_weights=values.flatten()[self.order],
        )


def _at_chosen(output_grad: torch.Tensor, decoder: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """`[rows, slots]`: `output_grad[r] . decoder[chosen[r, s]]`, only where chosen."""
    rows, slots = chosen.shape
    with warnings.catch_warnings():  # torch says CSR support is in beta, once per process
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        pattern = torch.sparse_csr_tensor(
            torch.arange(0, rows * slots + 1, slots, device=chosen.device),
            chosen.flatten(),
            torch.zeros(rows * slots, dtype=output_grad.dtype, device=chosen.device),
            size=(rows, decoder.shape[0]),
            check_invariants=False,
        )
    return torch.sparse.sampled_addmm(pattern, output_grad, decoder.T, beta=0.0).values().view(rows, slots)


def _lr_factor(step: int, steps: int) -> float:
    warmup, decay_from = max(1, steps // 100), int(0.8 * steps)
    if step < warmup:
        return (step + 1) / warmup
    if step >= decay_from:
        return max(0.0, (steps - step) / (steps - decay_from))
    return 1.0


class _Run:
    """One SAE's state during training: its parameters, Adam, how long since each latent fired."""

    def __init__(self, d_in: int, config: TopKTraining, device: torch.device):
        self.config = config
        generator = torch.Generator().manual_seed(config.seed)
        self.params = _TopKParameters(d_in, config.width, config.decoder_init_norm, generator).to(device)
        self.optimizer = torch.optim.Adam(self.params.parameters(), lr=config.lr, fused=True)
        self.since_fired = torch.zeros(config.width, dtype=torch.long, device=device)
        self.dtype = torch.bfloat16 if config.bf16 else torch.float32
        self.log = TrainingLog([], [], 0, 0.0, 0.0)

    @torch.no_grad()
    def gradients(self, x: torch.Tensor) -> torch.Tensor:
        """Set every parameter's gradient of the loss (reconstruction + AuxK) on batch `x`; returns
        the reconstruction error."""
        p, config = self.params, self.config
        batch, width = x.shape[0], config.width
        norms = p.W_dec.norm(dim=1)
        centred = x - p.b_dec
        pre = torch.addmm(p.b_enc.to(self.dtype), centred.to(self.dtype), p.W_enc_T.to(self.dtype).T)
        scores = pre.mul_(norms.to(self.dtype))
        values, chosen = scores.topk(config.k, dim=-1, sorted=False)
        self.since_fired += batch
        self.since_fired[chosen.flatten()] = 0
        acts = (values.float() / norms[chosen]).relu_()
        error = x - p.b_dec - F.embedding_bag(chosen, p.W_dec, per_sample_weights=acts, mode="sum")
        output_grads = error * (-2.0 / batch)
        act_grads = _at_chosen(output_grads, p.W_dec, chosen).mul_(acts > 0)
        dead = torch.nonzero(self.since_fired > config.dead_after).flatten()
        rows = torch.arange(batch, device=x.device)[:, None].expand_as(chosen)
        if len(dead):
            aux_k = min(config.aux_k, len(dead))
            aux_values, aux_slots = scores.index_select(1, dead).topk(aux_k, dim=-1, sorted=False)
            aux_chosen = dead[aux_slots]
            aux_acts = (aux_values.float() / norms[aux_chosen]).relu_()
            aux_recon = F.embedding_bag(aux_chosen, p.W_dec, per_sample_weights=aux_acts, mode="sum")
            aux_grads = (error - aux_recon).mul_(-2.0 * config.aux_coefficient / batch)
            aux_act_grads = _at_chosen(aux_grads, p.W_dec, aux_chosen).mul_(aux_acts > 0)
            aux_rows = torch.arange(batch, device=x.device)[:, None].expand_as(aux_chosen)
            chosen = torch.cat([chosen, aux_chosen], 1)
            acts, act_grads = torch.cat([acts, aux_acts], 1), torch.cat([act_grads, aux_act_grads], 1)
            output_rows = torch.cat([rows, aux_rows + batch], 1)
            output_grads_table = torch.cat([output_grads, aux_grads])
            rows = torch.cat([rows, aux_rows], 1)
        else:
            output_rows, output_grads_table = rows, output_grads
        by_latent = _ByLatent(chosen, width)
        p.W_dec.grad = by_latent.sums(acts, output_rows, output_grads_table)
        p.W_enc_T.grad = by_latent.sums(act_grads, rows, centred)
        p.b_enc.grad = torch.zeros_like(p.b_enc).index_add_(0, chosen.flatten(), act_grads.flatten())
        p.b_dec.grad = output_grads.sum(0) - p.b_enc.grad @ p.W_enc_T
        return error

    def step(self, x: torch.Tensor, step: int, log_every: int, lr_factor: float | None = None) -> None:
        """One Adam step on batch `x`, at the schedule's learning rate unless `lr_factor` says."""
        started = time.perf_counter()
        error = self.gradients(x)
        if lr_factor is None:
            lr_factor = _lr_factor(step, self.config.steps)
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr * lr_factor
        self.optimizer.step()
        if step % log_every == 0 or step == self.config.steps - 1:
            self.log.steps.append(step)
            self.log.fvu.append(float(error.pow(2).sum() / (x - x.mean(0)).pow(2).sum()))
        self.log.seconds += time.perf_counter() - started


def train_topk_saes(
    batches: Iterator[torch.Tensor],
    d_in: int,
    configs: Sequence[TopKTraining],
    device: torch.device | str = "cpu",
    log_every: int = 20,
) -> list[tuple[TopKSAE, TrainingLog]]:
    """Train one SAE per config on the same batches of normalised activations (`[batch_size,
    d_in]`, centred, mean squared norm `d_in`), each batch read once for all; the configs must
    share `samples` and `batch_size`. Each SAE's result is what `train_topk_sae` gives it alone."""
    if not configs:
        raise ValueError("no configs to train.")
    if len({(c.samples, c.batch_size) for c in configs}) > 1:
        raise ValueError("SAEs trained together must share samples and batch_size; train them apart.")
    keep_freed_memory()
    device = torch.device(device)
    runs = [_Run(d_in, config, device) for config in configs]
    reading = 0.0
    for step in range(configs[0].steps):
        started = time.perf_counter()
        x = _next_batch(batches, step, (configs[0].batch_size, d_in), device)
        reading += time.perf_counter() - started
        for run in runs:
            run.step(x, step, log_every)
    results = []
    for run in runs:
        run.log.seconds += reading / len(runs)
        results.append(_finished(run, run.config.steps))
    return results


def _next_batch(
    batches: Iterator[torch.Tensor], step: int, shape: tuple[int, int], device: torch.device
) -> torch.Tensor:
    """Batch `step` of `batches` on `device`, refused if the batches ran out or it has another shape."""
    x = next(batches, None)
    if x is None:
        raise ValueError(f"the batches ran out after {step} steps.")
    if x.shape != shape:
        raise ValueError(f"batch {step} has shape {tuple(x.shape)}, not {shape}.")
    return x.to(device)


def _finished(run: _Run, steps: int) -> tuple[TopKSAE, TrainingLog]:
    """A run's SAE and its completed log, after `steps` steps."""
    run.log.samples_per_second = steps * run.config.batch_size / run.log.seconds
    run.log.dead_latents = int((run.since_fired > run.config.dead_after).sum())
    return _as_sae_lens(run.params, run.config), run.log


def train_topk_sae(
    batches: Iterator[torch.Tensor],
    d_in: int,
    config: TopKTraining,
    device: torch.device | str = "cpu",
    log_every: int = 20,
) -> tuple[TopKSAE, TrainingLog]:
    """Train one SAE (see `train_topk_saes`); returns it in normalised units, and its log."""
    return train_topk_saes(batches, d_in, [config], device, log_every)[0]


@dataclass(frozen=True)
class Plateau:
    """When a run's stable phase ends (a warm-up-stable-decay schedule): its FVU on held-out rows is
    read every `every` samples, and the phase ends at the first reading that fell by less than
    `tolerance` (a share of the previous reading), or at the run's `samples`, a cap (the run then
    did not plateau). The learning rate then decays linearly to zero over `decay_share` times the
    stable phase's steps (a quarter: the fixed schedule's last fifth)."""

    every: int
    tolerance: float
    decay_share: float = 0.25

    def __post_init__(self) -> None:
        if self.every <= 0:
            raise ValueError(f"every = {self.every} must be a positive number of samples.")
        if not 0 < self.tolerance < 1:
            raise ValueError(f"tolerance = {self.tolerance} must be a share in (0, 1).")
        if self.decay_share < 0:
            raise ValueError(f"decay_share = {self.decay_share} must be at least 0.")


@dataclass
class PlateauLog:
    """The held-out FVU along a run trained to a plateau, `fvu[i]` after `samples[i]` samples (the
    last reading is after the decay); the stable phase's length, and whether it plateaued before
    the cap."""

    samples: list[int]
    fvu: list[float]
    stable_samples: int
    plateaued: bool


@torch.no_grad()
def _held_out_fvu(run: _Run, held_out: torch.Tensor, chunk: int = 4096) -> float:
    sae = _as_sae_lens(run.params, run.config)
    error = sum(float((x - sae(x)).pow(2).sum()) for x in held_out.split(chunk))
    return error / float((held_out - held_out.mean(0)).pow(2).sum())


def train_topk_sae_to_plateau(
    batches: Iterator[torch.Tensor],
    held_out: torch.Tensor,
    config: TopKTraining,
    plateau: Plateau,
    device: torch.device | str = "cpu",
    log_every: int = 20,
) -> tuple[TopKSAE, TrainingLog, PlateauLog]:
    """Train one SAE as `train_topk_sae` does, but with `plateau`'s schedule: warm-up over the first
    hundredth of `config.steps`, a constant learning rate until the FVU on `held_out` (normalised
    rows the batches never hold) plateaus or `config.samples` is reached, then the decay. Its log's
    seconds are the whole run's, the held-out readings included."""
    started = time.perf_counter()
    keep_freed_memory()
    device = torch.device(device)
    held_out = held_out.to(device)
    shape = (config.batch_size, held_out.shape[1])
    run = _Run(shape[1], config, device)
    warmup, every = max(1, config.steps // 100), max(1, plateau.every // config.batch_size)
    curve = PlateauLog([], [], 0, False)
    step = 0
    while step < config.steps and not curve.plateaued:
        run.step(_next_batch(batches, step, shape, device), step, log_every, min(1.0, (step + 1) / warmup))
        step += 1
        if step % every == 0:
            curve.samples.append(step * config.batch_size)
            curve.fvu.append(_held_out_fvu(run, held_out))
            curve.plateaued = (
                len(curve.fvu) > 1 and curve.fvu[-2] - curve.fvu[-1] < plateau.tolerance * curve.fvu[-2]
            )
    curve.stable_samples = step * config.batch_size
    decay = round(plateau.decay_share * step)
    for i in range(decay):
        run.step(_next_batch(batches, step + i, shape, device), step + i, log_every, (decay - i) / decay)
    curve.samples.append((step + decay) * config.batch_size)
    curve.fvu.append(_held_out_fvu(run, held_out))
    run.log.seconds = time.perf_counter() - started
    return (*_finished(run, step + decay), curve)


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
        sae.W_enc.copy_((params.W_enc_T * norms[:, None]).T)
        sae.b_enc.copy_(params.b_enc * norms)
        sae.b_dec.copy_(params.b_dec)
    return sae
