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

from helpers.true_features import TrueFeatures


class InputProducts(NamedTuple):
    """A batch `x` seen through an SAE's weights, `[instances, batch, ...]`: `decoder` is
    `x W_decᵀ`, `encoder` is `x W_enc` (the same tensor when tied), `bias` is `x · b_dec` and
    `squared_norm` is `|x|^2`."""

    decoder: torch.Tensor
    encoder: torch.Tensor
    bias: torch.Tensor
    squared_norm: torch.Tensor


class ToySAELosses(NamedTuple):
    """Per-instance `mse` and `l1` losses, with the activations, pre-activations and input
    products behind them."""

    mse: torch.Tensor
    l1: torch.Tensor
    h: torch.Tensor
    hidden_pre: torch.Tensor
    products: InputProducts


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

    def per_instance(self, x: torch.Tensor) -> torch.Tensor:
        """`x` as `[instances, batch, d_in]` (a shared `[batch, d_in]` batch is broadcast)."""
        return x.expand(self.n_instances, -1, -1) if x.dim() == 2 else x

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

    def losses(self, x: torch.Tensor, l1_coefficient: float) -> ToySAELosses:
        """sae_lens's standard training losses, one per instance: `mse` (summed over dimensions,
        averaged over the batch) and `l1` (`l1_coefficient * sum_j h_j |W_dec_j|`, averaged; without
        the decoder norms unless `weight_l1_by_decoder_norm`).

        The squared error is expanded in latent space, `|h W_dec + b_dec - x|^2 =
        h G hᵀ + 2 h (W_dec b_dec - W_dec x) + |b_dec - x|^2` with `G = W_dec W_decᵀ`: with a few
        latents that is a fifth of a training step where forming the reconstruction took half."""
        products = self.input_products(x)
        h, hidden_pre = self.encode_with_hidden_pre(x, products)
        gram = self.W_dec @ self.W_dec.transpose(1, 2)
        decoded_bias = (self.W_dec @ self.b_dec[:, :, None]).transpose(1, 2)  # [instances, 1, d_sae]
        latent_terms = (torch.baddbmm(2 * (decoded_bias - products.decoder), h, gram) * h).sum(-1)
        bias_terms = self.b_dec.square().sum(-1, keepdim=True) - 2 * products.bias + products.squared_norm
        weights = (
            self.W_dec.norm(dim=-1) if self.weight_l1_by_decoder_norm else torch.ones_like(self.threshold)
        )
        return ToySAELosses(
            mse=(latent_terms + bias_terms).mean(-1),
            l1=l1_coefficient * (h @ weights[:, :, None]).squeeze(-1).mean(-1),
            h=h,
            hidden_pre=hidden_pre,
            products=products,
        )

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

    def loss(self, step: int, sae: ToySAE, products: InputProducts, hidden_pre: torch.Tensor) -> torch.Tensor:
        """Per-instance auxiliary loss (zero during the delay), from the batch's `products`."""
        ramp = self.ramp(step)
        if ramp == 0.0:
            return torch.zeros(sae.n_instances, device=sae.W_dec.device)
        below = hidden_pre < self.thresholds(step)[:, None, :]
        if not self.schedule.penalise_silent:
            below &= hidden_pre > 0
        # cos(x - b, w) from products with x, never forming x - b: |x - b|^2 = |x|^2 - 2 x.b + |b|^2
        decoded_bias = (sae.W_dec @ sae.b_dec[:, :, None]).transpose(1, 2)
        projections = (products.decoder - decoded_bias) / sae.W_dec.norm(dim=-1)[:, None, :]
        squared_norms = products.squared_norm - 2 * products.bias + sae.b_dec.square().sum(-1, keepdim=True)
        cosines_squared = projections.square() / squared_norms.clamp_min(1e-12)[:, :, None]
        return self.schedule.coefficient * ramp * torch.where(below, cosines_squared, 0.0).sum(-1).mean(-1)


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
    the same batches, after flipping latents that are silent at initialisation. With
    orthogonality and `jump_relu`, the final thresholds stay in `sae`."""
    if sae.W_dec.shape[2] != data.d_model:
        raise ValueError(f"the SAE reads {sae.W_dec.shape[2]} dimensions, the data has {data.d_model}.")
    steps = max(1, samples // batch_size)
    optimizer = torch.optim.Adam(sae.parameters(), lr=lr, fused=True)
    aux = ActivationOrthogonality(orthogonality, sae, steps) if orthogonality else None
    sae.flip_silent_latents(data.sample(batch_size)[0])
    records: dict[str, list[torch.Tensor]] = {"mse": [], "l1": [], "orthogonality": []}
    logged_steps: list[int] = []
    start = time.perf_counter()
    for step in tqdm(range(steps), desc="training toy SAEs", disable=not progress, mininterval=2):
        x, _ = data.sample(batch_size)
        if aux is not None and orthogonality.jump_relu:
            sae.threshold.copy_(aux.thresholds(step))
        mse, l1, h, hidden_pre, products = sae.losses(x, l1_coefficient)
        orth = aux.loss(step, sae, products, hidden_pre) if aux is not None else torch.zeros_like(mse)
        optimizer.zero_grad(set_to_none=True)
        (mse + l1 + orth).sum().backward()
        optimizer.step()
        if aux is not None:
            aux.observe(step, h)
        if step % log_every == 0 or step == steps - 1:
            logged_steps.append(step)
            for name, value in (("mse", mse), ("l1", l1), ("orthogonality", orth)):
                records[name].append(value.detach())
    seconds = time.perf_counter() - start
    return ToySAETrainingLog(logged_steps, *(torch.stack(records[k]) for k in records), seconds)
