"""Part IV's controls: the same analysis where its answer cannot come from a trained model's
sparse features. Heap et al.'s randomized model (`helpers.lm.randomized`) is harvested and
analysed like the trained one; Gaussian data with the real activations' mean and covariance
(`GaussianTwin`) has their first two moments and no sparse structure at all. Every side is scored
on the same test contexts, so one set of bootstrap resamples applies to all of them and their
differences are resampled in pairs (`paired_differences`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sae_lens import SAE

from helpers.book.intervals import Estimate, with_whole_sample
from helpers.dark_matter.decomposition import ErrorDecomposition, TokenSplit, scalar_prediction_scores
from helpers.dark_matter.synthetic_activations import sae_noise_sweep, table1_rows
from helpers.lm.activation_store import stream_rows
from helpers.lm.suite import SaeEntry, SuiteTraining, fold_normalisation, training_recipe
from helpers.lm.topk_training import train_topk_saes


@dataclass(frozen=True)
class GaussianTwin:
    """A Gaussian with the mean and covariance of a set of real activations (float64)."""

    mean: torch.Tensor  # [d]
    root: torch.Tensor  # [d, d]: root @ root.T is the covariance

    @classmethod
    @torch.no_grad()
    def fit(cls, activations: np.ndarray, rows: np.ndarray, device: torch.device) -> GaussianTwin:
        """The mean and covariance of `activations[rows]`, streamed in two passes (the mean first,
        so that the covariance sums centred values), and a square root of the covariance from
        its eigendecomposition (tiny negative eigenvalues from rounding set to 0)."""
        rows = np.asarray(rows)
        if len(rows) < 2:
            raise ValueError(f"a covariance needs at least two rows, not {len(rows)}.")
        d = activations.shape[1]
        total = torch.zeros(d, dtype=torch.float64, device=device)
        for _, x in stream_rows(activations, rows, device):
            total += x.double().sum(0)
        mean = total / len(rows)
        products = torch.zeros(d, d, dtype=torch.float64, device=device)
        for _, x in stream_rows(activations, rows, device):
            centred = x.double() - mean
            products += centred.T @ centred
        values, vectors = torch.linalg.eigh(products / len(rows))
        return cls(mean, vectors * values.clamp(min=0).sqrt())

    @property
    def scale(self) -> float:
        """The root mean squared norm about the mean, `sqrt(trace(covariance))`."""
        return float(self.root.pow(2).sum().sqrt())

    @property
    def unit(self) -> float:
        """The factor that gives centred samples a mean squared norm of d, as the suite's
        `Normalisation` does for real activations."""
        return self.mean.shape[0] ** 0.5 / self.scale

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """`n` independent draws, `[n, d]` float32 on the twin's device."""
        noise = torch.randn(n, self.mean.shape[0], generator=generator, dtype=torch.float64)
        return (self.mean + noise.to(self.mean.device) @ self.root.T).float()

    def batches(self, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
        """Endless batches of fresh draws, centred and scaled by `unit` like the suite's training
        batches."""
        generator = torch.Generator().manual_seed(seed)
        while True:
            yield (self.sample(batch_size, generator) - self.mean.float()) * self.unit


def gaussian_activations(twin: GaussianTwin, n_rows: int, rows: np.ndarray, seed: int) -> np.ndarray:
    """An `[n_rows, d]` float32 array with fresh draws of `twin` at `rows` and zeros elsewhere:
    Gaussian tokens at the places of a store's rows, so that the store's split by context applies
    to them unchanged."""
    values = np.zeros((n_rows, twin.mean.shape[0]), dtype=np.float32)
    values[np.asarray(rows)] = twin.sample(len(rows), torch.Generator().manual_seed(seed)).cpu().numpy()
    return values


def train_on_gaussian(
    twin: GaussianTwin, entries: Sequence[SaeEntry], training: SuiteTraining, device: torch.device
) -> dict[str, SAE]:
    """The TopK SAEs of `entries`, by the suite's recipe (`training`), trained together on fresh
    draws of `twin` and made to read raw samples (`fold_normalisation`), by name."""
    if any(entry.architecture != "topk" for entry in entries):
        raise ValueError("only TopK SAEs train on Gaussian data here; the line holds another kind.")
    recipes = [training_recipe(entry, training) for entry in entries]
    batches = twin.batches(training.batch_size, training.seed)
    trained = train_topk_saes(batches, twin.mean.shape[0], recipes, device)
    return {
        entry.name: fold_normalisation(sae, twin.mean.float(), twin.unit).eval()
        for entry, (sae, _) in zip(entries, trained, strict=True)
    }


def same_test_contexts(splits: Mapping[str, TokenSplit]) -> None:
    """Raise unless every split (by name) tests on the same contexts: the condition for one set of
    resamples of the test contexts to apply to all of them."""
    tested = {name: set(np.unique(split.contexts[~split.is_train])) for name, split in splits.items()}
    first, *others = tested
    differing = [name for name in others if tested[name] != tested[first]]
    if differing:
        raise ValueError(
            f"{', '.join(differing)} test(s) on other contexts than {first}: a norm filter must have "
            "emptied a context, so their differences cannot be resampled in pairs."
        )


def paired_differences(
    first: Mapping[str, np.ndarray], second: Mapping[str, np.ndarray]
) -> dict[str, Estimate]:
    """`first - second` for each statistic both hold (rows as `headline_rows` gives them: the whole
    test set, then the resamples of the same test contexts), with its 95% interval."""
    return {name: Estimate.from_rows(first[name] - second[name]) for name in first if name in second}


def error_norm_transfer_rows(
    decompositions: Mapping[str, ErrorDecomposition],
    line: Sequence[str],
    split: TokenSplit,
    counts: np.ndarray,
) -> np.ndarray:
    """Eq. 5 along a line of widths (`line`: SAE names, narrowest first): the smallest test R², over
    every (narrower, wider) pair, of the wider SAE's per-token error norm predicted from the
    narrower's, under the whole test set (row 0) and each resample of `counts` (rows 1 on)."""
    if len(line) < 2:
        raise ValueError(f"Eq. 5 needs two or more SAEs along the line, not {len(line)}.")
    weights = with_whole_sample(counts)
    pairs = [(small, large) for i, small in enumerate(line) for large in line[i + 1 :]]
    return np.min(
        [
            scalar_prediction_scores(
                decompositions[small].error_norm, decompositions[large].error_norm, split
            ).r2_replicates(weights)
            for small, large in pairs
        ],
        axis=0,
    )


@torch.no_grad()
def table1_statistics(
    sae: SAE,
    activations: np.ndarray,
    split: TokenSplit,
    counts: np.ndarray,
    n_levels: int,
    max_variance_share: float,
    seed: int,
    device: torch.device,
) -> dict[str, np.ndarray]:
    """§5.2's Table 1 on one source (rows as `headline_rows` gives them): `Sae(x)` of the split's
    tokens as the clean activations, nothing masked, Gaussian noise seeded by `seed` planted in the
    input and the reconstruction at `n_levels` levels up to `max_variance_share` of the clean
    variance, the probe fitted on the split's training contexts and scored on its test contexts."""
    x = torch.from_numpy(np.asarray(activations[split.rows], dtype=np.float32)).to(device)
    clean = sae(x)
    latents = sae.encode(clean)
    positions = TokenSplit(np.arange(len(split.rows)), split.is_train, split.contexts)
    noise = torch.Generator().manual_seed(seed)
    sweep = sae_noise_sweep(sae, clean, latents, positions, (0.0,), n_levels, max_variance_share, noise)
    return table1_rows(sweep, counts)
