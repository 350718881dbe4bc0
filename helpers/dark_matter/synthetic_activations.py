"""Activations whose make-up is known, for testing the error decomposition (dark matter §5, Apps. B-C).

B.1: sparse non-negative sums of orthonormal unit features; a linear probe of `‖x‖²` is perfect for
Bernoulli activations and has a closed-form R² for Poisson ones. B.2: the norm probe of an SAE's own
sparse sums `Sae(x) - b_dec`, read along each decoder direction. §5.2 (App. B.3): clean activations
made of known SAE latents, `x' = Sae(x)`; the rarest latents masked as "not yet learned"; Gaussian
noise planted in the input (standing in for `Dense(x)`) and in the reconstruction (for introduced
error); then the linear / nonlinear split of `helpers.dark_matter.decomposition` is compared with what was
planted. App. C: the same test on sparse sums of random Gaussian directions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from helpers.dark_matter.decomposition import AffineMap, LeastSquares, TokenSplit, fit_affine, r2_score

SWEEP_CHUNK_ROWS = 2048


class SeedStreams:
    """One seed per named experiment, all drawn from `seed`, so that resizing one experiment leaves
    the others' random draws unchanged."""

    def __init__(self, seed: int, names: Sequence[str]):
        states = np.random.SeedSequence(seed).generate_state(len(names)).tolist()
        self.seeds: dict[str, int] = dict(zip(names, states, strict=True))

    def generator(self, name: str) -> torch.Generator:
        """A torch generator at the start of `name`'s stream (each call starts it afresh)."""
        return torch.Generator().manual_seed(self.seeds[name])


# --- App. B.1: orthogonal features --------------------------------------------------------------


