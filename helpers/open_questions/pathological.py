"""Which part of an SAE's error is pathological (Part V): each part taken away from the activation
and spliced into the model, against a random error of the same per-token norm.

Gurnee (2024) finds that splicing an SAE's reconstruction `Sae(x)`, i.e. perturbing `x` by
`-SaeError(x)`, moves the model's next-token distribution more than perturbing it by a random
vector of the same norm on every token. Here the same test is applied to each part of the error the
dark-matter paper separates: `x - LinearError(x)` and `x - NonlinearError(x)` against their own
equal-norm random twins. Heimersheim & Mendel (2024) find that Gurnee's effect disappears when the
random direction is replaced by the difference between two random activations, so each part gets
that twin too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from sae_lens import SAE

from helpers.dark_matter.component_saes import with_component
from helpers.dark_matter.decomposition import AffineMap
from helpers.lm.evaluation import SplicedCosts, equal_norm_perturbation, sae_replacement

ERROR_PARTS = ("SaeError", "LinearError", "NonlinearError")


def without_part(sae: SAE, vector_probe: AffineMap, part: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """`x ↦ x - part(x)` in float32: the reconstruction `Sae(x)` for the whole error, `x - b(x)`
    for the linear error, `Sae(x) + b(x)` for the nonlinear error."""
    if part == "SaeError":
        return lambda x: sae(x.float())
    if part == "LinearError":
        return with_component(sae, vector_probe, "NonlinearError")
    if part == "NonlinearError":
        return with_component(sae, vector_probe, "LinearError")
    raise ValueError(f"part {part!r} is not one of {', '.join(ERROR_PARTS)}.")


def activation_differences(
    activations: np.ndarray, rows: np.ndarray, n_pairs: int, seed: int
) -> torch.Tensor:
    """`[≤ n_pairs, d]`: `x_a - x_b` for pairs of rows drawn at random (seeded) from `rows` of
    `activations`, the directions of Heimersheim & Mendel's baseline; pairs with equal activations
    are left out."""
    rng = np.random.default_rng(seed)
    first, second = (np.sort(rng.choice(rows, n_pairs)) for _ in range(2))
    order = rng.permutation(n_pairs)  # sorted reads of a memory-mapped store, pairs shuffled apart
    differences = torch.from_numpy(np.asarray(activations[first], np.float32)[order]) - torch.from_numpy(
        np.asarray(activations[second], np.float32)
    )
    return differences[differences.norm(dim=-1) > 0]


def part_splices(
    sae: SAE,
    vector_probe: AffineMap,
    part: str,
    differences: torch.Tensor,
    seed: int,
    max_norm: float = float("inf"),
) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """The splice that takes `part` of the error away (`"taken away"`), and its two twins: `x` plus
    a vector of the part's norm on each token in a uniformly random direction (`"random"`, Gurnee's
    baseline) or along the difference of two activations drawn from `differences`
    (`"activation difference"`, Heimersheim & Mendel's). Seeded; tokens whose norm exceeds
    `max_norm` keep their own activation in all three."""
    removed = without_part(sae, vector_probe, part)
    return {
        "taken away": sae_replacement(removed, max_norm),
        "random": equal_norm_perturbation(removed, seed, max_norm),
        "activation difference": equal_norm_perturbation(removed, seed + 1, max_norm, differences),
    }


def divergence_ratio_rows(part: SplicedCosts, twin: SplicedCosts, weights: np.ndarray) -> np.ndarray:
    """`[rows]`: the part's mean KL divergence from the clean model over its random twin's, each a
    weighted mean over contexts (`weights`, `[rows, contexts]`; row 0 the whole sample)."""
    return (weights @ part.divergence) / (weights @ twin.divergence)


def loss_ratio_rows(
    part: SplicedCosts, twin: SplicedCosts, clean_loss: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """`[rows]`: the part's rise in mean loss over the clean model's, over its random twin's rise,
    each a weighted mean over contexts (as `divergence_ratio_rows`)."""
    return (weights @ (part.loss - clean_loss)) / (weights @ (twin.loss - clean_loss))
