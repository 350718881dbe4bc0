"""`make bench` rows for Part V: scoring splices by the KL divergence and loss they cause, as
`pathological_errors` does, and drawing `ground_truth_dark_matter`'s synthetic activations, each
against the obvious way on the same work."""

from __future__ import annotations

import numpy as np
import torch

from helpers.bench.framework import BenchSettings, Comparison
from helpers.book.timing import timed
from helpers.lm.data import LmData
from helpers.lm.evaluation import sae_replacement, spliced_context_costs
from helpers.open_questions.ground_truth import FiringStatistics, learned_dictionary

SPLICE_CONTEXTS = 2


@torch.no_grad()
def _whole_model_divergences(lm, tokens: np.ndarray, site, replacements: dict, keep_from: int) -> dict:
    """Per replacement, each context's mean KL from the clean model: the whole model run once per
    splice (a hook replaces the site's output), full logits, torch's KL on full log-softmaxes."""
    module = lm.site_module(site)
    divergences: dict[str, list[float]] = {name: [] for name in replacements}
    for ids in torch.from_numpy(tokens.astype(np.int64)).to(lm.device).split(1):
        clean = torch.log_softmax(
            lm.model(input_ids=ids, use_cache=False).logits[0, keep_from:-1].float(), -1
        )
        for name, replace in replacements.items():

            def hook(module, args, output, replace=replace):
                tensor = output[0] if isinstance(output, tuple) else output
                tensor = tensor.clone()
                tensor[:, keep_from:] = replace(tensor[:, keep_from:]).to(tensor.dtype)
                return (tensor, *output[1:]) if isinstance(output, tuple) else tensor

            handle = module.register_forward_hook(hook)
            try:
                logits = lm.model(input_ids=ids, use_cache=False).logits[0, keep_from:-1].float()
            finally:
                handle.remove()
            spliced = torch.log_softmax(logits, -1)
            kl = torch.nn.functional.kl_div(spliced, clean, log_target=True, reduction="none").sum(-1)
            divergences[name].append(float(kl.mean()))
    return {name: np.array(values) for name, values in divergences.items()}


def splice_costs(settings: BenchSettings) -> Comparison:
    """The reference line's SAEs spliced in at the main site, scored by KL and loss: ours runs the
    layers below the site once per batch and the clean distribution once per chunk for every
    splice, one pass over the vocabulary per splice; the obvious way runs the whole model per
    splice and takes torch's KL of full log-softmaxes."""
    data = LmData(settings.profile, 0, settings.device)
    config = settings.profile.lm
    tokens = np.array(data.analysis_store.context_tokens[:SPLICE_CONTEXTS], dtype=np.int64)
    replacements = {e.name: sae_replacement(data.saes[e.name]) for e in data.reference_line}
    lm, found = data.model, {}

    def ours() -> None:
        found["ours"] = spliced_context_costs(
            lm, tokens, data.site, replacements, config.keep_from, config.batch_contexts
        )[1]

    def obvious() -> None:
        found["obvious"] = _whole_model_divergences(lm, tokens, data.site, replacements, config.keep_from)

    ours()  # warm-up (and, for a compiled model, the compiling)
    ours_seconds = timed(ours, settings.device)
    baseline_seconds = timed(obvious, settings.device)
    gap = max(
        float(np.max(np.abs(found["ours"][name].divergence - found["obvious"][name])))
        for name in replacements
    )
    splices = len(replacements) * len(tokens)
    return Comparison(
        name="splice KL and loss",
        ours=f"{len(replacements)} SAEs spliced at {data.site}: layers below once, clean distribution once",
        ours_seconds=ours_seconds,
        baseline=f"whole {config.model} forward per splice, torch's KL of full log-softmaxes",
        baseline_seconds=baseline_seconds,
        target_ratio=1.5,
        details={
            "contexts": len(tokens),
            "splices": splices,
            "seconds_per_context_splice": ours_seconds / splices,
            "largest_kl_difference": gap,
        },
        limited_by=(
            "the unembedding: each splice still needs its own logits over the whole vocabulary (262k "
            "tokens for Gemma 3), a product larger than the layers above the site"
        ),
    )


def _coin_per_latent(
    stats: FiringStatistics, dictionary: torch.Tensor, n_tokens: int, generator
) -> torch.Tensor:
    """The obvious draw: a coin per token and latent, dense codes, one dense product."""
    fired = torch.rand(n_tokens, len(stats.frequencies), generator=generator, dtype=torch.float64)
    fired = fired < stats.frequencies
    tokens, latents = fired.nonzero(as_tuple=True)
    pick = (torch.rand(len(latents), generator=generator) * stats.counts[latents]).long()
    codes = torch.zeros(n_tokens, len(stats.frequencies))
    codes[tokens, latents] = stats.values[stats.starts[latents] + pick].float()
    return codes @ dictionary


def synthetic_draws(settings: BenchSettings) -> Comparison:
    """A training run's worth of synthetic batches (`steps` of the suite's batch size) from the
    dictionary `ground_truth_dark_matter` reads: ours draws each latent's firings sparsely (its
    binomial count, then distinct tokens) and sums the fired directions with an `embedding_bag`;
    the obvious way flips a coin per token and latent and multiplies dense codes by the dictionary."""
    data = LmData(settings.profile, 0, settings.device)
    width = settings.profile.ground_truth_dark_matter.dictionary_width
    entry = min(data.reference_line, key=lambda e: (abs(e.width - width), e.width))
    sae = data.train_saes([entry])[0][entry.name]
    dictionary, stats = learned_dictionary(
        sae, data.analysis_store.activations(str(data.site)), data.analysis_rows, settings.device
    )
    dictionary = dictionary.float()
    batch, found = settings.profile.sae_suite.batch_size, {}

    def draw(name: str, one_batch) -> None:
        generator = torch.Generator().manual_seed(0)
        squares = [float(one_batch(generator).pow(2).sum(1).mean()) for _ in range(settings.steps)]
        found[name] = float(np.mean(squares))

    def ours() -> None:
        draw("ours", lambda g: stats.draw(batch, g).sum_of(dictionary))

    def obvious() -> None:
        draw("obvious", lambda g: _coin_per_latent(stats, dictionary, batch, g))

    ours_seconds = timed(ours, settings.device)
    baseline_seconds = timed(obvious, settings.device)
    return Comparison(
        name="synthetic activation draws",
        ours=f"{len(dictionary)} features: sparse firings, embedding_bag sums",
        ours_seconds=ours_seconds,
        baseline="a coin per token and feature, dense codes times the dictionary",
        baseline_seconds=baseline_seconds,
        target_ratio=3.0,
        details={
            "tokens": settings.steps * batch,
            "features": len(dictionary),
            "mean_squared_norm_ratio": found["ours"] / found["obvious"],
        },
        limited_by="sorting the firings by token for the bags, and drawing each firing's magnitude",
    )
