"""The post's toy settings and how Part II trains and reads SAEs (Chanin et al., "Broken Latents").

`linear_features` builds the 20 features of the narrow-SAE sections. `SAETrainer` trains several
seeds of one SAE at once and reads them into an `SAERun`: each seed's latent table, and its
`census`, the counts the post reads off its heatmaps (which true features have a clean latent,
duplicates, broken (mixed) latents, dead latents). `lowest_loss_instance` picks the seed whose
loss is lowest on held-out samples, the run a reader would keep; the claims are judged on it, with
the tally over all seeds beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
import torch

from helpers.profiles import ToySaes
from helpers.toy_saes.latent_metrics import Matching, cosines, latent_table, match_latents
from helpers.toy_saes.sae import OrthogonalitySchedule, ToySAE, train_toy_saes
from helpers.toy_saes.true_features import TrueFeatures

CLEAN_COSINE = 0.95  # the book's one threshold for a clean latent
# in superposition (fewer dimensions than features) no decoder row can point along one feature and
# away from all the others, so there the threshold is lowered
SUPERPOSITION_CLEAN_COSINE = 0.9
N_LINEAR_FEATURES = 20


def clean_latent_words(superposition: bool = False) -> str:
    """The book's definition of a clean latent, as a claim's criterion states it."""
    if not superposition:
        return f"a clean latent (a live latent whose decoder has cosine > {CLEAN_COSINE} with one feature)"
    return (
        f"a clean latent (a live latent whose decoder has cosine > {SUPERPOSITION_CLEAN_COSINE} with one "
        f"feature: the book's {CLEAN_COSINE}, lowered in superposition, where features outnumber dimensions "
        "and no decoder row can point along one feature and away from all the others)"
    )


def exact_rule(features: str, superposition: bool = False) -> str:
    """The criterion's words for `Census.is_exactly`: one clean latent per feature, nothing else."""
    clean = clean_latent_words(superposition)
    return f"the kept seed has {clean} for each of {features} and no other live latent"


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


def feature_list(features: Iterable[int]) -> str:
    """Features as the tables and claims list them: "4, 5, 6", or "none"."""
    return ", ".join(map(str, sorted(features))) or "none"


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

    @property
    def extras(self) -> int:
        """Live latents beyond one clean latent per covered feature: duplicates and broken ones."""
        return self.duplicates + len(self.broken)

    def is_exactly(self, features: set[int]) -> bool:
        """One clean latent for each of `features`, and no other live latent."""
        return self.clean_features == features and self.extras == 0


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
    """Several seeds of one toy SAE trained on `data`, with each seed's latent table, census and
    optimal one-to-one matching of live latents to true features (by decoder cosine) on held-out
    samples `x`, and `best`, the seed of lowest held-out loss: the one a reader would keep."""

    sae: ToySAE
    data: TrueFeatures
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

    def seeds_exact(self, features: set[int]) -> int:
        """How many seeds have exactly one clean latent for each of `features` and no other live one."""
        return sum(c.is_exactly(features) for c in self.census)

    def seeds_with_extras(self) -> int:
        """How many seeds keep a live latent beyond one clean latent per feature."""
        return sum(c.extras > 0 for c in self.census)

    def tally(self) -> pd.DataFrame:
        """Per seed: clean features, matching score, duplicates, broken and dead latents, and which
        seed is kept."""
        return pd.DataFrame(
            {
                "clean features": [feature_list(c.clean_features) for c in self.census],
                "matching score": [round(m.score, 3) for m in self.matchings],
                "duplicates": [c.duplicates for c in self.census],
                "broken latents": [len(c.broken) for c in self.census],
                "dead latents": [c.dead for c in self.census],
                "kept": ["←" if i == self.best else "" for i in range(len(self.census))],
            }
        ).rename_axis("seed")


def clean_features_by_run(runs: Mapping[str, SAERun]) -> pd.DataFrame:
    """Each seed's clean features, one column per named run."""
    return pd.DataFrame({name: run.tally()["clean features"] for name, run in runs.items()})


@dataclass(frozen=True)
class SAETrainer:
    """How a section trains its toy SAEs: under `training`'s settings, with `d_sae` latents and
    `l1_coefficient`, a latent counting as clean above `clean_cosine`. Every run draws its initial
    weights from `generator`, so the order of the `train` calls fixes each run's initialisation."""

    training: ToySaes
    generator: torch.Generator
    d_sae: int
    l1_coefficient: float
    clean_cosine: float = CLEAN_COSINE

    def train(
        self,
        data: TrueFeatures,
        tied: bool,
        orthogonality: OrthogonalitySchedule | None = None,
        **sae_options,
    ) -> SAERun:
        """Train `training.seeds` SAEs on `data` (`training.orthogonality_samples` samples when
        the orthogonality loss is on, `training.samples` otherwise) and read them on
        `training.eval_samples` fresh samples; `sae_options` go to `ToySAE`."""
        training = self.training
        sae = ToySAE(
            training.seeds,
            data.d_model,
            self.d_sae,
            tied=tied,
            generator=self.generator,
            device=data.vectors.device,
            **sae_options,
        )
        log = train_toy_saes(
            sae,
            data,
            samples=training.orthogonality_samples if orthogonality else training.samples,
            batch_size=training.batch_size,
            lr=training.lr,
            l1_coefficient=self.l1_coefficient,
            orthogonality=orthogonality,
            progress=False,
        )
        x, _ = data.sample(training.eval_samples)
        tables = [latent_table(sae, i, data, x) for i in range(training.seeds)]
        matchings = [
            match_latents(cosines(sae.W_dec[i], data.vectors).cpu(), torch.tensor(t["live"].to_numpy()))
            for i, t in enumerate(tables)
        ]
        best = lowest_loss_instance(sae, x, self.l1_coefficient)
        censuses = [census(t, self.clean_cosine) for t in tables]
        return SAERun(sae, data, x, tables, censuses, matchings, best, log.seconds)
