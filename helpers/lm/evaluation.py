"""How well an SAE reconstructs a site: FVU, L0, dead latents, and the model's loss with the
reconstruction spliced in (% of cross-entropy recovered against zero-ablation)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from sae_lens import SAE

from helpers.book.intervals import ratio_replicates, with_whole_sample
from helpers.lm.activation_store import stream_rows
from helpers.lm.model import (
    LanguageModel,
    Site,
    Splice,
    hidden_from_residual,
    losses_from_residual,
    run_model,
    token_costs,
)


@dataclass
class Reconstruction:
    """Per-token results of one SAE on a set of rows: squared error norm, squared distance of the
    activation from the rows' mean (so FVU over any subset is a ratio of sums), and L0; plus how
    often each latent fired."""

    squared_error: np.ndarray
    squared_deviation: np.ndarray
    l0: np.ndarray
    fired: np.ndarray

    @property
    def fvu(self) -> float:
        return float(self.squared_error.sum() / self.squared_deviation.sum())

    def fvu_rows(self, groups: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """`[1 + resamples]`: FVU on all the rows, then under each resample (`counts`,
        `[resamples, units]`) of the units that `groups` labels 0..n-1 row by row (e.g. contexts)."""
        return self.fvu_rows_where(np.ones(len(groups), dtype=bool), groups, with_whole_sample(counts))

    def fvu_rows_where(self, rows: np.ndarray, groups: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """`[len(weights)]`: FVU over the rows a boolean mask selects, under each row of `weights`
        (`[n, units]`) of the units that `groups` labels 0..units-1 row by row (e.g. contexts)."""
        return ratio_replicates(self.squared_error[rows], self.squared_deviation[rows], groups[rows], weights)

    def fvu_where(self, rows: np.ndarray) -> float:
        """FVU over the rows a boolean mask (or index array) selects."""
        return float(self.squared_error[rows].sum() / self.squared_deviation[rows].sum())

    @property
    def mean_l0(self) -> float:
        return float(self.l0.mean())

    @property
    def dead_latents(self) -> int:
        """Latents that never fired on these rows."""
        return int((self.fired == 0).sum())


POSITION_EDGES = (0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def position_buckets(context_length: int) -> tuple[list[int], list[str]]:
    """Buckets of positions that double in length (0, 1, 2–3, 4–7, ...) up to `context_length`:
    their edges, and a label for each bucket."""
    edges = [e for e in POSITION_EDGES if e < context_length] + [context_length]
    labels = [
        f"{lo}" if hi - lo == 1 else f"{lo}–{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]
    return edges, labels


@torch.no_grad()
def reconstruct(
    sae: SAE, activations: np.ndarray, mean: torch.Tensor | None = None, chunk: int = 4096
) -> Reconstruction:
    """Run `sae` over `activations` (`[n, d]`, e.g. a store's memory map) a chunk at a time;
    deviations are taken from `mean` (default: the mean of these activations)."""
    device = sae.W_enc.device
    if mean is None:
        mean = torch.from_numpy(activations.mean(0, dtype=np.float64))
    mean = mean.float().to(device)
    errors, deviations, l0s = [], [], []
    fired = torch.zeros(sae.cfg.d_sae, dtype=torch.long, device=device)
    for start in range(0, len(activations), chunk):
        x = torch.from_numpy(np.array(activations[start : start + chunk], dtype=np.float32)).to(device)
        latents = sae.encode(x)
        active = latents > 0
        errors.append((x - sae.decode(latents)).pow(2).sum(-1).cpu())
        deviations.append((x - mean).pow(2).sum(-1).cpu())
        l0s.append(active.sum(-1).cpu())
        fired += active.sum(0)
    return Reconstruction(
        torch.cat(errors).double().numpy(),
        torch.cat(deviations).double().numpy(),
        torch.cat(l0s).numpy(),
        fired.cpu().numpy(),
    )


@torch.no_grad()
def active_latents(sae: SAE, activations: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """How many latents fire on each of `rows` of a (memory-mapped) activation array: the SAE's
    per-token L0, streamed a chunk at a time."""
    counts = [
        (sae.encode(x) > 0).sum(-1).cpu().numpy() for _, x in stream_rows(activations, rows, sae.W_enc.device)
    ]
    return np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)


def spliced_residual(
    residual: torch.Tensor, replace: Callable[[torch.Tensor], torch.Tensor], keep_from: int
) -> torch.Tensor:
    """A copy of `residual` (`[batch, length, d]`) with `replace` applied from position `keep_from` on."""
    spliced = residual.clone()
    spliced[:, keep_from:] = replace(residual[:, keep_from:]).to(residual.dtype)
    return spliced


def spliced_context_losses(
    lm: LanguageModel,
    tokens: np.ndarray,
    site: Site,
    replacements: dict[str, Callable[[torch.Tensor], torch.Tensor] | None],
    keep_from: int,
    batch_contexts: int,
) -> dict[str, np.ndarray]:
    """Each context's mean next-token loss over positions `keep_from`.. of `tokens` (`[n, length]`)
    with each replacement spliced in at `site` from `keep_from` on (`None`: the clean model): one
    array of `n` losses per replacement, the units of a bootstrap over contexts. At a residual site
    the layers below it run once per batch of contexts, not once per replacement
    (`losses_from_residual`)."""
    losses: dict[str, list[np.ndarray]] = {name: [] for name in replacements}
    for start in range(0, len(tokens), batch_contexts):
        ids = torch.from_numpy(tokens[start : start + batch_contexts].astype(np.int64))
        residual = run_model(lm, ids, read=[site]).activations[site] if site.kind == "resid_post" else None
        for name, replace in replacements.items():
            if residual is not None:
                spliced = residual if replace is None else spliced_residual(residual, replace, keep_from)
                token_loss = losses_from_residual(lm, site, spliced, ids, keep_from)
            else:
                splices = [] if replace is None else [Splice(site, replace, slice(keep_from, None))]
                token_loss = run_model(
                    lm, ids, splices=splices, with_loss=True, loss_from=keep_from
                ).token_loss
            losses[name].append(token_loss[:, keep_from:-1].double().mean(-1).cpu().numpy())
    return {name: np.concatenate(parts) for name, parts in losses.items()}


@dataclass(frozen=True)
class SplicedCosts:
    """One replacement's cost to the model, per context: the mean next-token loss with it spliced
    in, and the mean KL divergence of the spliced model's next-token distribution from the clean
    model's (the units of a bootstrap over contexts)."""

    loss: np.ndarray
    divergence: np.ndarray


def spliced_context_costs(
    lm: LanguageModel,
    tokens: np.ndarray,
    site: Site,
    replacements: Mapping[str, Callable[[torch.Tensor], torch.Tensor]],
    keep_from: int,
    batch_contexts: int,
) -> tuple[np.ndarray, dict[str, SplicedCosts]]:
    """The clean model's mean loss per context over positions `keep_from`.. of `tokens` (`[n,
    length]`), and each replacement's `SplicedCosts` when spliced in at the residual site `site`
    from `keep_from` on. The layers below the site run once per batch of contexts, and the clean
    next-token distribution is computed once per batch for every replacement (`token_costs`)."""
    if site.kind != "resid_post":
        raise ValueError(f"site {site}: the KL of a splice is measured at a residual site (resid_post) only.")
    if not len(tokens) or not replacements:
        raise ValueError("spliced_context_costs needs at least one context and one replacement.")
    clean_parts: list[np.ndarray] = []
    parts: dict[str, tuple[list, list]] = {name: ([], []) for name in replacements}
    for start in range(0, len(tokens), batch_contexts):
        ids = torch.from_numpy(tokens[start : start + batch_contexts].astype(np.int64)).to(lm.device)
        residual = run_model(lm, ids, read=[site]).activations[site]
        hiddens = {}
        for name, replace in replacements.items():
            hiddens[name] = hidden_from_residual(lm, site, spliced_residual(residual, replace, keep_from))
        clean_loss, costs = token_costs(lm, hidden_from_residual(lm, site, residual), hiddens, ids, keep_from)
        clean_parts.append(clean_loss.double().mean(-1).cpu().numpy())
        for name, (loss, divergence) in costs.items():
            parts[name][0].append(loss.double().mean(-1).cpu().numpy())
            parts[name][1].append(divergence.double().mean(-1).cpu().numpy())
    return np.concatenate(clean_parts), {
        name: SplicedCosts(np.concatenate(losses), np.concatenate(divergences))
        for name, (losses, divergences) in parts.items()
    }


def spliced_losses(
    lm: LanguageModel,
    tokens: np.ndarray,
    site: Site,
    replacements: dict[str, Callable[[torch.Tensor], torch.Tensor] | None],
    keep_from: int,
    batch_contexts: int,
) -> dict[str, float]:
    """The model's mean next-token loss over positions `keep_from`.. of `tokens` with each
    replacement spliced in (`spliced_context_losses`, averaged: every context has as many tokens)."""
    by_context = spliced_context_losses(lm, tokens, site, replacements, keep_from, batch_contexts)
    return {name: float(losses.mean()) for name, losses in by_context.items()}


def sae_replacement(
    sae: SAE | Callable[[torch.Tensor], torch.Tensor], max_norm: float = float("inf")
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Splice function: the SAE's reconstruction (or any map's, e.g. zero-ablation), computed in
    float32 whatever the model's dtype (`run_model` casts it back). Tokens whose norm exceeds
    `max_norm`, the outliers no measurement uses, keep their own activation."""

    def replace(activation: torch.Tensor) -> torch.Tensor:
        x = activation.float()
        outlier = x.norm(dim=-1, keepdim=True) > max_norm
        return torch.where(outlier, x, sae(x)).to(activation.device)

    return replace


def equal_norm_perturbation(
    sae: SAE | Callable[[torch.Tensor], torch.Tensor],
    seed: int,
    max_norm: float = float("inf"),
    directions: torch.Tensor | None = None,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Splice function: `x + ε`, with `ε` of the SAE error's norm `‖x - Sae(x)‖` on each token and a
    uniformly random direction (seeded; a new draw per call): Gurnee's reference for whether an
    SAE's error costs the model more than a random error of the same size. With `directions`
    (`[n, d]`, e.g. differences between two activations, Heimersheim & Mendel's reference), each
    token's direction is one of its rows, drawn at random. Tokens whose norm exceeds `max_norm` keep
    their own activation, as in `sae_replacement`."""
    generator = torch.Generator().manual_seed(seed)
    if directions is not None and not (directions.ndim == 2 and (directions.norm(dim=-1) > 0).all()):
        raise ValueError("directions must be a [n, d] tensor of non-zero rows.")

    def replace(activation: torch.Tensor) -> torch.Tensor:
        x = activation.float()
        if directions is None:
            direction = torch.randn(x.shape, generator=generator)
        else:
            direction = directions[torch.randint(len(directions), x.shape[:-1], generator=generator)].float()
        direction = direction.to(x.device)
        direction = direction / direction.norm(dim=-1, keepdim=True)
        perturbed = x + (x - sae(x)).norm(dim=-1, keepdim=True) * direction
        outlier = x.norm(dim=-1, keepdim=True) > max_norm
        return torch.where(outlier, x, perturbed).to(activation.device)

    return replace


def ce_recovered(sae_loss: float, clean_loss: float, zero_ablation_loss: float) -> float:
    """Share of the loss gap between zero-ablating the site and the clean model that the SAE closes."""
    return (zero_ablation_loss - sae_loss) / (zero_ablation_loss - clean_loss)
