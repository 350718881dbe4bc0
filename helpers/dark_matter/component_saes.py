"""SAEs trained on the two parts of another SAE's error (dark matter §6, Fig. 8).

Given an SAE and its vector probe `b`, `LinearError(x) = b(x)` and `NonlinearError(x) =
x - Sae(x) - b(x)` are computed batch by batch from the store's activations as the new SAE trains,
so no component is ever written to disk. Each component is centred and scaled to mean squared norm
`d` (measured on a separate sample of the same rows) before training, as the suite's activations
are, and the scaling is folded into the saved SAE so that it reads the raw component.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from sae_lens import SAE

from helpers.dark_matter.decomposition import AffineMap, ErrorDecomposition, ExplainedVariance
from helpers.lm.activation_store import ActivationStore, stream_rows
from helpers.lm.suite import fold_normalisation
from helpers.lm.topk_training import TopKTraining, TrainingLog, train_topk_sae

COMPONENTS = ("LinearError", "NonlinearError")
NORMALISATION_BATCHES = 32


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


def predicted_loss_shares(d: ErrorDecomposition, test: np.ndarray) -> dict[str, dict[str, float]]:
    """Fig. 9's two predictions of the share of the SAE's loss gap that adding a component back
    recovers, over the `test` tokens: its mean norm over the mean error norm ("norm share"), and
    the share of the error's squared norm it removes, `1 - Σ‖other component‖² / Σ‖SaeError‖²`
    ("variance share")."""
    norms = {component: d.norm(component)[test] for component in COMPONENTS}
    error = d.error_norm[test]
    return {
        component: {
            "norm share": norms[component].mean() / error.mean(),
            "variance share": 1 - (norms[other] ** 2).sum() / (error**2).sum(),
        }
        for component, other in zip(COMPONENTS, reversed(COMPONENTS), strict=True)
    }


@torch.no_grad()
def component_fvu(
    sae: SAE,
    component: Callable[[torch.Tensor], torch.Tensor],
    activations: np.ndarray,
    rows: np.ndarray,
    device: torch.device,
) -> float:
    """The pooled FVU of `sae` on `component(x)` over the store's `rows` (e.g. the test tokens)."""
    score = ExplainedVariance()
    for _, x in stream_rows(activations, rows, device):
        values = component(x)
        score.add(values, sae(values))
    return score.fvu


def _component_batches(
    store: ActivationStore,
    site: str,
    rows: np.ndarray,
    component: Callable[[torch.Tensor], torch.Tensor],
    batch_size: int,
    seed: int,
    device: torch.device,
) -> Iterator[torch.Tensor]:
    for x in store.batches(site, batch_size, seed, rows):
        yield component(x.to(device))


def train_component_sae(
    store: ActivationStore,
    site: str,
    rows: np.ndarray,
    component: Callable[[torch.Tensor], torch.Tensor],
    training: TopKTraining,
    device: torch.device,
) -> tuple[SAE, TrainingLog]:
    """A TopK SAE trained on `component(x)` for the store's `rows`; it reads raw component values."""
    sample = _component_batches(store, site, rows, component, training.batch_size, training.seed + 1, device)
    held = torch.cat([next(sample) for _ in range(NORMALISATION_BATCHES)]).double()
    mean = held.mean(0)
    unit = held.shape[1] ** 0.5 / float((held - mean).pow(2).sum(-1).mean().sqrt())
    mean = mean.float()
    batches = (
        (c - mean) * unit
        for c in _component_batches(store, site, rows, component, training.batch_size, training.seed, device)
    )
    sae, log = train_topk_sae(batches, held.shape[1], training, device)
    return fold_normalisation(sae, mean, unit).eval(), log
