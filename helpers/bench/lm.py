"""`make bench` rows for Part III: harvesting activations, and training a TopK SAE on them.

Both run on the profile's own model and stores (built first if the cache lacks them), and report
their FLOP rate against the matmul ceiling in the dtype they run in.
"""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Hashable
from pathlib import Path

import numpy as np
import torch
from sae_lens import TopKSAE, TopKTrainingSAE, TopKTrainingSAEConfig
from sae_lens.config import SAETrainerConfig
from sae_lens.training.sae_trainer import SAETrainer

from helpers.bench.autograd_topk import train_topk_sae_with_autograd
from helpers.bench.framework import (
    BenchSettings,
    Comparison,
    describe_shares,
    products_gflops,
    time_shares,
)
from helpers.book.timing import timed
from helpers.lm.activation_store import BUFFER_ROWS
from helpers.lm.data import LmData
from helpers.lm.evaluation import reconstruct
from helpers.lm.model import LanguageModel, load_language_model, run_model
from helpers.lm.precision import dtype_name
from helpers.lm.suite import Normalisation, fold_normalisation
from helpers.lm.topk_training import TopKTraining, train_topk_sae, train_topk_saes

HARVEST_CONTEXTS = 64
SAE_WIDTH, SAE_K = 4096, 32
TOPK_STEP_PARTS = {  # the operators of a TopK training step, by what they do
    "dense products": ("aten::mm", "aten::addmm", "aten::mv", "aten::addmv_"),
    "top-k selection": ("aten::topk",),
    "k-row decoder": ("aten::_embedding_bag_forward_only",),
    "chosen latents' gradients": ("aten::sparse_sampled_addmm",),
    "per-latent gradient sums": ("aten::_embedding_bag", "aten::sort", "aten::bincount", "aten::cumsum"),
    "gathers, masks and scatters": (
        "aten::index",
        "aten::index_select",
        "aten::index_add_",
        "aten::_index_put_impl_",
        "aten::cat",
        "aten::mul_",
        "aten::mul",
        "aten::relu_",
        "aten::gt",
        "aten::sub",
        "aten::zero_",
        "aten::fill_",
    ),
    "Adam": ("aten::_fused_adam_",),
    "bf16 casts and copies": ("aten::copy_", "aten::_to_copy"),
    "decoder norms": ("aten::linalg_vector_norm",),
}


def forward_flops_per_token(lm: LanguageModel, last_layer: int, context_length: int) -> float:
    """Matmul FLOPs per token of running decoder layers 0..`last_layer`: two per weight, plus the
    attention scores and their weighted sum over the causal context (on average half of it)."""
    layers = lm.decoder_layers[: last_layer + 1]
    weights = sum(p.numel() for layer in layers for name, p in layer.named_parameters() if p.dim() == 2)
    config = lm.model.config
    attention_width = config.num_attention_heads * getattr(
        config, "head_dim", lm.d_model // config.num_attention_heads
    )
    return 2 * weights + len(layers) * 2 * 2 * attention_width * context_length / 2


def reset_peak_rss() -> None:
    """Start a new peak-memory measurement (Linux: writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_gb() -> float:
    """This process's peak resident memory since the last reset (since it started, elsewhere)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def activation_harvest(settings: BenchSettings) -> Comparison:
    """Reading the main site as the stores do (the model in its profile dtype, stopped after the
    site's layer) vs the obvious way: a full fp32 forward with `output_hidden_states=True`."""
    data = LmData(settings.profile, 0, settings.device)
    config = settings.profile.lm
    tokens = np.array(data.analysis_store.context_tokens[:HARVEST_CONTEXTS], dtype=np.int64)
    batches = [
        torch.from_numpy(tokens[i : i + config.batch_contexts])
        for i in range(0, len(tokens), config.batch_contexts)
    ]
    lm = data.model

    def ours() -> None:
        for ids in batches:
            run_model(lm, ids, read=[data.site])

    ours()  # warm-up (and, for a compiled model, the compiling)
    reset_peak_rss()
    ours_seconds = timed(ours, settings.device)
    ours_peak_gb = peak_rss_gb()
    eager_fp32 = load_language_model(config.model, settings.device).model

    def full_fp32_forward() -> None:
        with torch.no_grad():
            for ids in batches:
                eager_fp32(input_ids=ids.to(settings.device), output_hidden_states=True)

    baseline_seconds = timed(full_fp32_forward, settings.device)
    n_tokens = tokens.size
    rows_per_batch = config.batch_contexts * config.context_length
    weight_products = [
        (rows_per_batch, p.shape[1], p.shape[0])
        for layer in lm.decoder_layers[: data.site.layer + 1]
        for p in layer.parameters()
        if p.dim() == 2
    ]
    flops = forward_flops_per_token(lm, data.site.layer, config.context_length)
    return Comparison(
        name="activation harvest",
        ours=f"{config.model} to layer {data.site.layer}, {dtype_name(lm.dtype)}"
        + (", blocks compiled" if config.compiled else ""),
        ours_seconds=ours_seconds,
        baseline=f"eager full fp32 forward, output_hidden_states ({lm.n_layers} layers + logits)",
        baseline_seconds=baseline_seconds,
        target_ratio=2.0,
        details={
            "tokens": n_tokens,
            "tokens_per_s": n_tokens / ours_seconds,
            "baseline_tokens_per_s": n_tokens / baseline_seconds,
            "gflop_per_token": flops / 1e9,
            "achieved_gflops": flops * n_tokens / ours_seconds / 1e9,
            "dtype": dtype_name(lm.dtype),
            "target_share": 0.6,
            "products_alone_gflops": products_gflops(weight_products, lm.dtype, settings.device),
            "peak_rss_gb": ours_peak_gb,
        },
        limited_by=(
            "the weight products themselves: at their shapes (a batch of tokens times d_model-sized "
            "weights) they run well below the 2048³ ceiling even alone (the share after 'products "
            "alone'); on top come the attention and what compiling leaves between the blocks"
        ),
    )


