"""SAEs trained on the two parts of another SAE's error (dark matter §6, Fig. 8).

Given an SAE and its vector probe `b`, `LinearError(x) = b(x)` and `NonlinearError(x) =
x - Sae(x) - b(x)` are computed once for the training rows, in memory (never written to disk), and
the new SAE trains on shuffled batches of them. Each component is centred and scaled to mean
squared norm `d` (measured on all the rows) before training, as the suite's activations are, and
the scaling is folded into the saved SAE so that it reads the raw component.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
from sae_lens import SAE

from helpers.book.intervals import ratio_replicates, seed_mean
from helpers.dark_matter.decomposition import (
    NORMS,
    AffineMap,
    ErrorDecomposition,
    ExplainedVariance,
    TokenSplit,
    linear_prediction_scores,
)
from helpers.lm.activation_store import ActivationStore, stream_rows
from helpers.lm.suite import REPLICA_SEED_STRIDE, fold_normalisation
from helpers.lm.topk_training import Plateau, PlateauLog, TopKTraining, TrainingLog, train_topk_sae_to_plateau

COMPONENTS = ("LinearError", "NonlinearError")


def error_component(
    sae: SAE, vector_probe: AffineMap, component: str
) -> Callable[[torch.Tensor], torch.Tensor]:
    """`x ↦ LinearError(x)` or `x ↦ NonlinearError(x)` of `sae`, in float32."""
    if component not in COMPONENTS:
        raise ValueError(f"component {component!r} is not one of {', '.join(COMPONENTS)}.")

    @torch.no_grad()
    def linear(x: torch.Tensor) -> torch.Tensor:
        return vector_probe(x).float()

    @torch.no_grad()
    def nonlinear(x: torch.Tensor) -> torch.Tensor:
        return x - sae(x) - vector_probe(x).float()

    return linear if component == "LinearError" else nonlinear


def with_component(
    sae: SAE, vector_probe: AffineMap, component: str
) -> Callable[[torch.Tensor], torch.Tensor]:
    """`x ↦ Sae(x) + component(x)` in float32, to splice into the model (Fig. 9): `Sae(x) + b(x)`
    for the linear error, `x - b(x)` (which is `Sae(x) + NonlinearError(x)`) for the nonlinear."""
    if component not in COMPONENTS:
        raise ValueError(f"component {component!r} is not one of {', '.join(COMPONENTS)}.")
    if component == "LinearError":
        return lambda x: sae(x) + vector_probe(x).float()
    return lambda x: x - vector_probe(x).float()


def most_balanced(decompositions: dict[str, ErrorDecomposition]) -> str:
    """The SAE (by name) whose linear and nonlinear FVU are closest in ratio, so that neither part
    of its error has more to explain (the paper's choice for Fig. 8)."""
    balance = {
        name: abs(np.log(d.fvu_linear / d.fvu_nonlinear))
        for name, d in decompositions.items()
        if d.fvu_linear > 0
    }
    return min(balance, key=balance.get)


def predicted_loss_shares(
    d: ErrorDecomposition, where: np.ndarray, groups: np.ndarray, counts: np.ndarray
) -> dict[str, dict[str, np.ndarray]]:
    """Fig. 9's two predictions of the share of the SAE's loss gap that adding a component back
    recovers, over the tokens `where` selects (a mask over `d`'s rows): its mean norm over the mean
    error norm ("norm share"), and the share of the error's squared norm it removes,
    `1 - Σ‖other component‖² / Σ‖SaeError‖²` ("variance share"). Each is given under every
    resample of the units that `groups` labels for those tokens (`counts`: `[resamples, units]`;
    a row of ones gives the value on all of them)."""
    norms = {component: d.norm(component)[where] for component in COMPONENTS}
    error = d.error_norm[where]
    return {
        component: {
            "norm share": ratio_replicates(norms[component], error, groups, counts),
            "variance share": 1 - ratio_replicates(norms[other] ** 2, error**2, groups, counts),
        }
        for component, other in zip(COMPONENTS, reversed(COMPONENTS), strict=True)
    }


def norm_prediction_test(
    decompositions: dict[str, ErrorDecomposition],
    activations: np.ndarray,
    split: TokenSplit,
    counts: np.ndarray,
    device: torch.device,
) -> tuple[pd.Series, pd.DataFrame]:
    """Fig. 7: the test R² of each SAE's six squared norms (`NORMS`) from an affine map of x, one
    regression with every `(SAE, vector)` pair as a column; and the same R² under each resample of
    the test contexts (`counts`), one row per resample."""
    columns = pd.MultiIndex.from_tuples([(name, vector) for name in decompositions for vector in NORMS])
    targets = np.column_stack([decompositions[name].norm(vector) ** 2 for name, vector in columns])
    scores = linear_prediction_scores(activations, targets, split, device)
    return (
        pd.Series(scores.r2_by_output, columns),
        pd.DataFrame(scores.r2_by_output_replicates(counts), columns=columns),
    )


def nonlinear_norm_margin(r2: pd.DataFrame) -> pd.Series:
    """Fig. 7's margin in each row of `r2` (columns: `(SAE, vector)` pairs as in `NORMS`; rows: the
    whole sample or bootstrap resamples): the lowest median R² over the SAEs among the components
    other than x and NonlinearError, minus NonlinearError's median. Positive: the nonlinear error's
    norm is the least predictable."""
    medians = r2.T.groupby(level=1).median().T
    return medians.drop(columns=["x", "NonlinearError"]).min(axis=1) - medians["NonlinearError"]


@torch.no_grad()
def component_fvu(
    sae: SAE,
    component: Callable[[torch.Tensor], torch.Tensor],
    activations: np.ndarray,
    split: TokenSplit,
    device: torch.device,
) -> ExplainedVariance:
    """The scores of `sae` on `component(x)` over the split's test tokens, by test context
    (`split.score_groups`): `.fvu` is the pooled FVU, `.fvu_replicates` resamples it."""
    groups, n_groups = split.score_groups()
    groups = torch.from_numpy(groups)
    score = ExplainedVariance(n_groups)
    for where, x in stream_rows(activations, split.test, device):
        values = component(x)
        score.add(values, sae(values), groups[where].to(device))
    return score


def _shuffled_batches(values: torch.Tensor, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless batches of `values`' rows, a fresh seeded permutation each epoch."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(values), generator=generator).to(values.device)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield values[order[start : start + batch_size]]


def train_component_sae(
    store: ActivationStore,
    site: str,
    rows: np.ndarray,
    held_out: np.ndarray,
    component: Callable[[torch.Tensor], torch.Tensor],
    training: TopKTraining,
    plateau: Plateau,
    device: torch.device,
) -> tuple[SAE, TrainingLog, PlateauLog]:
    """A TopK SAE trained on `component(x)` for the store's `rows` until its FVU on the `held_out`
    rows plateaus (`train_topk_sae_to_plateau`); it reads raw component values. The component is
    computed once per row, in float32 (the SAE sees each row many times), and normalised by its
    mean and root mean squared norm over the training rows."""
    activations = store.activations(site)

    def values_at(where: np.ndarray) -> torch.Tensor:
        return torch.cat([component(x) for _, x in stream_rows(activations, np.sort(where), device)])

    values = values_at(rows)
    mean = values.sum(0, dtype=torch.float64) / len(values)
    mean = mean.float()
    squared = (values - mean).pow(2).sum(-1, dtype=torch.float64)
    unit = values.shape[1] ** 0.5 / float(squared.mean().sqrt())
    shuffled = _shuffled_batches(values, training.batch_size, training.seed)
    batches = ((batch - mean) * unit for batch in shuffled)
    validation = (values_at(held_out) - mean) * unit
    sae, log, curve = train_topk_sae_to_plateau(batches, validation, training, plateau, device)
    return fold_normalisation(sae, mean, unit).eval(), log, curve


@dataclass
class ComponentRun:
    """One SAE trained on one error component: the SAE (reading raw component values), its
    training log, its held-out curve, and its scores on the test tokens by test context."""

    sae: SAE
    log: TrainingLog
    curve: PlateauLog
    score: ExplainedVariance


def train_component_saes(
    store: ActivationStore,
    site: str,
    fit: TokenSplit,
    components: Mapping[str, Callable[[torch.Tensor], torch.Tensor]],
    training: TopKTraining,
    plateau: Plateau,
    seeds: int,
    activations: np.ndarray,
    split: TokenSplit,
    device: torch.device,
) -> dict[str, list[ComponentRun]]:
    """`seeds` SAEs on each of `components` (by name), trained on the store's `fit.train` rows to a
    plateau read on `fit.test` (`train_component_sae`), seed r with `training.seed +
    REPLICA_SEED_STRIDE * r` (as the suite's replicas), and each scored on `split`'s test tokens
    of `activations` (`component_fvu`)."""
    runs: dict[str, list[ComponentRun]] = {name: [] for name in components}
    for r in range(seeds):
        seeded = replace(training, seed=training.seed + REPLICA_SEED_STRIDE * r)
        for name, component in components.items():
            sae, log, curve = train_component_sae(
                store, site, fit.train, fit.test, component, seeded, plateau, device
            )
            runs[name].append(
                ComponentRun(sae, log, curve, component_fvu(sae, component, activations, split, device))
            )
    return runs


def fvu_gap_rows(runs: Mapping[str, Sequence[ComponentRun]], counts: np.ndarray) -> np.ndarray:
    """`[1 + resamples]`: the test FVU of the SAEs on NonlinearError minus those on LinearError,
    seed r's against seed r's, the mean over seeds; row 0 on the whole test set, the others under
    each resample of the test contexts (`counts`) with the seeds drawn with replacement."""
    pairs = list(zip(runs["LinearError"], runs["NonlinearError"], strict=True))
    gaps = np.column_stack(
        [
            np.concatenate(
                [
                    [nonlinear.score.fvu - linear.score.fvu],
                    nonlinear.score.fvu_replicates(counts) - linear.score.fvu_replicates(counts),
                ]
            )
            for linear, nonlinear in pairs
        ]
    )
    return seed_mean(gaps, stream=0)
