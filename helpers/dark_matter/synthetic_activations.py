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

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from helpers.book.intervals import Estimate, resample_counts
from helpers.dark_matter.decomposition import (
    AffineMap,
    ExplainedVariance,
    LeastSquares,
    TokenSplit,
    fit_affine,
    fvu,
    r2_score,
    split_by_context,
)

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
    tokens, and `score` the sums behind it, kept per block of test tokens (see `fit_norm_probe`)."""

    probe: AffineMap
    r2: float
    score: ExplainedVariance | None = None

    @property
    def direction(self) -> torch.Tensor:
        """The probe vector `p` of `‖x‖² ≈ p·x + c`."""
        return self.probe.weight[:, 0]


def fit_norm_probe(x: torch.Tensor, split: TokenSplit, blocks: int = 1) -> NormProbe:
    """Fit `‖x‖² ≈ p·x + c` on `split.train` (row indices of x) and score it on `split.test`. The score
    keeps its sums for `blocks` runs of consecutive test tokens, so that `score.r2_replicates(counts)`
    gives the R² under bootstrap resamples of the runs (`counts`: `[resamples, blocks]`); for
    independent draws, such as synthetic samples, a run is as good a unit as a single token."""
    target = x.double().pow(2).sum(-1)
    train, test = torch.from_numpy(split.train), torch.from_numpy(split.test)
    if not 1 <= blocks <= len(test):
        raise ValueError(f"{len(test)} test tokens cannot be cut into {blocks} blocks.")
    probe = fit_affine(x[train], target[train])
    score = ExplainedVariance(blocks)
    score.add(target[test], probe(x[test]).squeeze(-1), torch.arange(len(test)) * blocks // len(test))
    return NormProbe(probe, score.r2, score)


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


REFIT_RESAMPLES = 500  # each resample solves a d×d system: fewer than the house's 2,000, see below
REFIT_CHUNK = 25  # resamples whose d×d normal equations are formed at once


@dataclass(frozen=True)
class AlignmentReplicates:
    """App. B.2's two statistics (`DecoderAlignment.correlation` and `.median_ratio`) under each
    bootstrap resample of the training contexts."""

    correlation: np.ndarray
    median_ratio: np.ndarray


def rowwise_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson's correlation of `a[r]` with `b[r]` for each row r, over the columns where both are
    finite (NaN marks a missing value)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    present = np.isfinite(a) & np.isfinite(b)
    n = present.sum(-1, keepdims=True)
    a_centred, b_centred = (
        np.where(present, v - np.where(present, v, 0).sum(-1, keepdims=True) / n, 0) for v in (a, b)
    )
    return (a_centred * b_centred).sum(-1) / np.sqrt((a_centred**2).sum(-1) * (b_centred**2).sum(-1))


@torch.no_grad()
def decoder_alignment_replicates(
    latents: torch.Tensor,
    decoder: torch.Tensor,
    split: TokenSplit,
    resamples: int = REFIT_RESAMPLES,
    seed: int = 0,
) -> AlignmentReplicates:
    """`decoder_probe_alignment`'s correlation and median ratio under bootstrap resamples of the
    split's training contexts (`split` by context). Both the norm probe and the latents' mean active
    activations are read off the training tokens, so a resample of the test contexts would leave
    them unchanged: each resample refits the probe instead, from per-context sums of the normal
    equations (weighted by the resample's counts, solved by Cholesky; minimum-norm least squares
    where a resample's covariance is singular). All ones as counts give `decoder_probe_alignment`'s
    own values. A d×d solve per resample is why the default is fewer resamples than elsewhere."""
    if split.contexts is None:
        raise ValueError("a bootstrap over training contexts needs a split by context (`split_by_context`).")
    row_norms = decoder.norm(dim=-1).double()
    units = decoder.double() / row_norms[:, None]
    train = torch.from_numpy(split.train).to(latents.device)
    _, groups = np.unique(split.contexts[split.is_train], return_inverse=True)
    n_groups = int(groups.max()) + 1
    group = torch.from_numpy(groups).to(latents.device)
    y = (latents[train] @ decoder).double()
    target = y.pow(2).sum(-1)
    y, target = y - y.mean(0), target - target.mean()  # nearly centred sums: no precision lost

    def per_group(values: torch.Tensor) -> torch.Tensor:
        return values.new_zeros(n_groups, *values.shape[1:]).index_add_(0, group, values)

    tokens, sum_y, sum_target, sum_cross = (
        per_group(v) for v in (torch.ones_like(target), y, target, y * target[:, None])
    )
    sum_products = torch.stack([y[group == g].T @ y[group == g] for g in range(n_groups)]).flatten(1)
    activations = latents[train].double() * row_norms
    active_sums, firing_counts = per_group(activations), per_group((activations > 0).double())
    del activations
    counts = torch.from_numpy(resample_counts(n_groups, resamples, seed)).to(y)
    correlation, median_ratio = [], []
    d = y.shape[1]
    for start in range(0, resamples, REFIT_CHUNK):
        weights = counts[start : start + REFIT_CHUNK]
        n, s_y, s_t, s_yt = (weights @ v for v in (tokens, sum_y, sum_target, sum_cross))
        covariance = (weights @ sum_products).view(-1, d, d) - s_y[:, :, None] * s_y[:, None, :] / n[
            :, None, None
        ]
        cross = (s_yt - s_y * (s_t / n)[:, None])[..., None]
        factor, info = torch.linalg.cholesky_ex(covariance)
        probe = torch.cholesky_solve(cross, factor)[..., 0]
        for r in torch.nonzero(info).flatten().tolist():  # not positive definite: minimum norm
            probe[r] = (torch.linalg.pinv(covariance[r], hermitian=True) @ cross[r])[:, 0]
        along = (probe @ units.T).cpu().numpy()
        firings = (weights @ firing_counts).cpu().numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_active = np.where(firings > 0, (weights @ active_sums).cpu().numpy() / firings, np.nan)
        correlation.append(rowwise_correlation(along, mean_active))
        median_ratio.append(np.nanmedian(along / mean_active, axis=-1))
    return AlignmentReplicates(np.concatenate(correlation), np.concatenate(median_ratio))


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
class ContextSums:
    """A sweep's test-token sums kept per test context (or a single group), from which its FVUs are
    recomputed under bootstrap resamples of the contexts. Per input noise level and group:
    `squares[i, g, k, m]` are the coefficients (σ_rec², σ_rec, 1) of `Σ‖x̃ - r̃‖²` (k = 0) and of
    `Σ‖x̃ - r̃ - b(x̃)‖²` (k = 1) at mask m; `sums[i, g]` is `Σ x̃`, `square_sums[i, g]` is `Σ ‖x̃‖²`, and
    `tokens[g]` the group's token count."""

    squares: np.ndarray  # [input level, group, 2, mask, 3]
    sums: np.ndarray  # [input level, group, d]
    square_sums: np.ndarray  # [input level, group]
    tokens: np.ndarray  # [group]


@dataclass(frozen=True)
class NoiseSweep:
    """The error decomposition of noised synthetic activations over a grid: input noise level ×
    reconstruction noise level × mask share (axes in that order; a leading axis of bootstrap
    resamples where `resampled` made it). With `x̃` the noised input, `r̃` the noised reconstruction
    and `b` the least-squares map from `x̃` to `x̃ - r̃`, on the test tokens:
    `fvu_reconstruction = FVU(x̃, r̃)` and `fvu_nonlinear = FVU(x̃, r̃ + b(x̃))`. `by_context` keeps the
    sums behind them per test context (see `resampled`)."""

    levels: np.ndarray
    mask_shares: np.ndarray
    fvu_reconstruction: np.ndarray
    fvu_nonlinear: np.ndarray
    by_context: ContextSums | None = None

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
        reconstruction noise level, columns estimated Dense and estimated Introduced (`[..., 2, 2]`,
        one table per resample where the sweep has a resample axis)."""
        input_level, reconstruction_level = np.meshgrid(self.levels, self.levels, indexing="ij")
        planted = np.stack([input_level.ravel(), reconstruction_level.ravel()])  # [2, cells]
        lead = self.fvu_nonlinear.shape[:-3]
        estimated = np.stack(
            [
                self.estimated_dense[..., mask_index].reshape(*lead, -1),
                self.estimated_introduced[..., mask_index].reshape(*lead, -1),
            ],
            axis=-2,
        )  # [..., 2, cells]
        planted = planted - planted.mean(-1, keepdims=True)
        estimated = estimated - estimated.mean(-1, keepdims=True)
        covariance = np.einsum("ik,...jk->...ij", planted, estimated)
        scale = np.sqrt((planted**2).sum(-1)[:, None] * (estimated**2).sum(-1)[..., None, :])
        return covariance / scale

    def nonlinear_drift(self) -> np.ndarray:
        """`[input level, reconstruction level]`: the largest departure of `FVU(x̃, r̃ + b(x̃))` from
        its value at the first mask share, as a share of the rise of `FVU(x̃, r̃)` from the first to
        the last: near 0 when masked latents all land in the linear part (a flat line)."""
        departure = np.abs(self.fvu_nonlinear - self.fvu_nonlinear[..., :1]).max(axis=-1)
        return departure / (self.fvu_reconstruction[..., -1] - self.fvu_reconstruction[..., 0])

    def nonlinear_arch(self) -> np.ndarray:
        """`[input level, reconstruction level]`: how far the quadratic fitted to
        `FVU(x̃, r̃ + b(x̃))` against the mask share rises at the middle of the shares above its chord
        (`arch_height`), as a share of the rise of `FVU(x̃, r̃)` from the first share to the last:
        positive for an arch, 0 for a straight line (flat or not), negative for a sag."""
        rise = self.fvu_reconstruction[..., -1] - self.fvu_reconstruction[..., 0]
        return arch_height(self.mask_shares, self.fvu_nonlinear) / rise

    def up_to(self, share: float) -> NoiseSweep:
        """The same sweep over the mask shares up to `share` only (e.g. the paper's 0-50%)."""
        keep = self.mask_shares <= share + 1e-9
        if keep.sum() < 2:
            raise ValueError(f"fewer than two mask shares up to {share:g} in {self.mask_shares.tolist()}.")
        by_context = self.by_context
        if by_context is not None:
            by_context = replace(by_context, squares=by_context.squares[..., keep, :])
        return NoiseSweep(
            self.levels,
            self.mask_shares[keep],
            self.fvu_reconstruction[..., keep],
            self.fvu_nonlinear[..., keep],
            by_context,
        )

    def resampled(self, counts: np.ndarray) -> NoiseSweep:
        """The sweep under bootstrap resamples of the test contexts (`counts`: `[resamples, groups]`,
        from `helpers.book.intervals.resample_counts` over `split.test_groups()`): its FVUs with a
        leading resample axis, each group's sums weighted by its count."""
        if self.by_context is None:
            raise ValueError("this sweep kept no sums by test context to resample.")
        return _sweep_from_sums(self.levels, self.mask_shares, self.by_context, counts)


def _sweep_from_sums(
    levels: np.ndarray, mask_shares: np.ndarray, sums: ContextSums, counts: np.ndarray
) -> NoiseSweep:
    """The FVUs of every grid point under each row of `counts` (group weights), `[resamples, ...]`."""
    weights = np.asarray(counts, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] != len(sums.tokens):
        raise ValueError(f"counts must be [resamples, {len(sums.tokens)}], not {weights.shape}.")
    n = weights @ sums.tokens
    powers = np.stack([levels**2, levels, np.ones_like(levels)])  # [3, reconstruction level]
    fvus = []
    for i in range(len(levels)):
        coefficients = np.einsum("rg,gkmc->rkmc", weights, sums.squares[i])
        variance = weights @ sums.square_sums[i] - ((weights @ sums.sums[i]) ** 2).sum(-1) / n
        values = coefficients @ powers / variance[:, None, None, None]  # [r, 2, mask, rec level]
        fvus.append(values.transpose(0, 1, 3, 2))  # [r, 2, rec level, mask]
    stacked = np.stack(fvus, axis=2)  # [r, 2, input level, rec level, mask]
    return NoiseSweep(
        np.asarray(levels, dtype=float), np.asarray(mask_shares, dtype=float), *stacked.swapaxes(0, 1)
    )


def _chunks(rows: np.ndarray, device: torch.device) -> list[torch.Tensor]:
    step = SWEEP_CHUNK_ROWS
    return [torch.from_numpy(rows[i : i + step]).to(device) for i in range(0, len(rows), step)]


def _squared_norm_in_sigma(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`‖a - σ·b‖²` of each row as the coefficients of a quadratic in σ, highest power first
    (`[rows, 3]`)."""
    return torch.stack([b.pow(2).sum(-1), -2 * (a * b).sum(-1), a.pow(2).sum(-1)], dim=-1)


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
    tokens are quadratics in σ_rec, accumulated once per mask, and kept per test context where the
    split is by context (`NoiseSweep.resampled`)."""
    n_masks, n, d = reconstructions.shape
    if clean.shape != (n, d) or n_masks != len(mask_shares):
        raise ValueError(
            f"clean {tuple(clean.shape)}, reconstructions {tuple(reconstructions.shape)} and "
            f"{len(mask_shares)} mask shares do not match."
        )
    levels = np.asarray(levels, dtype=float)
    input_noise = torch.randn(n, d, generator=generator).to(clean.device)
    reconstruction_noise = torch.randn(n, d, generator=generator).to(clean.device)
    groups, n_groups = split.score_groups()
    train_chunks, test_chunks = _chunks(split.train, clean.device), _chunks(split.test, clean.device)
    group_chunks = _chunks(groups.astype(np.int64), clean.device)
    squares = np.empty((len(levels), n_groups, 2, n_masks, 3))
    sums, square_sums = np.empty((len(levels), n_groups, d)), np.empty((len(levels), n_groups))
    tokens = np.bincount(groups, minlength=n_groups).astype(np.float64)
    for i, sigma_in in enumerate(levels):
        solver = LeastSquares(clean.device)
        for rows in train_chunks:
            noised = clean[rows] + sigma_in * input_noise[rows]
            solver.add(
                noised, torch.cat([noised, *reconstructions[:, rows], reconstruction_noise[rows]], dim=-1)
            )
        probe = solver.solve()
        level_squares = torch.zeros(2, n_masks, n_groups, 3, dtype=torch.float64, device=clean.device)
        level_sums = torch.zeros(n_groups, d, dtype=torch.float64, device=clean.device)
        level_square_sums = torch.zeros(n_groups, dtype=torch.float64, device=clean.device)
        for rows, group in zip(test_chunks, group_chunks, strict=True):
            noised = (clean[rows] + sigma_in * input_noise[rows]).double()
            predicted = probe(noised).view(len(rows), n_masks + 2, d)
            z = reconstruction_noise[rows].double()
            unexplained_noise = z - predicted[:, -1]
            for m in range(n_masks):
                gap = noised - reconstructions[m, rows].double()
                level_squares[0, m].index_add_(0, group, _squared_norm_in_sigma(gap, z))
                level_squares[1, m].index_add_(
                    0,
                    group,
                    _squared_norm_in_sigma(gap - predicted[:, 0] + predicted[:, 1 + m], unexplained_noise),
                )
            level_sums.index_add_(0, group, noised)
            level_square_sums.index_add_(0, group, noised.pow(2).sum(-1))
        squares[i] = level_squares.permute(2, 0, 1, 3).cpu().numpy()
        sums[i], square_sums[i] = level_sums.cpu().numpy(), level_square_sums.cpu().numpy()
    by_context = ContextSums(squares, sums, square_sums, tokens)
    whole = _sweep_from_sums(levels, np.asarray(mask_shares, dtype=float), by_context, np.ones((1, n_groups)))
    return NoiseSweep(
        levels, whole.mask_shares, whole.fvu_reconstruction[0], whole.fvu_nonlinear[0], by_context
    )


def sae_noise_sweep(
    sae,
    clean: torch.Tensor,
    latents: torch.Tensor,
    split: TokenSplit,
    mask_shares: Sequence[float],
    n_levels: int,
    max_variance_share: float,
    noise: torch.Generator,
) -> NoiseSweep:
    """§5.2's sweep on an SAE's own reconstructions `clean = sae(x)`, whose latents `sae.encode(clean)`
    are `latents`: the rarest shares of them masked, noise planted at `n_levels` levels up to
    `max_variance_share` of the clean variance (`split` indexes the rows of `clean`)."""
    keep = rarest_first_keep_masks(latents.mean(0), mask_shares)
    levels = noise_levels(clean, n_levels, max_variance_share)
    reconstructions = masked_reconstructions(latents, sae.decode, keep)
    return planted_noise_sweep(clean, reconstructions, levels, mask_shares, split, noise)


def table1_rows(sweep: NoiseSweep, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Table 1's two headlines at no masking, its smaller diagonal correlation and its larger
    off-diagonal one in size, on the whole test set (row 0) and under each resample of `counts`."""
    tables = np.concatenate(
        [sweep.noise_correlations(0)[None], sweep.resampled(counts).noise_correlations(0)]
    )
    return {
        "table1_diagonal_min": tables[:, [0, 1], [0, 1]].min(-1),
        "table1_off_diagonal_max": np.abs(tables[:, [0, 1], [1, 0]]).max(-1),
    }


@dataclass(frozen=True)
class LatentTests:
    """App. B.2 and §5.2 on one set of real tokens, `x' = Sae(x)` as the clean activations: the SAE's
    FVU on x and on x', the latents it fires on x', the split of the tokens by context, App. B.2's
    alignment with its replicates over training contexts, and the planted-noise sweep (kept by test
    context) with its noise levels and run time."""

    n_tokens: int
    fvu_on_x: float
    fvu_on_clean: float
    clean_l0: float
    split: TokenSplit
    alignment: DecoderAlignment
    alignment_replicates: AlignmentReplicates
    levels: np.ndarray
    sweep: NoiseSweep
    sweep_seconds: float


@torch.no_grad()
def sae_latent_tests(
    sae,
    x: torch.Tensor,
    contexts: np.ndarray,
    *,
    train_fraction: float,
    split_seed: int,
    mask_shares: Sequence[float],
    n_levels: int,
    max_variance_share: float,
    noise: torch.Generator,
    refit_seed: int,
    refit_resamples: int = REFIT_RESAMPLES,
) -> LatentTests:
    """Run App. B.2 and §5.2 on the tokens `x` (`contexts[i]`: token i's context): reconstruct them
    with `sae` (a sae_lens SAE: callable, with `encode`, `decode` and `W_dec`) as the clean
    activations, split the tokens by context, align the norm probe with the decoder, mask the rarest
    latents at each of `mask_shares` and sweep the planted noise (`noise`: its generator)."""
    clean = sae(x)
    latents = sae.encode(clean)
    split = split_by_context(np.arange(len(x)), np.asarray(contexts), train_fraction, split_seed)
    decoder = sae.W_dec.detach()
    started = time.perf_counter()
    sweep = sae_noise_sweep(sae, clean, latents, split, mask_shares, n_levels, max_variance_share, noise)
    sweep_seconds = time.perf_counter() - started
    return LatentTests(
        n_tokens=len(x),
        fvu_on_x=fvu(x, clean),
        fvu_on_clean=fvu(clean, sae.decode(latents)),
        clean_l0=float((latents > 0).sum(-1).float().mean()),
        split=split,
        alignment=decoder_probe_alignment(latents, decoder, split),
        alignment_replicates=decoder_alignment_replicates(
            latents, decoder, split, refit_resamples, refit_seed
        ),
        levels=sweep.levels,
        sweep=sweep,
        sweep_seconds=sweep_seconds,
    )


@dataclass(frozen=True)
class LatentHeadlines:
    """The numbers App. B.2, Table 1 and Fig. 15's claims are decided on, for one set of real tokens,
    each with its 95% interval: B.2's correlation and median ratio (bootstrap over training
    contexts); Table 1's smallest diagonal correlation and largest off-diagonal one in size, and the
    nonlinear FVU's drift (`NoiseSweep.nonlinear_drift`) with no noise and its largest over the
    noise grid, over the mask shares up to a limit (bootstrap over test contexts)."""

    correlation: Estimate
    median_ratio: Estimate
    diagonal_min: Estimate
    off_diagonal_max: Estimate
    drift_no_noise: Estimate
    drift_max: Estimate


def latent_headlines(tests: LatentTests, counts: np.ndarray, max_share: float) -> LatentHeadlines:
    """`tests`' headline numbers under the resamples `counts` of its test contexts, the drifts over
    the mask shares up to `max_share` (the paper masks up to 50%)."""
    sweeps = [tests.sweep.up_to(max_share), tests.sweep.resampled(counts).up_to(max_share)]
    drifts = [sweep.nonlinear_drift() for sweep in sweeps]
    replicates = tests.alignment_replicates
    table1 = table1_rows(tests.sweep, counts)
    return LatentHeadlines(
        correlation=Estimate.of(tests.alignment.correlation, replicates.correlation),
        median_ratio=Estimate.of(tests.alignment.median_ratio, replicates.median_ratio),
        diagonal_min=Estimate.from_rows(table1["table1_diagonal_min"]),
        off_diagonal_max=Estimate.from_rows(table1["table1_off_diagonal_max"]),
        drift_no_noise=Estimate.of(*(drift[..., 0, 0] for drift in drifts)),
        drift_max=Estimate.of(*(drift.max(axis=(-2, -1)) for drift in drifts)),
    )


def departure_ratio(
    sweep: NoiseSweep, reference: NoiseSweep, counts: np.ndarray, max_share: float
) -> Estimate:
    """How many times as far `sweep`'s noise-free nonlinear FVU departs from its unmasked value as
    `reference`'s does (each `nonlinear_drift` over the mask shares up to `max_share`), with its
    interval over the resamples `counts` of the test contexts the two sweeps share (App. C: random
    vectors against SAE latents)."""
    pairs = [(sweep, reference), (sweep.resampled(counts), reference.resampled(counts))]
    ratios = [
        a.up_to(max_share).nonlinear_drift()[..., 0, 0] / b.up_to(max_share).nonlinear_drift()[..., 0, 0]
        for a, b in pairs
    ]
    return Estimate.of(*ratios)


def arch_height(shares: np.ndarray, values: np.ndarray) -> np.ndarray:
    """How far the least-squares quadratic `a + b·s + c·s²` through `values` (along their last axis,
    one per share) rises at the middle of the shares' range above the chord between its values at
    the two ends: `-c·(Δ/2)²`, Δ the range. Positive for an arch (a peak inside the range), 0 for a
    straight line, whatever its slope, negative for a sag."""
    shares = np.asarray(shares, dtype=np.float64)
    if len(np.unique(shares)) < 3:
        raise ValueError(f"a quadratic needs at least three distinct shares, not {shares.tolist()}.")
    curvature = np.asarray(values, dtype=np.float64) @ np.linalg.pinv(np.vander(shares, 3))[0]
    return -curvature * np.ptp(shares) ** 2 / 4


def with_filtered_tokens(chosen: np.ndarray, pool_size: int, filtered: np.ndarray, seed: int) -> np.ndarray:
    """`chosen` rows (a random draw from a pool of `pool_size` rows that a filter had left out
    `filtered` from) with each filtered row added at the same rate, `len(chosen) / pool_size`, by a
    seeded draw: the token set the draw would have given without the filter, the same tokens plus
    the filtered ones."""
    filtered = np.asarray(filtered)
    rate = len(chosen) / pool_size
    if not 0 < rate <= 1:
        raise ValueError(f"{len(chosen)} rows cannot be drawn from a pool of {pool_size}.")
    added = filtered[np.random.default_rng(seed).random(len(filtered)) < rate]
    if np.isin(added, chosen).any():
        raise ValueError("a filtered row is among the chosen ones; the filter left it out of the pool.")
    return np.sort(np.concatenate([np.asarray(chosen), added]))


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
