"""`make bench` rows for Part V: scoring splices by the KL divergence and loss they cause, as
`pathological_errors` does, against the obvious way on the same splices."""

from __future__ import annotations

import numpy as np
import torch

from helpers.bench.framework import BenchSettings, Comparison
from helpers.book.timing import timed
from helpers.lm.data import LmData
from helpers.lm.evaluation import sae_replacement, spliced_context_costs

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
