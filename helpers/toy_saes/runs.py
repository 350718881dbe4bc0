"""The post's toy settings and how Part II reads a trained SAE (Chanin et al., "Broken Latents").

`linear_features` builds the 20 features of the narrow-SAE sections. `census` turns one SAE
instance's latent table into the counts the post reads off its heatmaps: which true features have
a clean latent, duplicates, broken (mixed) latents, dead latents. Several seeds of each SAE train
at once; `lowest_loss_instance` picks the one whose loss is lowest on held-out samples, the run a
reader would keep, and the claims are judged on it, with the tally over all seeds beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd
import torch

from helpers.profiles import ToySaes
from helpers.toy_saes.latent_metrics import Matching, cosines, latent_table, match_latents
from helpers.toy_saes.sae import OrthogonalitySchedule, ToySAE, train_toy_saes
from helpers.toy_saes.true_features import TrueFeatures

CLEAN_COSINE = 0.95
N_LINEAR_FEATURES = 20


def linear_features(
    vectors: torch.Tensor,
    forced_parents: Mapping[int, int] | None = None,
    device: torch.device | str = "cpu",
) -> TrueFeatures:
    """The post's 20 features along `vectors` `[20, d_model]`: firing probability rising linearly
    to 0.3 (0.015 for feature 0, 0.3 for feature 19), magnitude falling linearly from 20 to 1."""
    if vectors.shape[0] != N_LINEAR_FEATURES:
        raise ValueError(
            f"the post's setting has {N_LINEAR_FEATURES} features; got {vectors.shape[0]} vectors."
        )
    steps = torch.arange(1, N_LINEAR_FEATURES + 1, dtype=torch.float32)
    return TrueFeatures(
        vectors,
        probability=0.3 * steps / N_LINEAR_FEATURES,
        magnitude=torch.linspace(20.0, 1.0, N_LINEAR_FEATURES),
        forced_parents=forced_parents,
        device=device,
    )


def expected_mse(data: TrueFeatures) -> torch.Tensor:
    """What leaving each feature out costs in squared error, per sample: `P(fires) * magnitude^2`."""
    return data.marginal_probability() * data.magnitude.square()


@dataclass(frozen=True)
class Census:
    """One SAE's latents as the post reads them: `clean` maps each true feature that some live
    latent decodes with cosine above a threshold (`CLEAN_COSINE` unless said) to one such
    latent; `duplicates` counts the further clean latents of an already-covered feature; `broken`
    lists live latents that match no single feature; `dead` counts latents that take no part in
    reconstruction."""

    clean: dict[int, int]
    duplicates: int
    broken: tuple[int, ...]
    dead: int

    @property
    def clean_features(self) -> set[int]:
        return set(self.clean)

    def is_exactly(self, features: set[int]) -> bool:
        """One clean latent for each of `features`, and no other live latent."""
        return self.clean_features == features and not self.broken and self.duplicates == 0


def census(table: pd.DataFrame, clean_cosine: float = CLEAN_COSINE) -> Census:
    """Summarise a `latent_metrics.latent_table`; a live latent is clean above `clean_cosine`."""
    live = table[table["live"]]
    clean_rows = live[live["decoder_cos"] > clean_cosine]
    clean = {int(f): int(latent) for latent, f in clean_rows["feature"].items()}
    return Census(
        clean=dict(sorted(clean.items())),
        duplicates=len(clean_rows) - len(clean),
        broken=tuple(int(latent) for latent in live.index.difference(clean_rows.index)),
        dead=int((~table["live"]).sum()),
    )


@torch.no_grad()
def lowest_loss_instance(sae: ToySAE, x: torch.Tensor, l1_coefficient: float) -> int:
    """The instance with the lowest training loss (MSE + L1) on held-out samples `x`."""
    losses = sae.losses(x, l1_coefficient)
    return int((losses.mse + losses.l1).argmin())


@dataclass
class SAERun:
    """Several seeds of one toy SAE, trained, with each seed's latent table, census and optimal
    one-to-one matching of live latents to true features (by decoder cosine) on held-out samples
    `x`, and `best`, the seed of lowest held-out loss."""

    sae: ToySAE
    x: torch.Tensor
    tables: list[pd.DataFrame]
    census: list[Census]
    matchings: list[Matching]
    best: int
    seconds: float

    @property
    def kept_matching_score(self) -> float:
        """Mean decoder cosine of the kept seed's matched latent-feature pairs."""
        return self.matchings[self.best].score

    @property
    def kept(self) -> Census:
        return self.census[self.best]

    @property
    def kept_table(self) -> pd.DataFrame:
        return self.tables[self.best]

    def seeds_where(self, condition: Callable[[Census], bool]) -> int:
        return sum(condition(c) for c in self.census)

    def tally(self) -> pd.DataFrame:
        """Per seed: clean features, matching score, duplicates, broken and dead latents, and which
        seed is kept."""
        return pd.DataFrame(
            {
                "clean features": [", ".join(map(str, sorted(c.clean_features))) for c in self.census],
                "matching score": [round(m.score, 3) for m in self.matchings],
                "duplicates": [c.duplicates for c in self.census],
                "broken latents": [len(c.broken) for c in self.census],
                "dead latents": [c.dead for c in self.census],
                "kept": ["←" if i == self.best else "" for i in range(len(self.census))],
            }
        ).rename_axis("seed")


def train_and_read(
    data: TrueFeatures,
    d_sae: int,
    tied: bool,
    training: ToySaes,
    l1_coefficient: float,
    generator: torch.Generator,
    orthogonality: OrthogonalitySchedule | None = None,
    clean_cosine: float = CLEAN_COSINE,
    **sae_options,
) -> SAERun:
    """Train `training.seeds` SAEs of `d_sae` latents on `data` (`training.orthogonality_samples`
    samples when the orthogonality loss is on, `training.samples` otherwise) and read them, a
    latent counting as clean above `clean_cosine`."""
    sae = ToySAE(
        training.seeds,
        data.d_model,
        d_sae,
        tied=tied,
        generator=generator,
        device=data.vectors.device,
        **sae_options,
    )
    log = train_toy_saes(
        sae,
        data,
        samples=training.orthogonality_samples if orthogonality else training.samples,
        batch_size=training.batch_size,
        lr=training.lr,
        l1_coefficient=l1_coefficient,
        orthogonality=orthogonality,
        progress=False,
    )
    x, _ = data.sample(training.eval_samples)
    tables = [latent_table(sae, i, data, x) for i in range(training.seeds)]
    matchings = [
        match_latents(cosines(sae.W_dec[i], data.vectors).cpu(), torch.from_numpy(t["live"].to_numpy()))
        for i, t in enumerate(tables)
    ]
    best = lowest_loss_instance(sae, x, l1_coefficient)
    censuses = [census(t, clean_cosine) for t in tables]
    return SAERun(sae, x, tables, censuses, matchings, best, log.seconds)