def topk_sae_training(settings: BenchSettings) -> Comparison:
    """A width-4096, k-32 TopK SAE on the training store: our step (`train_topk_sae`: dense encoder,
    k-row decoder, hand-written sparse backward, the suite's dtype) vs sae_lens's stock
    `SAETrainer` with its `TopKTrainingSAE`, same normalised batches, samples and learning rate;
    both scored on the analysis store."""
    suite = settings.profile.sae_suite
    data = LmData(settings.profile, 0, settings.device)
    site = str(data.site)
    norm = Normalisation(data.train_store, site, data.train_rows)
    d_in, batch = norm.mean.shape[0], suite.batch_size
    samples = settings.steps * batch
    trained = {}

    config = TopKTraining(SAE_WIDTH, SAE_K, samples, batch, suite.lr, bf16=data.training_bf16)

    def ours() -> None:
        trained["ours"] = train_topk_sae(norm.batches(batch, 0), d_in, config, settings.device)[0]

    def stock_sae_lens() -> None:
        sae = TopKTrainingSAE(
            TopKTrainingSAEConfig(d_in=d_in, d_sae=SAE_WIDTH, k=SAE_K, device=str(settings.device))
        )
        trainer_config = SAETrainerConfig(
            total_training_samples=samples,
            train_batch_size_samples=batch,
            lr=suite.lr,
            lr_end=suite.lr,
            device=str(settings.device),
        )
        trained["sae_lens"] = SAETrainer(
            cfg=trainer_config, sae=sae, data_provider=norm.batches(batch, 0)
        ).fit()

    reset_peak_rss()
    ours_seconds = timed(ours, settings.device)
    ours_peak_gb = peak_rss_gb()
    baseline_seconds = timed(stock_sae_lens, settings.device)
    shares = time_shares(  # the same run again, under the profiler
        lambda: train_topk_sae(norm.batches(batch, 0), d_in, config, settings.device),
        TOPK_STEP_PARTS,
        settings.device,
    )
    fvu = held_out_fvus(data, norm, trained)
    flops = 6 * d_in * SAE_WIDTH
    dtype = torch.bfloat16 if data.training_bf16 else torch.float32
    return Comparison(
        name="TopK SAE training",
        ours=f"train_topk_sae, width {SAE_WIDTH}, k {SAE_K}, {dtype_name(dtype)}",
        ours_seconds=ours_seconds,
        baseline=(
            f"sae_lens SAETrainer + TopKTrainingSAE (fp32); final FVU {fvu['sae_lens']:.4f} "
            f"against ours {fvu['ours']:.4f}"
        ),
        baseline_seconds=baseline_seconds,
        target_ratio=5.0,
        details={
            "samples": samples,
            "samples_per_s": samples / ours_seconds,
            "baseline_samples_per_s": samples / baseline_seconds,
            "achieved_gflops": flops * samples / ours_seconds / 1e9,
            "dtype": dtype_name(dtype),
            "target_share": 0.35,
            "target_share_of_products_alone": 0.5,
            "fvu": fvu["ours"],
            "baseline_fvu": fvu["sae_lens"],
            "fvu_relative_difference": abs(fvu["ours"] - fvu["sae_lens"]) / fvu["sae_lens"],
            "products_alone_gflops": products_gflops(
                [(batch, d_in, SAE_WIDTH), (d_in, batch, SAE_WIDTH), (batch, SAE_WIDTH, d_in)],
                dtype,
                settings.device,
            ),
            "buffer_rows": BUFFER_ROWS,
            "buffer_mb": BUFFER_ROWS * d_in * 4 / 2**20,
            "peak_rss_gb": ours_peak_gb,
            **{f"share of time: {part}": share for part, share in shares.items()},
        },
        limited_by=(
            f"work that is not a product: the share counts 6·d·width FLOPs per sample, three dense "
            f"products (which alone, at batch {batch}, reach the share after 'products alone'); ours "
            f"does one of them densely and the other two only at the k chosen latents. Where its "
            f"time goes (the same run again, per operator, with the data's shuffle buffer refilled "
            f"every {BUFFER_ROWS:,} rows): {describe_shares(shares)}"
        ),
    )