def orthonormal_features(n_features: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    """`n_features` orthonormal unit vectors in `dim` dimensions, as the rows of a float64 matrix,
    uniformly random (QR of a Gaussian matrix with the signs fixed)."""
    if not 0 < n_features <= dim:
        raise ValueError(f"{n_features} orthonormal features do not fit in {dim} dimensions.")
    q, r = torch.linalg.qr(torch.randn(dim, n_features, generator=generator, dtype=torch.float64))
    return (q * torch.sign(torch.diagonal(r))).T


def bernoulli_activations(
    n_samples: int, scales: torch.Tensor, probability: float, generator: torch.Generator
) -> torch.Tensor:
    """`[n_samples, n_features]`: feature i is `scales[i]` with probability `probability`, else 0,
    independently."""
    if not 0 < probability < 1:
        raise ValueError(f"probability = {probability!r} must be strictly between 0 and 1.")
    active = torch.rand(n_samples, len(scales), generator=generator, dtype=torch.float64) < probability
    return active * scales.double()


def poisson_activations(n_samples: int, rates: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """`[n_samples, n_features]`: feature i is a Poisson count with rate `rates[i]`, independently."""
    if not bool((rates > 0).all()):
        raise ValueError("Poisson rates must be positive.")
    return torch.poisson(rates.double().expand(n_samples, len(rates)), generator=generator)


def poisson_probe_weights(rates: torch.Tensor) -> torch.Tensor:
    """The best probe of `‖x‖²` along each orthonormal feature with Poisson(λ) activations:
    `Cov(a², a) / Var(a) = 2λ + 1` (App. B.1)."""
    return 2 * rates.double() + 1


def poisson_norm_probe_r2(rates: torch.Tensor) -> float:
    """R² of the best linear probe of `‖x‖²` when x sums orthonormal features with independent
    Poisson(λ_i) activations: per feature the probe leaves `Var(a²) - Cov(a², a)²/Var(a) = 2λ²` of
    `Var(a²) = 4λ³ + 6λ² + λ` unexplained, so `R² = 1 - Σ 2λ² / Σ (4λ³ + 6λ² + λ)`; with equal rates,
    `(2λ + 1)² / (4λ² + 6λ + 1)`."""
    rates = rates.double()
    return float(1 - (2 * rates**2).sum() / (4 * rates**3 + 6 * rates**2 + rates).sum())


@dataclass(frozen=True)
class NormProbe:
    """A linear probe of `‖x‖²` from x (Eq. 2), fitted on a split's training tokens; `r2` on its test
    tokens."""

    probe: AffineMap
    r2: float

    @property
    def direction(self) -> torch.Tensor:
        """The probe vector `p` of `‖x‖² ≈ p·x + c`."""
        return self.probe.weight[:, 0]


def fit_norm_probe(x: torch.Tensor, split: TokenSplit) -> NormProbe:
    """Fit `‖x‖² ≈ p·x + c` on `split.train` (row indices of x) and score it on `split.test`."""
    target = x.double().pow(2).sum(-1)
    train, test = torch.from_numpy(split.train), torch.from_numpy(split.test)
    probe = fit_affine(x[train], target[train])
    return NormProbe(probe, r2_score(target[test], probe(x[test]).squeeze(-1)))


# --- App. B.2: the norm probe of an SAE's sparse sums ---------------------------------------------


@dataclass(frozen=True)
class DecoderAlignment:
    """App. B.2 per latent: the norm probe of `y = Sae(x) - b_dec` dotted with the latent's unit
    decoder direction, and the latent's mean activation when active, in units of that direction
    (`a·‖d‖`), over the probe's training tokens (NaN where it never fired there). `r2` is the
    probe's; `summed_probe_r2` is that of §5.1's guess for it, the unit decoder directions weighted
    by the mean active activations, fitted as `‖y‖² ≈ summed_probe_scale · (Σ_i s_i d̂_i)·y + c`.
    `own_square_share` is the share of `Σ‖y‖²` (over all tokens) made by the latents' own squares
    `Σ_i (a_i‖d_i‖)²`: 1 for orthogonal decoder rows, less where co-firing latents overlap."""

    probe_along_decoder: np.ndarray
    mean_active_activation: np.ndarray
    firings: np.ndarray
    r2: float
    summed_probe_r2: float
    summed_probe_scale: float
    own_square_share: float

    @property
    def fired(self) -> np.ndarray:
        return self.firings > 0

    @property
    def correlation(self) -> float:
        """Pearson correlation of the two over the latents that fired."""
        return float(
            np.corrcoef(self.probe_along_decoder[self.fired], self.mean_active_activation[self.fired])[0, 1]
        )

    @property
    def median_ratio(self) -> float:
        """Median over the latents that fired of probe-along-decoder / mean active activation."""
        return float(
            np.median(self.probe_along_decoder[self.fired] / self.mean_active_activation[self.fired])
        )


@torch.no_grad()
def decoder_probe_alignment(
    latents: torch.Tensor, decoder: torch.Tensor, split: TokenSplit
) -> DecoderAlignment:
    """Probe `‖y‖²` from `y = latents @ decoder` (an SAE's reconstruction without `b_dec`) and
    compare the probe along each unit decoder row with that latent's mean active activation; score
    the sum of unit decoder rows weighted by those activations as a probe too."""
    row_norms = decoder.norm(dim=-1).double()
    units = decoder.double() / row_norms[:, None]
    y = (latents @ decoder).double()
    probe = fit_norm_probe(y, split)
    train, test = torch.from_numpy(split.train), torch.from_numpy(split.test)
    train_activations = latents[train].double() * row_norms
    firings = (train_activations > 0).sum(0)
    mean_active = train_activations.sum(0) / firings  # 0/0 = NaN for latents that never fired
    summed = y @ (torch.nan_to_num(mean_active) @ units)
    norm = y.pow(2).sum(-1)
    scalar = fit_affine(summed[train], norm[train])
    return DecoderAlignment(
        probe_along_decoder=(units @ probe.direction).cpu().numpy(),
        mean_active_activation=mean_active.cpu().numpy(),
        firings=firings.cpu().numpy(),
        r2=probe.r2,
        summed_probe_r2=r2_score(norm[test], scalar(summed[test, None]).squeeze(-1)),
        summed_probe_scale=float(scalar.weight),
        own_square_share=float((latents.pow(2) @ row_norms.to(latents).pow(2)).double().sum() / norm.sum()),
    )


# --- §5.2 / App. B.3: planted noise and masked latents --------------------------------------------


def rarest_first_keep_masks(mean_activation: torch.Tensor, shares: Sequence[float]) -> torch.Tensor:
    """`[len(shares), width]` booleans: for each share s, every latent is kept but the `round(s·width)`
    with the smallest mean activation (the ones an SAE would learn last), masked as not yet learned."""
    if not shares or not all(0 <= s < 1 for s in shares):
        raise ValueError(f"mask shares {tuple(shares)} must be non-empty and each in [0, 1).")
    order = torch.argsort(mean_activation.cpu(), stable=True)
    keep = torch.ones(len(shares), len(mean_activation), dtype=torch.bool)
    for row, share in enumerate(shares):
        keep[row, order[: round(share * len(mean_activation))]] = False
    return keep.to(mean_activation.device)


@torch.no_grad()
def masked_reconstructions(
    latents: torch.Tensor, decode: Callable[[torch.Tensor], torch.Tensor], keep: torch.Tensor
) -> torch.Tensor:
    """`[n_masks, n, d]`: `decode(latents * mask)` for each row of `keep`."""
    return torch.stack([decode(latents * mask) for mask in keep])


def noise_levels(clean: torch.Tensor, n_levels: int, max_variance_share: float) -> np.ndarray:
    """`n_levels` standard deviations evenly from 0 to σ_max, where isotropic Gaussian noise of
    standard deviation σ_max carries `max_variance_share` of `clean`'s total variance
    (`σ_max² · d = share · Σ_j Var(x_j)`)."""
    if n_levels < 2 or max_variance_share <= 0:
        raise ValueError("noise levels need at least two levels and a positive variance share.")
    total_variance = float(clean.double().var(dim=0).sum())
    return np.linspace(0.0, (max_variance_share * total_variance / clean.shape[1]) ** 0.5, n_levels)


@dataclass(frozen=True)
class NoiseSweep:
    """The error decomposition of noised synthetic activations over a grid: input noise level ×
    reconstruction noise level × mask share (axes in that order). With `x̃` the noised input, `r̃` the
    noised reconstruction and `b` the least-squares map from `x̃` to `x̃ - r̃`, on the test tokens:
    `fvu_reconstruction = FVU(x̃, r̃)` and `fvu_nonlinear = FVU(x̃, r̃ + b(x̃))`."""

    levels: np.ndarray
    mask_shares: np.ndarray
    fvu_reconstruction: np.ndarray
    fvu_nonlinear: np.ndarray

    @property
    def estimated_introduced(self) -> np.ndarray:
        """The nonlinear error's share of variance: the estimate of introduced error (and Dense)."""
        return self.fvu_nonlinear

    @property
    def estimated_dense(self) -> np.ndarray:
        """The linearly predictable share of variance: `FVU(x̃, r̃) - FVU(x̃, r̃ + b(x̃))`."""
        return self.fvu_reconstruction - self.fvu_nonlinear

    def noise_correlations(self, mask_index: int = 0) -> np.ndarray:
        """Table 1: Pearson correlations over the noise grid at one mask share; rows input and
        reconstruction noise level, columns estimated Dense and estimated Introduced."""
        input_level, reconstruction_level = np.meshgrid(self.levels, self.levels, indexing="ij")
        planted = (input_level.ravel(), reconstruction_level.ravel())
        estimated = (
            self.estimated_dense[..., mask_index].ravel(),
            self.estimated_introduced[..., mask_index].ravel(),
        )
        return np.array([[np.corrcoef(p, e)[0, 1] for e in estimated] for p in planted])

    def nonlinear_drift(self) -> np.ndarray:
        """`[input level, reconstruction level]`: the largest departure of `FVU(x̃, r̃ + b(x̃))` from
        its value at the first mask share, as a share of the rise of `FVU(x̃, r̃)` from the first to
        the last: near 0 when masked latents all land in the linear part (a flat line)."""
        departure = np.abs(self.fvu_nonlinear - self.fvu_nonlinear[..., :1]).max(axis=-1)
        return departure / (self.fvu_reconstruction[..., -1] - self.fvu_reconstruction[..., 0])


def _chunks(rows: np.ndarray, device: torch.device) -> list[torch.Tensor]:
    step = SWEEP_CHUNK_ROWS
    return [torch.from_numpy(rows[i : i + step]).to(device) for i in range(0, len(rows), step)]


def _squared_norm_in_sigma(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`Σ‖a - σ·b‖²` as the coefficients of a quadratic in σ, highest power first."""
    return torch.stack([b.pow(2).sum(), -2 * (a * b).sum(), a.pow(2).sum()])


@torch.no_grad()
def planted_noise_sweep(
    clean: torch.Tensor,
    reconstructions: torch.Tensor,
    levels: np.ndarray,
    mask_shares: Sequence[float],
    split: TokenSplit,
    generator: torch.Generator,
) -> NoiseSweep:
    """Run the §5.2 test on every (input σ, reconstruction σ, mask) of the grid: `x̃ = clean + σ_in·z`,
    `r̃ = reconstructions[m] + σ_rec·z'`, with one seeded pair of standard Gaussian draws `z, z'`.

    Least squares is linear in its target, so each input level needs one multi-output fit, from `x̃`
    to `[x̃, r_1, ..., r_M, z']`: the map `b` from `x̃` to `x̃ - r̃` for any mask and σ_rec is the
    matching combination of its columns, exactly what a separate fit would give. Both residuals,
    `x̃ - r̃` and `x̃ - r̃ - b(x̃)`, have the form `u - σ_rec·v`, so their sums of squares over the test
    tokens are quadratics in σ_rec, accumulated once per mask."""
    n_masks, n, d = reconstructions.shape
    if clean.shape != (n, d) or n_masks != len(mask_shares):
        raise ValueError(
            f"clean {tuple(clean.shape)}, reconstructions {tuple(reconstructions.shape)} and "
            f"{len(mask_shares)} mask shares do not match."
        )
    input_noise = torch.randn(n, d, generator=generator).to(clean.device)
    reconstruction_noise = torch.randn(n, d, generator=generator).to(clean.device)
    shape = (len(levels), len(levels), n_masks)
    fvu_reconstruction, fvu_nonlinear = np.empty(shape), np.empty(shape)
    train_chunks, test_chunks = _chunks(split.train, clean.device), _chunks(split.test, clean.device)
    for i, sigma_in in enumerate(levels):
        solver = LeastSquares(clean.device)
        for rows in train_chunks:
            noised = clean[rows] + sigma_in * input_noise[rows]
            solver.add(
                noised, torch.cat([noised, *reconstructions[:, rows], reconstruction_noise[rows]], dim=-1)
            )
        probe = solver.solve()
        total, total_squares = 0.0, 0.0
        squares = torch.zeros(2, n_masks, 3, dtype=torch.float64, device=clean.device)
        for rows in test_chunks:
            noised = (clean[rows] + sigma_in * input_noise[rows]).double()
            predicted = probe(noised).view(len(rows), n_masks + 2, d)
            z = reconstruction_noise[rows].double()
            unexplained_noise = z - predicted[:, -1]
            for m in range(n_masks):
                gap = noised - reconstructions[m, rows].double()
                squares[0, m] += _squared_norm_in_sigma(gap, z)
                squares[1, m] += _squared_norm_in_sigma(
                    gap - predicted[:, 0] + predicted[:, 1 + m], unexplained_noise
                )
            total, total_squares = total + noised.sum(0), total_squares + noised.pow(2).sum()
        variance = float(total_squares - total.pow(2).sum() / len(split.test))
        polynomials = squares.cpu().numpy()
        for j, sigma_rec in enumerate(levels):
            fvu_reconstruction[i, j] = [np.polyval(c, sigma_rec) / variance for c in polynomials[0]]
            fvu_nonlinear[i, j] = [np.polyval(c, sigma_rec) / variance for c in polynomials[1]]
    levels = np.asarray(levels, dtype=float)
    return NoiseSweep(levels, np.asarray(mask_shares, dtype=float), fvu_reconstruction, fvu_nonlinear)


# --- App. C: random directions ------------------------------------------------------------------


def power_law_frequencies(n_vectors: int, mean_l0: float, exponent: float) -> torch.Tensor:
    """Firing probabilities `p_i = min(1, c·(i+1)^-exponent)`, most frequent first, with `c` set
    (by bisection) so that `Σ p_i = mean_l0`, the expected number of active vectors."""
    if not 0 < mean_l0 < n_vectors:
        raise ValueError(f"mean L0 {mean_l0} must be positive and below the {n_vectors} vectors.")
    decay = torch.arange(1, n_vectors + 1, dtype=torch.float64) ** -exponent
    low, high = 0.0, float(n_vectors) ** exponent
    for _ in range(100):
        scale = (low + high) / 2
        low, high = (scale, high) if float((scale * decay).clamp(max=1).sum()) < mean_l0 else (low, scale)
    return (high * decay).clamp(max=1)


def random_unit_vectors(n_vectors: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    """`[n_vectors, dim]`: independent Gaussian directions scaled to unit norm."""
    vectors = torch.randn(n_vectors, dim, generator=generator)
    return vectors / vectors.norm(dim=-1, keepdim=True)


def power_law_activations(
    n_samples: int, frequencies: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """`[n_samples, n_vectors]` non-negative activations: vector i is active with probability
    `frequencies[i]`, with an Exponential(1) magnitude when it is."""
    active = torch.rand(n_samples, len(frequencies), generator=generator) < frequencies.float()
    return active * torch.empty(n_samples, len(frequencies)).exponential_(generator=generator)
