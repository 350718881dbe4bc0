"""How well an SAE's latents match known true features (Part II).

Cosine tables of encoder and decoder directions against the true features (and of latents
against each other), a one-to-one matching score (the optimal assignment of latents to
features), dead latents, the number of peaks in a latent's activation histogram, and plain-words
descriptions of what each latent's encoder fires on and what its decoder writes
("feat0 ∧ ¬feat1", "feat0 + feat1").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.optimize import linear_sum_assignment
from scipy.signal import find_peaks

from helpers.toy_saes.sae import ToySAE
from helpers.toy_saes.true_features import MAX_ENUMERATED_FEATURES, TrueFeatures


def cosines(directions: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """`[latents, features]` cosine similarities of rows of `directions` with rows of `features`."""
    unit = torch.nn.functional.normalize
    return unit(directions.detach().float(), dim=-1) @ unit(features.detach().float(), dim=-1).T


def off_diagonal(matrix: torch.Tensor) -> torch.Tensor:
    """The entries of a square matrix off its diagonal, flattened row by row (the cosines between
    distinct latents of `cosines(W, W)`, say)."""
    return matrix[~torch.eye(matrix.shape[0], dtype=torch.bool, device=matrix.device)]


def direction_table(directions: Mapping[str, torch.Tensor], vectors: torch.Tensor) -> pd.DataFrame:
    """Cosine of each named direction (one column each) with each feature vector (rows "feat0", ...)."""
    return pd.DataFrame(
        {name: cosines(d[None], vectors)[0].cpu().numpy() for name, d in directions.items()},
        index=[f"feat{f}" for f in range(vectors.shape[0])],
    )


@dataclass(frozen=True)
class Matching:
    """The optimal one-to-one assignment of latents to features by cosine."""

    latents: tuple[int, ...]
    features: tuple[int, ...]
    matched_cosines: tuple[float, ...]

    @property
    def score(self) -> float:
        """Mean cosine over the matched pairs (min(latents, features) of them)."""
        return float(np.mean(self.matched_cosines))

    def feature_of(self, latent: int) -> int | None:
        return dict(zip(self.latents, self.features, strict=True)).get(latent)


def match_latents(cosine_table: torch.Tensor, live: torch.Tensor | None = None) -> Matching:
    """Assign latents to features one-to-one, maximising the total cosine; only `live` latents
    (a boolean mask) take part when given."""
    candidates = torch.arange(cosine_table.shape[0]) if live is None else torch.nonzero(live).flatten()
    table = cosine_table[candidates].numpy()
    rows, cols = linear_sum_assignment(table, maximize=True)
    return Matching(
        tuple(int(candidates[r]) for r in rows),
        tuple(int(c) for c in cols),
        tuple(float(table[r, c]) for r, c in zip(rows, cols, strict=True)),
    )


def live_latents(h: torch.Tensor, decoder_norms: torch.Tensor, min_share: float = 0.01) -> torch.Tensor:
    """Latents that take part in reconstruction: they fire on some sample and their mean
    contribution `E[h_j] * |W_dec_j|` is at least `min_share` of the largest latent's
    (a tied SAE kills a latent by shrinking its decoder, so it may still fire, faintly)."""
    contribution = h.mean(dim=0) * decoder_norms
    return (h > 0).any(dim=0) & (contribution >= min_share * contribution.max())


def count_peaks(
    activations: torch.Tensor,
    bins: int = 80,
    min_share: float = 0.01,
    min_separation: float = 0.05,
    floor: float = 0.05,
) -> int:
    """Peaks in the histogram of a latent's activations above `floor` times the largest (a tied
    SAE's latents fire faintly on many inputs through the decoder bias and small overlaps; those
    near-zero firings are not a feature). Each peak holds at least `min_share` of the counted
    activations above the dip that separates it from its neighbours, and peaks closer than
    `min_separation` of the largest activation count once."""
    values = activations.detach().float().numpy()
    if values.size == 0 or values.max() <= 0:
        return 0
    values = values[values > floor * values.max()]
    counts, _ = np.histogram(values, bins=bins, range=(0.0, float(values.max()) * (1 + 1e-6)))
    padded = np.concatenate([[0], counts, [0]])
    peaks, _ = find_peaks(
        padded,
        prominence=max(1.0, min_share * values.size),
        distance=max(1, round(min_separation * bins)),
    )
    return len(peaks)


def describe_decoder(direction: torch.Tensor, features: torch.Tensor, min_relative: float = 0.15) -> str:
    """A decoder direction in the features' terms: coefficients of its projection onto each
    feature relative to the largest, e.g. "feat5 + 0.4 feat12 - 0.2 feat7"."""
    coefficients = features.float() @ direction.float()
    largest = coefficients.abs().max()
    if largest == 0:
        return "zero"
    relative = coefficients / largest
    terms = []
    shown = [f for f in range(len(relative)) if abs(float(relative[f])) >= min_relative]
    for f in sorted(shown, key=lambda f: (-round(abs(float(relative[f])), 1), f)):
        r = float(relative[f])
        size = "" if abs(round(r, 1)) == 1.0 else f"{abs(r):.1f} "
        terms.append((" - " if r < 0 else " + ") + f"{size}feat{f}")
    text = "".join(terms)
    return text[3:] if text.startswith(" + ") else "-" + text[3:]


def describe_encoder(
    encode: Callable[[torch.Tensor], torch.Tensor],
    patterns: torch.Tensor,
    vectors: torch.Tensor,
    magnitude: torch.Tensor,
    parent_of: Callable[[int], int | None],
    min_relative: float = 0.05,
) -> list[str]:
    """What each latent fires on, as a conjunction of features present and absent.

    `encode` maps inputs `[n, d]` to activations `[n, latents]`; every possible on/off pattern of
    the features is fed through it. A latent that fires (above `min_relative` of its largest
    activation) on exactly the patterns where some features are on and others off is written as
    that conjunction, leaving out what the hierarchy implies (a child's parent). Otherwise the
    description says on how many patterns it fires.
    """
    with torch.no_grad():
        h = encode((patterns * magnitude) @ vectors)
    descriptions = []
    for latent in range(h.shape[1]):
        activation = h[:, latent]
        if activation.max() <= 0:
            descriptions.append("never fires")
            continue
        fires = activation > min_relative * activation.max()
        on = patterns[fires].bool()
        required = on.all(dim=0)
        forbidden = ~on.any(dim=0)
        matches = (patterns.bool() | ~required).all(dim=1) & ~(patterns.bool() & forbidden).any(dim=1)
        if not torch.equal(matches, fires):
            descriptions.append(f"mixed: fires on {int(fires.sum())} of {len(patterns)} patterns")
            continue
        implied = {parent_of(f) for f in torch.nonzero(required).flatten().tolist()}
        terms = [f"feat{f}" for f in torch.nonzero(required).flatten().tolist() if f not in implied]
        absent_parents = set(torch.nonzero(forbidden).flatten().tolist())
        terms += [
            f"¬feat{f}"
            for f in torch.nonzero(forbidden).flatten().tolist()
            if parent_of(f) not in absent_parents
        ]
        descriptions.append(" ∧ ".join(terms) if terms else "always fires")
    return descriptions


def latent_table(sae: ToySAE, instance: int, data: TrueFeatures, x: torch.Tensor) -> pd.DataFrame:
    """One row per latent of one SAE instance: live or dead, firing rate, the feature its decoder
    is closest to and that cosine, the encoder's cosine with the same feature, the number of peaks
    in its activation histogram on `x`, and (for few enough features) what it fires on and writes."""
    with torch.no_grad():
        h = sae.encode(x)[instance]
    decoder = cosines(sae.W_dec[instance], data.vectors).cpu()
    encoder = cosines(sae.W_enc[instance].T, data.vectors).cpu()
    live = live_latents(h, sae.W_dec[instance].norm(dim=-1).detach()).cpu()
    closest = decoder.argmax(dim=1)
    table = pd.DataFrame(
        {
            "latent": range(sae.d_sae),
            "live": live.numpy(),
            "firing_rate": (h > 0).float().mean(dim=0).cpu().numpy(),
            "feature": closest.numpy(),
            "decoder_cos": decoder.max(dim=1).values.numpy(),
            "encoder_cos": encoder.gather(1, closest[:, None]).squeeze(1).numpy(),
            "peaks": [count_peaks(h[:, j].cpu()) for j in range(sae.d_sae)],
            "decoder": [
                describe_decoder(sae.W_dec[instance, j].detach(), data.vectors) for j in range(sae.d_sae)
            ],
        }
    )
    if data.n_features <= MAX_ENUMERATED_FEATURES:
        table["encoder"] = describe_encoder(
            lambda inputs: sae.encode(inputs)[instance],
            data.possible_patterns(),
            data.vectors,
            data.magnitude,
            data.parent_of,
        )
    return table.set_index("latent")