def held_out_fvus(data: LmData, norm: Normalisation, saes: dict[Hashable, TopKSAE]) -> dict[Hashable, float]:
    """Each SAE's FVU on the analysis store's rows at its site, the normalisation folded in."""
    held_out = data.analysis_store.activations(norm.site)[data.analysis_rows]
    return {
        name: reconstruct(fold_normalisation(sae, norm.mean, norm.unit), held_out).fvu
        for name, sae in saes.items()
    }


def suite_training(settings: BenchSettings) -> Comparison:
    """The profile's TopK suite (the grid and the neighbouring sites; its JumpReLU line trains with
    sae_lens's trainer either way): each site's SAEs together in one pass over the data
    (`train_topk_saes`), vs the path the suite took before, one SAE at a time, each reading its own
    batches, with autograd's backward (`helpers.bench.autograd_topk`); same samples, and every
    SAE's held-out FVU compared."""
    suite = settings.profile.sae_suite
    data = LmData(settings.profile, 0, settings.device)
    batch = suite.batch_size
    samples = settings.steps * batch
    by_site: dict[str, list[TopKTraining]] = {}
    for entry in data.entries:
        if entry.architecture == "topk":
            config = TopKTraining(
                entry.width, entry.sparsity, samples, batch, suite.lr, bf16=data.training_bf16
            )
            by_site.setdefault(entry.site, []).append(config)
    norms = {site: Normalisation(data.train_store, site, data.train_rows) for site in by_site}
    ours, before = {}, {}

    def together() -> None:
        for site, configs in by_site.items():
            norm = norms[site]
            trained = train_topk_saes(norm.batches(batch, 0), norm.mean.shape[0], configs, settings.device)
            ours.update({(site, c): sae for c, (sae, _) in zip(configs, trained, strict=True)})

    def one_at_a_time() -> None:
        for site, configs in by_site.items():
            norm = norms[site]
            for c in configs:
                batches = norm.batches(batch, 0)
                before[site, c], _ = train_topk_sae_with_autograd(
                    batches, norm.mean.shape[0], c, settings.device
                )

    ours_seconds = timed(together, settings.device)
    baseline_seconds = timed(one_at_a_time, settings.device)
    differences = []
    for site, configs in by_site.items():
        saes = {
            (way, i): trained[site, c]
            for way, trained in (("ours", ours), ("before", before))
            for i, c in enumerate(configs)
        }
        fvu = held_out_fvus(data, norms[site], saes)
        differences += [
            abs(fvu["ours", i] - fvu["before", i]) / fvu["before", i] for i in range(len(configs))
        ]
    n_saes = sum(map(len, by_site.values()))
    return Comparison(
        name="TopK suite training",
        ours=f"{n_saes} TopK SAEs, each site's together (train_topk_saes)",
        ours_seconds=ours_seconds,
        baseline=(
            f"the previous path: one at a time, autograd backward; held-out FVUs within "
            f"{max(differences):.2%} of ours (largest difference)"
        ),
        baseline_seconds=baseline_seconds,
        target_ratio=2.0,
        details={
            "saes": n_saes,
            "samples_per_sae": samples,
            "largest_fvu_relative_difference": max(differences),
            "target_fvu_relative_difference": 0.01,
        },
        limited_by=(
            "each SAE's own step (the TopK row says where its time goes); training together saves "
            "the batches' reading and normalising, once per site instead of once per SAE"
        ),
    )
