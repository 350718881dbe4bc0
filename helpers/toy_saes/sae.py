"""Sparse autoencoders on toy data, many at once, tied or untied (Chanin et al., "Broken Latents").

`ToySAE` is sae_lens's standard architecture, `h = act(W_enc (x - b_dec) + b_enc)`,
`x_hat = W_dec h + b_dec`, with its training loss (MSE summed over dimensions plus an L1 penalty
weighted by each latent's decoder norm) and its initialisation (encoder = decoder transpose).
It adds two things sae_lens lacks: a leading instance dimension, so that several seeds train as
one set of tensors on the same batches, and the *tied* variant (`W_enc = W_dec^T`, `b_enc = 0`).

A tied SAE's L1 is not weighted by decoder norms by default. With tied weights a latent's
activation and its decoder scale together, so there is no scale to cheat with, and the weighting
would make splitting a latent into copies free: two copies along `u` with norms `n1`, `n2`
reconstruct `(n1^2 + n2^2)(u.x)u` at an L1 cost of `(n1^2 + n2^2)|u.x|`, the same as one. The
plain L1, `(n1 + n2)|u.x|`, makes copies cost more, so a tied SAE kills its spare latents.
`act` is a ReLU, or a JumpReLU once `threshold` is set. Any instance exports to a sae_lens `SAE`
(`to_sae_lens`), and tests check the two agree.

sae_lens's own `SAETrainer` trains one SAE at a time with sae_lens's own losses; the tied variant
and the activation-orthogonality loss need a training step of their own, and training every seed
on shared batches is faster too (`make bench` compares the two).
`ActivationOrthogonality` is the post's fix for broken latents.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

import torch
from sae_lens.saes.jumprelu_sae import JumpReLUSAE, JumpReLUSAEConfig
from sae_lens.saes.sae import SAE
from sae_lens.saes.standard_sae import StandardSAE, StandardSAEConfig
from torch import nn
from tqdm import tqdm

from helpers.toy_saes.true_features import TrueFeatures


class InputProducts(NamedTuple):
    """A batch `x` seen through an SAE's weights, `[instances, batch, ...]`: `decoder` is
    `x W_decᵀ`, `encoder` is `x W_enc` (the same tensor when tied), `bias` is `x · b_dec` and
    `squared_norm` is `|x|^2`."""

    decoder: torch.Tensor
    encoder: torch.Tensor
    bias: torch.Tensor
    squared_norm: torch.Tensor


class ToySAELosses(NamedTuple):
    """Per-instance `mse`, `l1` and `orthogonality` losses, and the activations `h` behind them."""

    mse: torch.Tensor
    l1: torch.Tensor
    orthogonality: torch.Tensor
    h: torch.Tensor


class OrthogonalityPenalty(NamedTuple):
    """The activation-orthogonality loss at one step: `scale` (lambda times the warm-up ramp),
    `thresholds` `[instances, d_sae]` and whether silent samples count as below them."""

    scale: float
    thresholds: torch.Tensor
    penalise_silent: bool


class ToySAE(nn.Module):
    """`n_instances` independent SAEs of `d_sae` latents on `d_in`-dimensional inputs.

    Shapes follow sae_lens: `W_dec` is `[instances, d_sae, d_in]`, `W_enc` `[instances, d_in, d_sae]`.
    Inputs are `[batch, d_in]` (every instance sees the same batch) or `[instances, batch, d_in]`.
    """

    def __init__(
        self,
        n_instances: int,
        d_in: int,
        d_sae: int,
        tied: bool,
        generator: torch.Generator | None = None,
        decoder_init_norm: float = 0.1,
        weight_l1_by_decoder_norm: bool | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__()
        self.tied = tied
        self.weight_l1_by_decoder_norm = (
            not tied if weight_l1_by_decoder_norm is None else weight_l1_by_decoder_norm
        )
        directions = torch.randn(n_instances, d_sae, d_in, generator=generator).to(device)
        self.W_dec = nn.Parameter(directions / directions.norm(dim=-1, keepdim=True) * decoder_init_norm)
        self.b_dec = nn.Parameter(torch.zeros(n_instances, d_in, device=device))
        if tied:
            self.register_parameter("W_enc_free", None)
            self.register_parameter("b_enc_free", None)
        else:
            self.W_enc_free = nn.Parameter(self.W_dec.detach().transpose(1, 2).clone())
            self.b_enc_free = nn.Parameter(torch.zeros(n_instances, d_sae, device=device))
        self.register_buffer("threshold", torch.zeros(n_instances, d_sae, device=device))

    @property
    def n_instances(self) -> int:
        return self.W_dec.shape[0]

    @property
    def d_sae(self) -> int:
        return self.W_dec.shape[1]

    @property
    def W_enc(self) -> torch.Tensor:
        return self.W_dec.transpose(1, 2) if self.tied else self.W_enc_free

    @property
    def b_enc(self) -> torch.Tensor:
        return torch.zeros_like(self.threshold) if self.tied else self.b_enc_free

    def input_products(self, x: torch.Tensor) -> InputProducts:
        """Everything the encoder and the losses read from `x`, in one matmul (one `bmm` when
        each instance has its own batch): the latents are few, so nothing of size
        `[instances, batch, d_in]` is ever formed."""
        matrices = [self.W_dec.transpose(1, 2), self.b_dec[:, :, None]]
        if not self.tied:
            matrices.append(self.W_enc_free)
        stacked = torch.cat(matrices, dim=2)  # [instances, d_in, columns]
        if x.dim() == 2:
            n_instances, d_in, columns = stacked.shape
            flat = x @ stacked.permute(1, 0, 2).reshape(d_in, n_instances * columns)
            products = flat.view(x.shape[0], n_instances, columns).transpose(0, 1)
            squared_norm = x.square().sum(-1).expand(n_instances, -1)
        else:
            products = torch.bmm(x, stacked)
            squared_norm = x.square().sum(-1)
        decoder = products[..., : self.d_sae]
        encoder = decoder if self.tied else products[..., self.d_sae + 1 :]
        return InputProducts(decoder, encoder, products[..., self.d_sae], squared_norm)

    def encode_with_hidden_pre(
        self, x: torch.Tensor, products: InputProducts | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent activations and pre-activations, `[instances, batch, d_sae]` each: the
        pre-activations `(x - b_dec) W_enc + b_enc` are `x W_enc + (b_enc - b_dec W_enc)`."""
        products = self.input_products(x) if products is None else products
        offset = self.b_enc - (self.b_dec[:, None, :] @ self.W_enc).squeeze(1)
        hidden_pre = products.encoder + offset[:, None, :]
        # thresholds are never negative, so this is ReLU, or JumpReLU once thresholds are set
        return torch.where(hidden_pre > self.threshold[:, None, :], hidden_pre, 0.0), hidden_pre

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_with_hidden_pre(x)[0]

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.b_dec[:, None, :], h, self.W_dec)

    def losses(
        self, x: torch.Tensor, l1_coefficient: float, penalty: OrthogonalityPenalty | None = None
    ) -> ToySAELosses:
        """sae_lens's standard training losses, one per instance: `mse` (summed over dimensions,
        averaged over the batch) and `l1` (`l1_coefficient * sum_j h_j |W_dec_j|`, averaged; without
        the decoder norms unless `weight_l1_by_decoder_norm`); and the activation-orthogonality
        loss under `penalty` (zero without one)."""
        return self._losses_and_gradients(x, l1_coefficient, penalty, with_gradients=False)

    @torch.no_grad()
    def set_gradients(
        self, x: torch.Tensor, l1_coefficient: float, penalty: OrthogonalityPenalty | None = None
    ) -> ToySAELosses:
        """Write the gradient of the summed per-instance losses on `x` into `.grad` (closed
        form); return the losses."""
        return self._losses_and_gradients(x, l1_coefficient, penalty, with_gradients=True)

    def _losses_and_gradients(
        self,
        x: torch.Tensor,
        l1_coefficient: float,
        penalty: OrthogonalityPenalty | None,
        with_gradients: bool,
    ) -> ToySAELosses:
        """The losses, in latent space, and with `with_gradients` their gradients in closed form.

        With `e = h W_dec + b - x` the error and `G = W_dec W_decᵀ`, `|e|^2 = h G hᵀ +
        2 h (W_dec b - W_dec x) + |b - x|^2`, and `e W_decᵀ = h G + W_dec b - W_dec x`: every
        `[instances, batch, ·]` tensor has one column per latent, and every product with `x` is
        one matmul (`input_products` going in, `_transposed_products` coming back). Autograd over
        the same latent-space losses took a quarter more time per step, and autograd over the
        losses as written (reconstruction formed) half as much again."""
        W_dec, b_dec, batch = self.W_dec, self.b_dec, x.shape[-2]
        products = self.input_products(x)
        h, hidden_pre = self.encode_with_hidden_pre(x, products)
        active = h != 0
        decoded_bias = (W_dec @ b_dec[:, :, None]).transpose(1, 2)  # [instances, 1, d_sae]
        centred_decoder = products.decoder - decoded_bias  # (x - b) W_decᵀ
        error_in_latents = torch.baddbmm(-centred_decoder, h, W_dec @ W_dec.transpose(1, 2))  # e W_decᵀ
        centred_norm = products.squared_norm - 2 * products.bias + b_dec.square().sum(-1, keepdim=True)
        mse = ((h * (error_in_latents - centred_decoder)).sum(-1) + centred_norm).mean(-1)
        row_norms = W_dec.norm(dim=-1)
        weights = row_norms if self.weight_l1_by_decoder_norm else torch.ones_like(row_norms)
        h_sum = h.sum(1)
        l1 = l1_coefficient * (h_sum * weights).sum(-1) / batch
        orthogonality = torch.zeros_like(mse)
        if penalty is not None:
            below = hidden_pre < penalty.thresholds[:, None, :]
            if not penalty.penalise_silent:
                below &= hidden_pre > 0
            # cos(x - b, w_j)^2 = ((x - b) w_jᵀ)^2 / (|x - b|^2 |w_j|^2)
            squared_row_norms = row_norms.square()[:, None, :]
            scaled = centred_decoder / (squared_row_norms * centred_norm.clamp_min(1e-12)[:, :, None])
            penalised = torch.where(below, centred_decoder * scaled, 0.0)  # cos^2 where penalised
            orthogonality = penalty.scale * penalised.sum((1, 2)) / batch
        losses = ToySAELosses(mse, l1, orthogonality, h)
        if not with_gradients:
            return losses

        # d/dh of the batch-mean losses, then through the (Jump)ReLU to the pre-activations
        d_pre = torch.where(
            active,
            error_in_latents.mul(2.0 / batch).add_(weights[:, None, :], alpha=l1_coefficient / batch),
            0.0,
        )
        columns = [h, d_pre]
        if penalty is not None:
            d_projection = torch.where(below, scaled, 0.0).mul_(2 * penalty.scale / batch)
            d_squared_norm = penalised.sum(-1, keepdim=True).div_(centred_norm.clamp_min(1e-12)[:, :, None])
            columns += [d_projection, d_squared_norm.mul_(2 * penalty.scale / batch)]
        h_x, d_pre_x, *penalty_x = self._transposed_products(x, torch.cat(columns, dim=-1)).split(
            [self.d_sae, self.d_sae] + ([self.d_sae, 1] if penalty is not None else []), dim=1
        )
        x_sum = x.sum(-2) if x.dim() == 3 else x.sum(0).expand(self.n_instances, -1)
        d_pre_sum = d_pre.sum(1)
        d_W_enc = (d_pre_x - d_pre_sum[:, :, None] * b_dec[:, None, :]).transpose(1, 2)
        # the MSE's: (2/B)[(hᵀh) W_dec + (sum h) bᵀ - hᵀx], then the L1's through decoder norms
        d_W_dec = torch.baddbmm(h_sum[:, :, None] * b_dec[:, None, :] - h_x, h.transpose(1, 2) @ h, W_dec)
        d_W_dec.mul_(2.0 / batch)
        d_b_dec = (
            torch.baddbmm((batch * b_dec - x_sum)[:, None, :], h_sum[:, None, :], W_dec).squeeze(1)
        ) * (2.0 / batch)
        d_b_dec -= (self.W_enc @ d_pre_sum[:, :, None]).squeeze(-1)
        if self.weight_l1_by_decoder_norm:
            d_W_dec += (l1_coefficient / batch) * (h_sum / row_norms)[:, :, None] * W_dec
        if penalty is not None:
            # each penalised cos^2 = p^2 / (r |w|^2), p = (x - b) wᵀ, r = |x - b|^2
            projection_x, squared_norm_x = penalty_x
            d_projection_sum = d_projection.sum(1)
            d_W_dec += projection_x - d_projection_sum[:, :, None] * b_dec[:, None, :]
            d_W_dec -= (
                (penalty.scale * 2 / batch) * (penalised.sum(1) / row_norms.square())[:, :, None] * W_dec
            )
            d_b_dec -= (d_projection_sum[:, None, :] @ W_dec).squeeze(1)
            d_b_dec += squared_norm_x.squeeze(1) - d_squared_norm.sum(1) * b_dec
        if self.tied:
            d_W_dec += d_W_enc.transpose(1, 2)
        else:
            self.W_enc_free.grad = d_W_enc
            self.b_enc_free.grad = d_pre_sum
        self.W_dec.grad, self.b_dec.grad = d_W_dec, d_b_dec
        return losses

    def _transposed_products(self, x: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """`columnsᵀ x` per instance, `[instances, columns, d_in]`, for `columns`
        `[instances, batch, c]`: one matmul when the batch is shared."""
        if x.dim() == 3:
            return columns.transpose(1, 2) @ x
        n_instances, batch, width = columns.shape
        flat = columns.transpose(0, 1).reshape(batch, n_instances * width).T @ x
        return flat.view(n_instances, width, -1)

    @torch.no_grad()
    def flip_silent_latents(self, x: torch.Tensor) -> int:
        """Point latents that no input in `x` activates the other way; returns how many.

        With `b_enc = 0` at the start, a latent whose direction has a negative overlap with every
        true feature (1 in 16 with four features) never fires and so never gets a gradient: it
        would be dead from initialisation, which is not the effect under study."""
        silent = ~(self.encode(x) > 0).any(dim=1)
        sign = 1.0 - 2.0 * silent.float()
        self.W_dec.mul_(sign[:, :, None])
        if not self.tied:
            self.W_enc_free.mul_(sign[:, None, :])
        return int(silent.sum())

    def to_sae_lens(self, instance: int) -> SAE:
        """Instance `instance` as a sae_lens inference SAE (JumpReLU when a threshold is set)."""
        d_sae, d_in = self.W_dec.shape[1:]
        jump = bool((self.threshold[instance] > 0).any())
        config_class, sae_class = (
            (JumpReLUSAEConfig, JumpReLUSAE) if jump else (StandardSAEConfig, StandardSAE)
        )
        sae = sae_class(config_class(d_in=d_in, d_sae=d_sae))
        weights = {
            "W_enc": self.W_enc[instance],
            "b_enc": self.b_enc[instance],
            "W_dec": self.W_dec[instance],
            "b_dec": self.b_dec[instance],
        }
        if jump:
            weights["threshold"] = self.threshold[instance]
        sae.load_state_dict({name: value.detach().cpu().clone() for name, value in weights.items()})
        return sae


@dataclass(frozen=True)
class OrthogonalitySchedule:
    """The post's activation-orthogonality loss: `coefficient` (lambda), the running-max window in
    batches, `tau_j = threshold_fraction * max`, and the delay and linear warm-up of both the
    loss and the threshold as shares of training. `jump_relu` also zeroes activations below tau.

    The post penalises samples where "the latent activation is less than the threshold"; with
    `penalise_silent` (the default) that includes samples where the latent does not fire at all,
    otherwise only weak non-zero firings count. The second reading lets a latent dodge the penalty
    by growing negative components that silence it, and reproduces the post much less well
    (`activation_orthogonality` compares the two)."""

    coefficient: float = 10_000.0
    window: int = 50
    threshold_fraction: float = 0.7
    delay_share: float = 1 / 3
    warmup_share: float = 1 / 3
    jump_relu: bool = False
    penalise_silent: bool = True

    def __post_init__(self) -> None:
        if self.coefficient < 0 or self.window < 1 or not 0 < self.threshold_fraction < 1:
            raise ValueError("need coefficient >= 0, window >= 1 and 0 < threshold_fraction < 1.")
        if self.delay_share < 0 or self.warmup_share < 0 or self.delay_share + self.warmup_share > 1:
            raise ValueError("delay_share and warmup_share must be >= 0 and together at most 1.")


class ActivationOrthogonality:
    """State of the activation-orthogonality loss during one training run.

    For each latent `j`, the running max of its activation over the last `window` batches sets
    `tau_j`; on every sample where the latent's activation is below `tau_j` (silent samples
    included unless the schedule says otherwise), the loss adds
    `coefficient * cos(x - b_dec, W_dec_j)^2`, averaged over the batch and summed over latents.
    """

    def __init__(self, schedule: OrthogonalitySchedule, sae: ToySAE, total_steps: int) -> None:
        self.schedule = schedule
        self.recent_max = torch.zeros(schedule.window, sae.n_instances, sae.d_sae, device=sae.W_dec.device)
        self.delay = round(schedule.delay_share * total_steps)
        self.warmup = round(schedule.warmup_share * total_steps)

    def ramp(self, step: int) -> float:
        """0 during the delay, then rising linearly to 1 over the warm-up."""
        if step < self.delay:
            return 0.0
        return 1.0 if self.warmup == 0 else min(1.0, (step - self.delay + 1) / self.warmup)

    def thresholds(self, step: int) -> torch.Tensor:
        """`tau` `[instances, d_sae]` at `step`."""
        return self.schedule.threshold_fraction * self.ramp(step) * self.recent_max.amax(dim=0)

    def observe(self, step: int, h: torch.Tensor) -> None:
        self.recent_max[step % self.schedule.window] = h.detach().amax(dim=1)

    def penalty(self, step: int) -> OrthogonalityPenalty | None:
        """The loss at `step` for `ToySAE.losses`; None during the delay."""
        ramp = self.ramp(step)
        if ramp == 0.0:
            return None
        return OrthogonalityPenalty(
            self.schedule.coefficient * ramp, self.thresholds(step), self.schedule.penalise_silent
        )


@dataclass
class ToySAETrainingLog:
    """Per-instance losses every `log_every` steps (`[records, instances]` each) and wall time."""

    steps: list[int]
    mse: torch.Tensor
    l1: torch.Tensor
    orthogonality: torch.Tensor
    seconds: float


def train_toy_saes(
    sae: ToySAE,
    data: TrueFeatures,
    *,
    samples: int,
    batch_size: int,
    lr: float,
    l1_coefficient: float,
    orthogonality: OrthogonalitySchedule | None = None,
    log_every: int = 100,
    progress: bool = True,
) -> ToySAETrainingLog:
    """Adam on the sum over instances of MSE + L1 (+ the orthogonality loss), every instance on
    the same batches (drawn many at a time), after flipping latents that are silent at
    initialisation. With orthogonality and `jump_relu`, the final thresholds stay in `sae`."""
    if sae.W_dec.shape[2] != data.d_model:
        raise ValueError(f"the SAE reads {sae.W_dec.shape[2]} dimensions, the data has {data.d_model}.")
    steps = max(1, samples // batch_size)
    optimizer = torch.optim.Adam(sae.parameters(), lr=lr, fused=True)
    aux = ActivationOrthogonality(orthogonality, sae, steps) if orthogonality else None
    sae.flip_silent_latents(data.sample(batch_size)[0])
    records: dict[str, list[torch.Tensor]] = {"mse": [], "l1": [], "orthogonality": []}
    logged_steps: list[int] = []
    start = time.perf_counter()
    batches = data.batches(batch_size, steps)
    for step in tqdm(range(steps), desc="training toy SAEs", disable=not progress, mininterval=2):
        x = next(batches)
        if aux is not None and orthogonality.jump_relu:
            sae.threshold.copy_(aux.thresholds(step))
        losses = sae.set_gradients(x, l1_coefficient, aux.penalty(step) if aux is not None else None)
        optimizer.step()
        if aux is not None:
            aux.observe(step, losses.h)
        if step % log_every == 0 or step == steps - 1:
            logged_steps.append(step)
            for name in records:
                records[name].append(getattr(losses, name))
    seconds = time.perf_counter() - start
    return ToySAETrainingLog(logged_steps, *(torch.stack(records[k]) for k in records), seconds)
