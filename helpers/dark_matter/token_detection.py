"""An offline proxy for automated interpretability (dark matter §6, Fig. 8 right).

The paper scores latents with an LLM judge (detection scoring, Juang et al. 2024): a model writes
an explanation from a latent's top-activating examples, then must tell, from the explanation alone,
held-out examples from each activation decile apart from examples where the latent is off. With no
judge offline, the explanation here is the simplest one a judge could write: *the latent fires on
these tokens*, the `explanation_size` commonest token ids among the top decile of half of the
latent's firings. It is then scored exactly as detection is, on the other half: per activation
decile, the share of firings whose token is in the explanation, and on as many non-firing tokens,
the share whose token is not. A latent that tracks a token or a few gets a high score; one whose
firing depends on context beyond the token gets a low one, even if a judge could explain it, so the
score is a lower bound on interpretability, comparable between SAEs on the same tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sae_lens import SAE

from helpers.book.intervals import resample_counts, seed_weights, with_whole_sample


@dataclass(frozen=True)
class Firings:
    """Every non-zero latent activation of an SAE on a sequence of tokens: the token's index in
    that sequence, the latent, its value."""

    token: np.ndarray
    latent: np.ndarray
    value: np.ndarray
    n_tokens: int


@torch.no_grad()
def sae_firings(saes: Sequence[SAE], chunks: Iterable[torch.Tensor]) -> list[Firings]:
    """The firings of each of `saes` on consecutive chunks of inputs (`[rows, d]` each), numbered in
    order; one pass over the chunks serves every SAE."""
    parts: list[tuple[list, list, list]] = [([], [], []) for _ in saes]
    seen = 0
    for x in chunks:
        for sae, (tokens, latents, values) in zip(saes, parts, strict=True):
            code = sae.encode(x)
            row, latent = code.nonzero(as_tuple=True)
            tokens.append((row + seen).cpu().numpy())
            latents.append(latent.cpu().numpy())
            values.append(code[row, latent].float().cpu().numpy())
        seen += len(x)
    if not seen:
        raise ValueError("no inputs: give at least one chunk of activations.")
    return [Firings(*(np.concatenate(p) for p in part), seen) for part in parts]


@dataclass(frozen=True)
class DetectionScores:
    """Per scored latent: its explanation (token ids), the hit rate in each activation decile of
    its held-out firings (lowest decile first), and the accuracy on non-firing tokens."""

    latents: np.ndarray
    explanations: list[np.ndarray]
    decile_hit_rate: np.ndarray  # [latents, deciles]
    negative_accuracy: np.ndarray  # [latents]

    @classmethod
    def pooled(cls, scores: Sequence[DetectionScores]) -> DetectionScores:
        """The scored latents of several SAEs (e.g. one per seed) as one sample."""
        return cls(
            np.concatenate([s.latents for s in scores]),
            [e for s in scores for e in s.explanations],
            np.concatenate([s.decile_hit_rate for s in scores]),
            np.concatenate([s.negative_accuracy for s in scores]),
        )

    @property
    def balanced_accuracy(self) -> np.ndarray:
        """Per latent: the mean of the firing deciles' hit rate and the non-firing accuracy."""
        return self.decile_accuracy.mean(1)

    @property
    def decile_accuracy(self) -> np.ndarray:
        """`[latents, deciles]`: each decile's balanced accuracy, the mean of its hit rate and the
        non-firing accuracy (detection on that decile's examples mixed with as many non-firing ones)."""
        return (self.decile_hit_rate + self.negative_accuracy[:, None]) / 2


def decile_accuracy_gap(
    first: Sequence[DetectionScores], second: Sequence[DetectionScores], resamples: int, seed: int
) -> np.ndarray:
    """`[1 + resamples, deciles]`: per activation decile, the mean `decile_accuracy` of `first[r]`'s
    latents minus `second[r]`'s, averaged over the seeds r. Row 0 is on every scored latent; each
    other row resamples every SAE's scored latents (independently: separate samples) and draws the
    seeds with replacement."""
    gaps = []
    for r, pair in enumerate(zip(first, second, strict=True)):
        means = []
        for i, scores in enumerate(pair):
            accuracy = scores.decile_accuracy
            counts = with_whole_sample(resample_counts(len(accuracy), resamples, seed + 2 * r + i))
            means.append(counts @ accuracy / len(accuracy))
        gaps.append(means[0] - means[1])
    weights = seed_weights(len(gaps), resamples + 1, stream=seed + 2 * len(gaps))
    return np.einsum("rds,rs->rd", np.stack(gaps, -1), weights) / len(gaps)


def token_detection_scores(
    firings: Firings,
    token_ids: np.ndarray,
    n_latents: int,
    min_firings: int,
    seed: int,
    explanation_size: int = 3,
    n_deciles: int = 10,
) -> DetectionScores:
    """Score `n_latents` latents drawn at random (seeded) from those firing at least `min_firings`
    times; `token_ids[i]` is the token of the `i`-th input the firings were counted on."""
    if len(token_ids) != firings.n_tokens:
        raise ValueError(f"{len(token_ids)} token ids for firings on {firings.n_tokens} tokens.")
    if min_firings < 2 * n_deciles:
        raise ValueError(
            f"min_firings = {min_firings}: at least {2 * n_deciles} to fill {n_deciles} held-out deciles."
        )
    counts = np.bincount(firings.latent, minlength=firings.latent.max(initial=0) + 1)
    eligible = np.flatnonzero(counts >= min_firings)
    if not len(eligible):
        raise ValueError(f"no latent fires {min_firings} times on these {firings.n_tokens} tokens.")
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(eligible, min(n_latents, len(eligible)), replace=False))
    order = np.argsort(firings.latent, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    explanations, hit_rates, negative = [], [], []
    for latent in chosen:
        where = order[starts[latent] : starts[latent + 1]]
        shuffled = where[rng.permutation(len(where))]
        explain, score = shuffled[: len(where) // 2], shuffled[len(where) // 2 :]
        top = explain[np.argsort(firings.value[explain])[-max(1, len(explain) // n_deciles) :]]
        ids, freq = np.unique(token_ids[firings.token[top]], return_counts=True)
        explanation = ids[np.argsort(-freq, kind="stable")[:explanation_size]]
        ranked = score[np.argsort(firings.value[score])]
        hit_rates.append(
            [
                np.isin(token_ids[firings.token[part]], explanation).mean()
                for part in np.array_split(ranked, n_deciles)
            ]
        )
        off = np.setdiff1d(np.arange(firings.n_tokens), firings.token[where], assume_unique=False)
        sample = rng.choice(off, min(len(score), len(off)), replace=False)
        negative.append(1 - np.isin(token_ids[sample], explanation).mean())
        explanations.append(explanation)
    return DetectionScores(chosen, explanations, np.array(hit_rates), np.array(negative))
