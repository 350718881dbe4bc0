"""The kinds of broken latent the post describes, read off a trained `SAERun` (Chanin et al.).

Absorption (a latent that encodes "parent and not child" and a child latent that decodes both),
combo latents (a spare latent firing on two features together instead of their own latents),
children that take in part of a parent they co-occur with, and a single latent that hedges
between a parent and its children, as the top principal component of the data does.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from helpers.toy_saes.latent_metrics import cosines
from helpers.toy_saes.runs import SAERun

POSTS_ABSORPTION_TABLE = frozenset(
    {
        ("feat0 ∧ ¬feat1", "feat0"),
        ("feat1", "feat0 + feat1"),
        ("feat2", "feat2"),
        ("feat3", "feat3"),
    }
)
"""The post's untied SAE with feature 1 a child of feature 0, as (encoder, decoder) descriptions."""


def shows_absorption_table(table: pd.DataFrame) -> bool:
    """Whether the latents of a `latent_table` are, as (encoder, decoder) descriptions, exactly the
    post's absorption table."""
    return set(zip(table["encoder"], table["decoder"], strict=True)) == POSTS_ABSORPTION_TABLE


def combo_latents(run: SAERun) -> list[tuple[int, int]]:
    """Every `(seed, latent)` whose latent is broken and fires on exactly two features together
    (its encoder reads "featA ∧ featB", with no feature required absent)."""
    return [
        (seed, latent)
        for seed, (table, seed_census) in enumerate(zip(run.tables, run.census, strict=True))
        for latent in seed_census.broken
        if table.loc[latent, "encoder"].count("∧") == 1 and "¬" not in table.loc[latent, "encoder"]
    ]


@dataclass(frozen=True)
class ComboFiring:
    """How a combo latent's seed fires on each of its two features alone and on both together:
    `table` has the live latents' activations, the SAE's L1 (activations times decoder norms,
    summed) and the true L1 per input; `pair_l1` is the SAE's L1 on the pair."""

    seed: int
    latent: int
    encoder: str
    table: pd.DataFrame
    pair_l1: float


def combo_firing(run: SAERun, seed: int, latent: int) -> ComboFiring:
    """Feed seed `seed` of `run` the two features its combo latent `latent` fires on, alone and
    together, at their firing magnitudes."""
    encoder = run.tables[seed].loc[latent, "encoder"]
    a, b = (int(term.removeprefix("feat")) for term in encoder.split(" ∧ "))
    data = run.data
    patterns = torch.zeros(3, data.n_features, device=data.vectors.device)
    patterns[0, a] = patterns[1, b] = 1.0
    patterns[2, [a, b]] = 1.0
    inputs = patterns * data.magnitude
    with torch.no_grad():
        h = run.sae.encode(inputs @ data.vectors)[seed]
        l1 = h @ run.sae.W_dec[seed].norm(dim=-1)
    live = torch.tensor(run.tables[seed]["live"].to_numpy())
    table = pd.DataFrame(
        h[:, live].cpu().numpy(), columns=[f"latent {j}" for j in torch.nonzero(live).flatten().tolist()]
    )
    table.insert(0, "input", [f"feat{a}", f"feat{b}", f"feat{a} + feat{b}"])
    table["SAE L1"] = l1.cpu().numpy()
    table["true L1"] = inputs.sum(dim=1).cpu().numpy()
    return ComboFiring(seed, latent, encoder, table, l1[2].item())


@dataclass(frozen=True)
class ChildLatents:
    """The kept seed's latents for two sibling children: `latent_of[child]` decodes closest to the
    child; `parent_cos[child]` and `other_child_cos[child]` are that latent's decoder cosines with
    the parent and with the other child. The two latents' dot product (as unit vectors) has the
    part `overlap_through_parent` from the parent and `overlap_through_children` from the children."""

    latent_of: dict[int, int]
    parent_cos: dict[int, float]
    other_child_cos: dict[int, float]
    overlap_through_parent: float
    overlap_through_children: float


def child_latents(run: SAERun, children: tuple[int, int], parent: int) -> ChildLatents:
    """Read how the kept seed's latents for `children` take in `parent` and each other."""
    decoder_cos = cosines(run.sae.W_dec[run.best], run.data.vectors).cpu()
    latent_of = {child: int(decoder_cos[:, child].argmax()) for child in children}
    first, second = children
    both = decoder_cos[[latent_of[first], latent_of[second]]]
    return ChildLatents(
        latent_of=latent_of,
        parent_cos={child: decoder_cos[latent_of[child], parent].item() for child in children},
        other_child_cos={
            first: decoder_cos[latent_of[first], second].item(),
            second: decoder_cos[latent_of[second], first].item(),
        },
        overlap_through_parent=(both[0, parent] * both[1, parent]).item(),
        overlap_through_children=(both[0, list(children)] * both[1, list(children)]).sum().item(),
    )


def single_latent_directions(untied: SAERun, tied: SAERun) -> dict[str, torch.Tensor]:
    """The kept seed's one latent of a one-latent untied SAE (encoder and decoder) and tied SAE."""
    return {
        "untied encoder": untied.sae.W_enc[untied.best, :, 0],
        "untied decoder": untied.sae.W_dec[untied.best, 0],
        "tied": tied.sae.W_dec[tied.best, 0],
    }


def top_principal_component(x: torch.Tensor) -> torch.Tensor:
    """The unit eigenvector of the largest eigenvalue of the covariance of the rows of `x`
    (computed in double precision, returned as float32; its sign is arbitrary)."""
    covariance = torch.cov(x.T.double())
    return torch.linalg.eigh(covariance).eigenvectors[:, -1].float()


def off_span_share(direction: torch.Tensor, vectors: torch.Tensor) -> float:
    """The share of `direction`'s squared norm outside the span of the orthonormal rows of `vectors`."""
    return 1 - ((vectors @ direction).norm() / direction.norm()).item() ** 2
