"""A Part I sweep: every setting × seed trained as one batched toy model, the lowest-loss seed kept.

Toy models of superposition often settle in local minima, so each setting (a sparsity, an
importance, a cell of a grid) trains from several random initialisations. All of them are
instances of one model, laid out setting-major (`repeat_per_seed`), and each setting keeps its
lowest-loss instance, as the authors' own phase-diagram code does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import torch

from helpers.book.random_source import RandomSource
from helpers.toys.models import (
    AbsoluteValueModel,
    SparseFeatures,
    ToyModel,
    evaluate_loss,
    lowest_loss_instances,
    repeat_per_seed,
    train_toy_model,
)

if TYPE_CHECKING:
    from helpers.profiles import ToyTraining


def sweep_features(
    probability: torch.Tensor,
    seeds: int,
    n_features: int,
    device: torch.device | str = "cpu",
    **options,
) -> SparseFeatures:
    """The data of a sweep: every feature at its setting's `probability` (`[settings]`), one row per
    instance, setting-major; `options` go to `SparseFeatures` (pairs, `signed`)."""
    rows = repeat_per_seed(probability, seeds)[:, None].expand(-1, n_features).contiguous()
    return SparseFeatures(rows, **options).to(device)


@dataclass
class Sweep:
    """A trained sweep: the batched `model`, every instance's `loss` (`[settings * seeds]`), the
    index of the kept (lowest-loss) instance of each setting (`best`, `[settings]`) and the
    training time."""

    model: ToyModel | AbsoluteValueModel
    loss: torch.Tensor
    best: torch.Tensor
    seconds: float

    @property
    def seeds(self) -> int:
        return len(self.loss) // len(self.best)

    @cached_property
    def W(self) -> torch.Tensor:
        """The embedding `W` of every instance of a `ToyModel` sweep, on the CPU."""
        return self.model.W.detach().cpu()

    def per_setting(self, values: torch.Tensor) -> torch.Tensor:
        """Per-instance `values` (`[instances, ...]`) as `[settings, seeds, ...]`."""
        return values.reshape(len(self.best), self.seeds, *values.shape[1:])

    def differs_from_kept(self, values: torch.Tensor, tolerance: float = 0.0) -> torch.Tensor:
        """`[settings, seeds]`: whether an instance's `values` (a number or a vector per instance)
        differ from its setting's kept instance's by more than `tolerance` in some entry."""
        gap = (self.per_setting(values) - values[self.best][:, None]).abs() > tolerance
        return gap.reshape(*gap.shape[:2], -1).any(dim=-1)

    def seed_miss_rate(self, values: torch.Tensor, tolerance: float = 0.0) -> float:
        """Percent of the seeds whose `values` differ from the kept seed's (see `differs_from_kept`):
        how often a single seed would have told another story."""
        return 100 * self.differs_from_kept(values, tolerance).double().mean().item()


def train_sweep(
    model: ToyModel | AbsoluteValueModel,
    features: SparseFeatures,
    importance: torch.Tensor,
    seeds: int,
    training: ToyTraining,
    source: RandomSource,
    *,
    progress: bool = True,
    loss: Callable[[ToyModel | AbsoluteValueModel], torch.Tensor] | None = None,
) -> Sweep:
    """Train every instance of `model` at once with `training`'s steps, batch size and learning
    rate, then keep the lowest-loss seed of each setting. `loss` maps the trained model to the
    per-instance loss the seeds are compared by; by default it is `evaluate_loss` on
    `training.eval_samples` fresh samples from `source`, drawn after training's."""
    log = train_toy_model(
        model,
        features,
        importance,
        steps=training.steps,
        batch_size=training.batch_size,
        lr=training.lr,
        source=source,
        log_every=training.log_every,
        progress=progress,
    )
    if loss is None:
        final = evaluate_loss(model, features, importance, training.eval_samples, source)
    else:
        final = loss(model)
    return Sweep(model, final, lowest_loss_instances(final, seeds), log.seconds)


def train_pair_sweep(
    correlated: int,
    anticorrelated: int,
    probability: torch.Tensor,
    seeds: int,
    training: ToyTraining,
    generator: torch.Generator,
    source: RandomSource,
    device: torch.device | str = "cpu",
) -> Sweep:
    """A sweep of 2-d toy models whose features all come in pairs, `correlated` pairs first, then
    `anticorrelated` ones, all of importance 1: every probability × seed as one model."""
    n_features = 2 * (correlated + anticorrelated)
    features = sweep_features(
        probability,
        seeds,
        n_features,
        device,
        correlated_pairs=correlated,
        anticorrelated_pairs=anticorrelated,
    )
    model = ToyModel(features.n_instances, n_features, 2, generator=generator, device=device)
    importance = torch.ones(n_features, device=device)
    return train_sweep(model, features, importance, seeds, training, source, progress=False)
