"""Feature absorption on real text (Part V), after Chanin et al.'s first-letter task as SAEBench
scores it: a probe reads a word's first letter from the residual stream; each letter has a main
latent, the one whose decoder direction is closest to the letter's probe; a token *absorbs* its
letter when the probe reads the letter right, the main latent stays silent, and another latent,
aligned with the probe, carries a large share of the activation's projection onto it.

SAEBench's thresholds: the absorbing latent's decoder has cosine at least 0.025 with the probe,
and its contribution's projection onto the probe is at least 0.4 of the activation's (here the
activation less the SAE's decoder bias, which is what the latents' contributions add up to)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from helpers.book.intervals import Estimate
from helpers.lm.activation_store import stream_rows
from helpers.toy_saes.latent_metrics import count_peaks

LETTERS = 26
NO_LETTER = -1
ALIGNED_COSINE = 0.025  # SAEBench's full-absorption threshold on the absorbing latent's cosine
PROJECTION_SHARE = 0.4  # SAEBench's: the absorbing latent's share of the probe projection


def first_letter_labels(tokenizer, token_ids: np.ndarray) -> np.ndarray:
    """Each token's word's first letter, 0 (a) to 25 (z), where the token is a whole word start
    (a space, then ASCII letters only: " cat", " The"); `NO_LETTER` elsewhere."""
    token_ids = np.asarray(token_ids)
    vocabulary, inverse = np.unique(token_ids, return_inverse=True)
    labels = np.full(len(vocabulary), NO_LETTER)
    for index, token in enumerate(vocabulary):
        text = tokenizer.decode([int(token)])
        word = text[1:]
        if text[:1] == " " and word.isascii() and word.isalpha():
            labels[index] = ord(word[0].lower()) - ord("a")
    return labels[inverse].reshape(token_ids.shape)


@dataclass(frozen=True)
class LetterProbe:
    """A multinomial logistic probe `x ↦ argmax(x @ weight.T + bias)` over the 26 letters, in raw
    activation units; `weight[letter]` is the letter's probe direction."""

    weight: torch.Tensor  # [LETTERS, d]
    bias: torch.Tensor  # [LETTERS]

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return (x.to(self.weight) @ self.weight.T + self.bias).argmax(-1)

    @property
    def directions(self) -> torch.Tensor:
        """`[LETTERS, d]` unit probe directions (zero for a letter the probe never predicts)."""
        return self.weight / self.weight.norm(dim=1, keepdim=True).clamp_min(1e-30)


