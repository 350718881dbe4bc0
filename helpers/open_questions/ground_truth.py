"""Dark matter with a known answer (Part V): synthetic activations made of a dictionary of unit
features that fire with a real SAE's statistics, plus dark matter of one planted kind at a known
share of variance; and, for an SAE trained on them, where each true part of its error lands in
Part IV's split.

A synthetic activation is `x = D(x) + P(x)`: `D(x) = Σ_i a_i d_i` over the dictionary's unit
features `d_i`, each firing independently with its latent's real frequency and a magnitude drawn
from that latent's real non-zero activations, and `P(x)` the planted dark matter, of one kind:

- *absent features*: unit directions outside the dictionary, each firing so rarely that an SAE
  sees it only a few times in training, with magnitudes drawn from all the real latents';
- *dense noise*: isotropic Gaussian noise;
- *nonlinear*: pairs of the most frequent dictionary features each add, along a direction of
  their own, the product of their two magnitudes (non-zero only when both fire: an AND).

An SAE's error then splits exactly into `SaeError = P + I`, with `I = D - Sae(x)` the error the
SAE makes on what the dictionary put in. Least squares is linear in its target, so the vector
probe's `LinearError = b(x)` is `P̂ + Î`, the affine predictions of `P` and `I` from `x` fitted on
the same tokens, and `NonlinearError = (P - P̂) + (I - Î)`: each true part's share in each
estimated part is measured, not assumed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
from sae_lens import TopKSAE

from helpers.dark_matter.decomposition import AffineMap, ExplainedVariance, TokenSplit, fit_affine
from helpers.dark_matter.synthetic_activations import random_unit_vectors
from helpers.lm.activation_store import stream_rows
from helpers.lm.suite import fold_normalisation
from helpers.lm.topk_training import TopKTraining, train_topk_saes

PLANTED_KINDS = ("absent features", "dense noise", "nonlinear")
NOTHING_PLANTED = "nothing"
DRAW_CHUNK = 4096  # synthetic tokens drawn at once


@dataclass(frozen=True)
class FiringStatistics:
    """How each latent of a real SAE fires: its frequency over tokens and its non-zero activations
    (`values`, grouped by latent: latent i's are `values[starts[i]:starts[i] + counts[i]]`)."""

    frequencies: torch.Tensor  # [n]
    values: torch.Tensor  # [firings]
    starts: torch.Tensor  # [n]
    counts: torch.Tensor  # [n]

    def __post_init__(self) -> None:
        if bool((self.counts < 1).any()):
            raise ValueError("every latent needs at least one recorded firing to draw magnitudes from.")
        if int(self.counts.sum()) != len(self.values):
            raise ValueError(f"counts sum to {int(self.counts.sum())}, not {len(self.values)}.")

    def moment(self, power: int) -> torch.Tensor:
        """`E[m^power]` of each latent's magnitude when it fires."""
        return torch.zeros_like(self.frequencies).index_add_(
            0, torch.repeat_interleave(torch.arange(len(self.counts)), self.counts), self.values**power
        ) / self.counts.to(self.values)

    def draw(self, n_tokens: int, generator: torch.Generator) -> Firings:
        """Codes for `n_tokens` tokens: each latent fires independently with its frequency, at a
        magnitude drawn from its own recorded firings."""
        tokens, latents = bernoulli_firings(self.frequencies, n_tokens, generator)
        pick = (torch.rand(len(latents), generator=generator) * self.counts[latents]).long()
        return Firings(n_tokens, tokens, latents, self.values[self.starts[latents] + pick].float())


DENSE_FREQUENCY = 0.25  # a latent firing more often than this is drawn by a coin flip per token


def bernoulli_firings(
    frequencies: torch.Tensor, n_tokens: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """`(tokens, latents)` of the firings when latent i fires on each of `n_tokens` tokens
    independently with probability `frequencies[i]`. Latents above `DENSE_FREQUENCY` flip a coin
    per token; the rest are drawn sparsely: each latent's count from its binomial, then that many
    distinct tokens (a token drawn twice for one latent is drawn again, which leaves every subset
    of that size equally likely), at the cost of the firings, not of `n_tokens x latents` coins."""
    dense = torch.nonzero(frequencies > DENSE_FREQUENCY).squeeze(1)
    fired = (
        torch.rand(n_tokens, len(dense), generator=generator, dtype=frequencies.dtype) < frequencies[dense]
    )
    dense_tokens, columns = fired.nonzero(as_tuple=True)
    sparse = torch.nonzero(frequencies <= DENSE_FREQUENCY).squeeze(1)
    counts = torch.binomial(
        torch.full((len(sparse),), float(n_tokens), dtype=frequencies.dtype),
        frequencies[sparse],
        generator=generator,
    )
    latents = torch.repeat_interleave(sparse, counts.long())
    tokens = torch.randint(n_tokens, (len(latents),), generator=generator)
    while len(latents):
        keys = latents * n_tokens + tokens
        order = torch.argsort(keys, stable=True)
        repeated = torch.zeros(len(keys), dtype=torch.bool)
        repeated[order[1:]] = keys[order[1:]] == keys[order[:-1]]
        if not repeated.any():
            break
        tokens[repeated] = torch.randint(n_tokens, (int(repeated.sum()),), generator=generator)
    return torch.cat([dense_tokens, tokens]), torch.cat([dense[columns], latents])


@dataclass(frozen=True)
class Firings:
    """Sparse codes of `n_tokens` tokens: latent `latents[f]` fires on token `tokens[f]` at
    `magnitudes[f]`, at most once per token and latent."""

    n_tokens: int
    tokens: torch.Tensor
    latents: torch.Tensor
    magnitudes: torch.Tensor

    def sum_of(self, directions: torch.Tensor) -> torch.Tensor:
        """`[n_tokens, d]`: each token's sum of its firing latents' `directions`, by magnitude."""
        order = torch.argsort(self.tokens, stable=True)
        counts = torch.bincount(self.tokens, minlength=self.n_tokens)
        return torch.nn.functional.embedding_bag(
            self.latents[order],
            directions,
            torch.cumsum(counts, 0) - counts,
            mode="sum",
            per_sample_weights=self.magnitudes[order].to(directions),
        )

    def columns(self, latents: torch.Tensor) -> torch.Tensor:
        """`[n_tokens, len(latents)]`: the dense codes of the given (distinct) latents."""
        size = 1 + max(int(latents.max()), int(self.latents.max()) if len(self.latents) else 0)
        column = torch.full((size,), -1, dtype=torch.long)
        column[latents] = torch.arange(len(latents))
        where = column[self.latents]
        kept = where >= 0
        codes = self.magnitudes.new_zeros(self.n_tokens, len(latents))
        codes[self.tokens[kept], where[kept]] = self.magnitudes[kept]
        return codes


@torch.no_grad()
def learned_dictionary(
    sae, activations: np.ndarray, rows: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, FiringStatistics]:
    """The unit decoder directions of the latents of `sae` that fire on `rows` of `activations`
    (the rest never fire, so have nothing to draw from), and their firing statistics there, each
    magnitude the latent's activation times its decoder row's norm (so `a_i d_i` is its term of
    the reconstruction)."""
    row_norms = sae.W_dec.norm(dim=1)
    latent_ids, values = [], []
    for _, x in stream_rows(activations, rows, device):
        codes = sae.encode(x).float()
        tokens, latents = codes.nonzero(as_tuple=True)
        latent_ids.append(latents.cpu())
        values.append((codes[tokens, latents] * row_norms[latents]).cpu())
    latent_ids, values = torch.cat(latent_ids), torch.cat(values)
    all_counts = torch.bincount(latent_ids, minlength=sae.cfg.d_sae)
    live = all_counts > 0
    counts = all_counts[live]
    stats = FiringStatistics(
        frequencies=counts.double() / len(rows),
        values=values[torch.argsort(latent_ids, stable=True)].double(),
        starts=torch.cumsum(counts, 0) - counts,
        counts=counts,
    )
    directions = sae.W_dec[live.to(sae.W_dec.device)].double().cpu()
    return directions / directions.norm(dim=1, keepdim=True), stats


@dataclass(frozen=True)
class Plant:
    """What is planted: one of `PLANTED_KINDS` (or `NOTHING_PLANTED`) at a target share of the
    activations' total variance."""

    kind: str
    share: float

    def __post_init__(self) -> None:
        if self.kind == NOTHING_PLANTED:
            if self.share != 0:
                raise ValueError("nothing planted has share 0.")
        elif self.kind not in PLANTED_KINDS:
            raise ValueError(f"planted kind {self.kind!r}: choose one of {PLANTED_KINDS}.")
        elif not 0 < self.share < 1:
            raise ValueError(f"a planted share must be in (0, 1), not {self.share}.")


@dataclass(frozen=True)
class PlantedDarkMatter:
    """Where each planted kind lives: the absent features (directions, firing frequency, magnitude
    pool) and the nonlinear pairs (which two dictionary features, and the direction of their product)."""

    absent_directions: torch.Tensor  # [n_absent, d]
    absent_frequency: float
    nonlinear_pairs: torch.Tensor  # [n_pairs, 2] indices into the dictionary
    nonlinear_directions: torch.Tensor  # [n_pairs, d]


class SyntheticActivations:
    """Activations `D(x) + P(x)` (see the module's docstring) with `plant.kind` planted at
    `plant.share` of the total variance, the scale set from the exact variances of the parts
    (the parts are independent, but for the nonlinear kind's small overlap with the features it
    squares, so the share a sample realises is measured, not assumed)."""

    def __init__(
        self, dictionary: torch.Tensor, stats: FiringStatistics, planted: PlantedDarkMatter, plant: Plant
    ):
        if dictionary.shape[0] != len(stats.frequencies):
            raise ValueError(
                f"the dictionary has {dictionary.shape[0]} features, the statistics {len(stats.frequencies)}."
            )
        self.dictionary = dictionary.float()
        self.stats, self.planted, self.plant = stats, planted, plant
        self.dim = dictionary.shape[1]
        f, m1, m2 = stats.frequencies, stats.moment(1), stats.moment(2)
        self.dictionary_variance = float((f * m2 - (f * m1) ** 2).sum())
        unit = self._unit_variance()
        target = plant.share / (1 - plant.share) * self.dictionary_variance
        self.scale = (target / unit) ** 0.5 if unit else 0.0

    def _unit_variance(self) -> float:
        """The planted part's total variance at scale 1."""
        kind, stats = self.plant.kind, self.stats
        if kind == "absent features":
            p = self.planted.absent_frequency
            m1, m2 = stats.values.mean(), stats.values.pow(2).mean()
            return float(len(self.planted.absent_directions) * (p * m2 - (p * m1) ** 2))
        if kind == "dense noise":
            return float(self.dim)
        if kind == "nonlinear":
            i, j = self.planted.nonlinear_pairs.T
            first, second = (stats.frequencies * stats.moment(p) for p in (1, 2))
            return float((second[i] * second[j] - (first[i] * first[j]) ** 2).sum())
        return 0.0

    def draw(self, n_tokens: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """`(D(x), P(x))`, each `[n_tokens, d]` float32; `x` is their sum."""
        firings = self.stats.draw(n_tokens, generator)
        features = firings.sum_of(self.dictionary)
        kind = self.plant.kind
        if kind == "absent features":
            planted = self._absent(n_tokens, generator).sum_of(self.planted.absent_directions)
        elif kind == "dense noise":
            planted = torch.randn(n_tokens, self.dim, generator=generator)
        elif kind == "nonlinear":
            codes = firings.columns(self.planted.nonlinear_pairs.flatten()).view(n_tokens, -1, 2)
            planted = codes.prod(dim=2) @ self.planted.nonlinear_directions
        else:
            planted = torch.zeros_like(features)
        return features, self.scale * planted

    def _absent(self, n_tokens: int, generator: torch.Generator) -> Firings:
        """The absent features' firings, each with `absent_frequency`, at magnitudes drawn from all
        the dictionary's recorded firings."""
        n_absent, pool = len(self.planted.absent_directions), self.stats.values
        frequencies = torch.full((n_absent,), self.planted.absent_frequency, dtype=torch.float64)
        tokens, features = bernoulli_firings(frequencies, n_tokens, generator)
        magnitudes = pool[torch.randint(len(pool), (len(features),), generator=generator)].float()
        return Firings(n_tokens, tokens, features, magnitudes)

    def sample(self, n_tokens: int, generator: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
        """`(x, P(x))` for `n_tokens` tokens as float32 arrays, drawn a chunk at a time."""
        x = np.empty((n_tokens, self.dim), np.float32)
        planted = np.empty_like(x)
        for start in range(0, n_tokens, DRAW_CHUNK):
            features, part = self.draw(min(DRAW_CHUNK, n_tokens - start), generator)
            x[start : start + len(part)] = (features + part).numpy()
            planted[start : start + len(part)] = part.numpy()
        return x, planted

    def batches(
        self, batch_size: int, mean: torch.Tensor, unit: float, generator: torch.Generator
    ) -> Iterator[torch.Tensor]:
        """Endless fresh batches of `(x - mean) * unit`, float32, for `train_topk_saes`."""
        while True:
            features, part = self.draw(batch_size, generator)
            yield (features + part - mean.float()) * unit


def plant_dark_matter(
    dictionary: torch.Tensor,
    stats: FiringStatistics,
    absent_features: int,
    absent_frequency: float,
    nonlinear_pairs: int,
    generator: torch.Generator,
) -> PlantedDarkMatter:
    """Random directions for `absent_features` features outside the dictionary, firing with
    `absent_frequency`, and for the products of `nonlinear_pairs` pairs of the most frequent
    dictionary features (the first with the second, the third with the fourth, ...)."""
    if not 0 < absent_frequency < 1:
        raise ValueError(f"absent_frequency = {absent_frequency} must be in (0, 1).")
    if not 0 < 2 * nonlinear_pairs <= len(stats.frequencies):
        raise ValueError(
            f"nonlinear_pairs = {nonlinear_pairs} must be in [1, {len(stats.frequencies) // 2}] "
            "(half the dictionary's features)."
        )
    dim = dictionary.shape[1]
    return PlantedDarkMatter(
        absent_directions=random_unit_vectors(absent_features, dim, generator),
        absent_frequency=absent_frequency,
        nonlinear_pairs=torch.argsort(stats.frequencies, descending=True)[: 2 * nonlinear_pairs].view(-1, 2),
        nonlinear_directions=random_unit_vectors(nonlinear_pairs, dim, generator),
    )


@dataclass(frozen=True)
class TrueParts:
    """Where the true parts of one SAE's error land in Part IV's split, on the test tokens, as
    rows `[1 + resamples]` over the test blocks (`Estimate.from_rows`): the planted share of the
    total variance, the share the SAE's own error `I` makes of the total variance, the share of the
    planted part that the linear part holds (the R² of `P̂` for `P`), and the share of the
    NonlinearError's squared norm that is the SAE's own error, `Σ⟨I - Î, N⟩ / Σ‖N‖²`."""

    planted_share: np.ndarray
    introduced_share: np.ndarray
    planted_linear_share: np.ndarray | None  # None when nothing is planted
    nonlinear_from_sae: np.ndarray


@torch.no_grad()
def true_parts(
    x: np.ndarray,
    planted: np.ndarray,
    reconstruction: np.ndarray,
    vector_probe: AffineMap,
    split: TokenSplit,
    weights: np.ndarray,
) -> TrueParts:
    """Score the true parts of `x - reconstruction` (`planted` and the rest) against the split that
    `vector_probe` (fitted on `split`'s training tokens) makes; `weights` `[1 + resamples, blocks]`
    weigh the test blocks (`helpers.book.intervals.with_whole_sample`). Arrays are one row per token
    of `split.rows`."""
    if not x.shape == planted.shape == reconstruction.shape:
        raise ValueError(f"x {x.shape}, planted {planted.shape}, Sae(x) {reconstruction.shape} differ.")
    if len(x) != len(split.rows):
        raise ValueError(f"{len(x)} tokens, but the split has {len(split.rows)}.")
    x, planted, reconstruction = (
        torch.from_numpy(np.asarray(a, np.float64)) for a in (x, planted, reconstruction)
    )
    train, test = (torch.from_numpy(mask) for mask in (split.is_train, ~split.is_train))
    planted_probe = fit_affine(x[train], planted[train]) if planted.abs().max() > 0 else None
    groups, n_groups = split.score_groups()
    group = torch.from_numpy(groups)
    x, planted, reconstruction = x[test], planted[test], reconstruction[test]
    error = x - reconstruction
    nonlinear = error - vector_probe(x)
    introduced = error - planted
    planted_hat = planted_probe(x) if planted_probe else torch.zeros_like(planted)
    introduced_nonlinear = introduced - (vector_probe(x) - planted_hat)
    per_token = {
        "introduced": introduced.pow(2).sum(1),
        "from_sae": (introduced_nonlinear * nonlinear).sum(1),
        "nonlinear": nonlinear.pow(2).sum(1),
    }
    sums = {
        name: torch.zeros(n_groups, dtype=torch.float64).index_add_(0, group, value)
        for name, value in per_token.items()
    }
    weights = np.asarray(weights, np.float64)
    variance = _variance(x, group, n_groups, weights)
    weighed = {name: weights @ value.numpy() for name, value in sums.items()}
    linear_share = None
    if planted_probe:
        held = ExplainedVariance(n_groups)
        held.add(planted, planted_hat, group)
        linear_share = 1 - held.fvu_replicates(weights)
    return TrueParts(
        planted_share=_variance(planted, group, n_groups, weights) / variance,
        introduced_share=weighed["introduced"] / variance,
        planted_linear_share=linear_share,
        nonlinear_from_sae=weighed["from_sae"] / weighed["nonlinear"],
    )


def _variance(values: torch.Tensor, group: torch.Tensor, n_groups: int, weights: np.ndarray) -> np.ndarray:
    """The total variance of `values` (pooled over dimensions) under each weighing of the groups."""
    score = ExplainedVariance(n_groups)
    score.add(values, values, group)
    return score.variance_replicates(weights)


def train_on_synthetic(
    synthetic: SyntheticActivations,
    sample: np.ndarray,
    widths: tuple[int, ...],
    recipe: TopKTraining,
    generator: torch.Generator,
    device: torch.device,
) -> list[TopKSAE]:
    """TopK SAEs of `widths`, each by `recipe` but for its width, trained together on fresh draws
    of `synthetic` normalised by the mean and scale of `sample`, and returned reading raw `x`."""
    x = torch.from_numpy(np.asarray(sample, np.float64))
    mean = x.mean(0)
    unit = synthetic.dim**0.5 / float((x - mean).pow(2).sum(1).mean().sqrt())
    configs = [replace(recipe, width=width) for width in widths]
    batches = synthetic.batches(recipe.batch_size, mean, unit, generator)
    trained = train_topk_saes(batches, synthetic.dim, configs, device)
    return [fold_normalisation(sae, mean.float(), unit).eval() for sae, _ in trained]


def per_unit_planted(with_plant: np.ndarray, without: np.ndarray, share: np.ndarray) -> np.ndarray:
    """How much of an estimated share of variance (e.g. the linear FVU) the planted part added,
    per unit of planted variance: `(with_plant - without * (1 - share)) / share`, where `without`
    is the estimate on the set with nothing planted (a share of its smaller total variance) and
    `share` the planted share measured. Row by row (`[1 + resamples]` rows give an `Estimate`)."""
    share = np.asarray(share, np.float64)
    if bool((share <= 0).any()):
        raise ValueError("the planted share must be positive to divide by.")
    return (np.asarray(with_plant) - np.asarray(without) * (1 - share)) / share