def fit_letter_probe(x: torch.Tensor, labels: torch.Tensor, l2: float, steps: int) -> LetterProbe:
    """Fit the probe by L-BFGS on standardised `x` (mean cross-entropy plus `l2` times the squared
    weights) over the letters that have training tokens, then express it in raw units; a letter
    without one is never predicted (its weight is zero and its bias minus infinity)."""
    labels = labels.long()
    present = labels.unique()
    if len(present) < 2:
        raise ValueError(f"the probe needs training tokens of two letters or more, not {len(present)}.")
    x = x.double()
    mean, scale = x.mean(0), x.std(0).clamp_min(1e-8)
    z = (x - mean) / scale
    target = torch.searchsorted(present, labels)
    weight = torch.zeros(len(present), x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(len(present), dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([weight, bias], max_iter=steps, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = torch.nn.functional.cross_entropy(z @ weight.T + bias, target) + l2 * weight.pow(2).sum()
        value.backward()
        return value

    optimiser.step(loss)
    raw = torch.zeros(LETTERS, x.shape[1], dtype=torch.float64)
    offset = torch.full((LETTERS,), -torch.inf, dtype=torch.float64)
    raw[present] = (weight / scale).detach()
    offset[present] = (bias - (weight / scale) @ mean).detach()
    return LetterProbe(raw, offset)


def main_latents(decoder: torch.Tensor, probe: LetterProbe) -> tuple[torch.Tensor, torch.Tensor]:
    """`(main, cosines)`: each letter's main latent (the decoder row of highest cosine with its
    probe direction) and the `[width, LETTERS]` cosines of every decoder row with every probe."""
    rows = decoder.double() / decoder.double().norm(dim=1, keepdim=True)
    cosines = rows @ probe.directions.T
    return cosines.argmax(0), cosines


@dataclass(frozen=True)
class AbsorptionEvents:
    """One SAE's absorption on the tokens read: `eligible` (the probe reads the letter right),
    `absorbed` (eligible, main latent silent, another latent absorbs), `main_fired` (eligible and
    the main latent fires), each a boolean per token."""

    eligible: np.ndarray
    absorbed: np.ndarray
    main_fired: np.ndarray


@torch.no_grad()
def absorption_events(
    sae,
    activations: np.ndarray,
    rows: np.ndarray,
    labels: np.ndarray,
    probe: LetterProbe,
    device: torch.device,
) -> AbsorptionEvents:
    """Score every token of `rows` (with `labels`, one per row; `NO_LETTER` tokens are never
    eligible) for absorption in `sae` (module docstring)."""
    decoder = sae.W_dec.detach().double()
    main, cosines = main_latents(decoder, probe)
    directions = probe.directions.to(device)
    projections = (decoder @ probe.directions.T).to(device)  # [width, LETTERS]: a latent's unit projection
    eligible, absorbed, fired = (np.zeros(len(rows), dtype=bool) for _ in range(3))
    labels = np.asarray(labels)
    for where, x in stream_rows(activations, rows, device):
        label = torch.from_numpy(labels[where]).to(device)
        lettered = label >= 0
        letter = label.clamp_min(0)
        right = lettered & (probe.predict(x).to(device) == letter)
        codes = sae.encode(x).double()
        contributions = codes * projections[:, letter].T  # [tokens, width]: onto each token's probe
        total = ((x.double() - sae.b_dec.double()) * directions[letter]).sum(-1)
        main_of = main.to(device)[letter]
        main_on = codes.gather(1, main_of.unsqueeze(1)).squeeze(1) > 0
        others = contributions.scatter(1, main_of.unsqueeze(1), -torch.inf)
        top_share, top = others.max(1)
        aligned = cosines.to(device)[top, letter] >= ALIGNED_COSINE
        absorbs = ~main_on & aligned & (total > 0) & (top_share >= PROJECTION_SHARE * total)
        eligible[where] = right.cpu().numpy()
        absorbed[where] = (right & absorbs).cpu().numpy()
        fired[where] = (right & main_on).cpu().numpy()
    return AbsorptionEvents(eligible, absorbed, fired)


@torch.no_grad()
def multi_peak_latents(
    sae, activations: np.ndarray, rows: np.ndarray, min_firings: int, device: torch.device
) -> np.ndarray:
    """For each latent of `sae` firing at least `min_firings` times on `rows`, whether its activation
    histogram has two peaks or more (`count_peaks`, Part II's signature of a broken latent)."""
    values: list[list[torch.Tensor]] = [[] for _ in range(sae.cfg.d_sae)]
    for _, x in stream_rows(activations, rows, device):
        codes = sae.encode(x).float().cpu()
        tokens, latents = codes.nonzero(as_tuple=True)
        for latent, chunk in zip(*_grouped(latents, codes[tokens, latents]), strict=True):
            values[latent].append(chunk)
    scored = [torch.cat(v) for v in values if sum(len(c) for c in v) >= min_firings]
    return np.array([count_peaks(v) >= 2 for v in scored], dtype=bool)


def _grouped(latents: torch.Tensor, values: torch.Tensor) -> tuple[list[int], list[torch.Tensor]]:
    """`values` split by latent: the latents present and each one's values."""
    order = torch.argsort(latents, stable=True)
    present, counts = torch.unique_consecutive(latents[order], return_counts=True)
    return present.tolist(), list(torch.split(values[order], counts.tolist()))


def matched_ratio_rows(
    values: np.ndarray,
    absorbed: np.ndarray,
    matched: np.ndarray,
    letters: np.ndarray,
    groups: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """How much larger `values` are on absorbed tokens than on matched ones of the same letter:
    `Σ_absorbed value / Σ_letter n_absorbed(letter) · mean_matched(letter)`, under each weighing of
    the groups (`weights` `[rows, groups]`; a letter with no matched token in a row is left out of
    that row). All arrays are one entry per token; `groups[i]` is token i's unit 0..n-1."""
    n_groups = weights.shape[1]
    sums = np.zeros((4, n_groups, LETTERS))
    for index, (mask, column) in enumerate(
        ((absorbed, values), (absorbed, 1.0), (matched, values), (matched, 1.0))
    ):
        chosen = np.asarray(mask, dtype=bool)
        np.add.at(sums[index], (groups[chosen], letters[chosen]), np.broadcast_to(column, mask.shape)[chosen])
    absorbed_sum, absorbed_count, matched_sum, matched_count = (weights @ s for s in sums)
    with np.errstate(invalid="ignore", divide="ignore"):
        matched_mean = matched_sum / matched_count
    known = matched_count > 0
    expected = np.where(known, absorbed_count * np.where(known, matched_mean, 0), 0).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):  # a row without absorbed tokens: NaN
        return np.where(known, absorbed_sum, 0).sum(1) / expected


def ratio_estimate(rows: np.ndarray) -> Estimate | None:
    """One SAE's `matched_ratio_rows` as an estimate, or None where some resample holds no absorbed
    token (too few absorbed tokens for an interval)."""
    return Estimate.from_rows(rows) if np.isfinite(rows).all() else None


def mean_over_saes(rows: list[np.ndarray]) -> np.ndarray:
    """The mean over SAEs of per-SAE `[1 + resamples]` rows, over the SAEs whose whole-sample value
    (row 0) exists, each resample over the SAEs where it exists (`matched_ratio_rows` gives NaN
    where a resample holds no absorbed token)."""
    kept = [r for r in rows if np.isfinite(r[0])]
    if not kept:
        raise ValueError("no SAE has an absorbed test token: there is nothing to compare.")
    with np.errstate(invalid="ignore"):
        return np.nanmean(np.stack(kept), axis=0)
