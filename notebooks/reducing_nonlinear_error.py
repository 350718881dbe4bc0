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
# # Reducing nonlinear error
#
# If the nonlinear part of SAE error is partly made by the SAE itself, better SAEs of the same
# sparsity should shrink it. {cite}`engels2024darkmatter` tries two cheap ways (§7). The first keeps
# an SAE's decoder and replaces its encoder with an inference-time optimiser, *gradient pursuit*
# (Smith 2024), run on every token to exactly the L0 that the SAE used there. Pursuit lowers the
# total FVU of every Gemma Scope SAE it is run on, yet the nonlinear FVU stays almost where it was:
# the better code removes linearly predictable error (Fig. 10a, the narrow "encoder error" band of
# Fig. 1). The second asks how much of one layer's SAE error a linear map can read off the SAEs of
# the components that wrote to it, the previous layer's residual stream and this layer's attention
# and MLP outputs (Fig. 10b): a small share, more for the nonlinear error when the map reads this
# SAE's own reconstruction $\mathrm{Sae}(x)$.
#
# **The claims**, checked on the suite of Part III: pursuit lowers every reference-sparsity SAE's
# FVU at equal L0 token by token, and little of the drop is nonlinear; and each neighbouring SAE's
# reconstruction explains a small share of $\mathrm{SaeError}$, $\mathrm{LinearError}$ and
# $\mathrm{NonlinearError}$, less of the nonlinear error than $\mathrm{Sae}(x)$ does.

# %% tags=["parameters"]
PROFILE = "cpu"  # smoke | cpu | paper (see helpers/profiles.py)
SEED = 0  # everything random in this run derives from it
RESULTS_DIR = None  # where results.json goes; None: the cache's interactive folder
OVERRIDES = {}  # e.g. {"reducing_nonlinear_error.pursuit_tokens": 4096}

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from tqdm import tqdm

from helpers.book.results import verdict
from helpers.book.section import scale_table, start_section
from helpers.dark_matter.adjacent_saes import (
    ERROR_PARTS,
    cross_prediction,
    error_parts,
    neighbours_and_match,
    sae_reconstructions,
)
from helpers.dark_matter.decomposition import context_split, decompose
from helpers.dark_matter.figures import fvu_breakdown
from helpers.dark_matter.pursuit import PursuitReconstructor
from helpers.lm.data import LmData
from helpers.lm.suite import sparsity_line
from helpers.lm.tables import styled

config, device, results, _, _ = start_section(
    "reducing_nonlinear_error", PROFILE, SEED, RESULTS_DIR, OVERRIDES
)

# %% [markdown]
# ## Our scale
#
# Below the `paper` profile pursuit re-encodes thousands of tokens where the paper re-encodes tens
# of thousands, with the decoders of SAEs of hundreds to thousands of latents, and the neighbouring
# sites' SAEs are our own.

# %% tags=["hide-input"]
display(scale_table(config, "reducing_nonlinear_error"))

# %% [markdown]
# ## A better encoder for the same decoder (§7.1)
#
# Gradient pursuit (`helpers.dark_matter.pursuit`) keeps the SAE's decoder $W_\mathrm{dec}$ and
# bias $b_\mathrm{dec}$ and rebuilds each token's code from scratch: starting from an empty
# support, it adds the decoder row most aligned with what is left of $x - b_\mathrm{dec}$, takes a
# gradient step on the squared error over the support with an exact line search, and clamps the
# weights at zero, once per atom, until the support holds as many atoms as the SAE fired on that
# token. Pursuit and SAE therefore spend the same L0 on every token. All tokens of a chunk run as
# one batch.
#
# We re-encode {glue:text}`pursuit_tokens:,` analysis tokens drawn at random (pursuit costs a
# tokens × $d$ × width product per atom, so not all of them), for every SAE of the
# reference-sparsity line ($k$ or L0 nearest {glue:text}`reference_l0`, one per width), and split
# the pursuit reconstruction's error exactly as {doc}`predicting_error` splits the SAE's: a vector
# probe fitted on {glue:text}`pursuit_train_tokens:,` of the tokens gives the linear error, the
# rest is nonlinear, and every FVU is measured on the other {glue:text}`pursuit_test_tokens:,`. The
# SAE's own split is recomputed on the same tokens, so the two are compared on equal terms. (The
# probe reads $d$ = {glue:text}`d_model` coordinates and an intercept, so it has
# {glue:text}`pursuit_train_tokens_per_regressor:.1f` training tokens per coefficient; with too
# few, it overfits and inflates the nonlinear FVU of both encoders alike, so the section refuses to
# run with fewer than {glue:text}`min_tokens_per_coefficient`.)

# %% tags=["hide-input"]
MIN_TOKENS_PER_COEFFICIENT = 3  # below this, the test error of a least-squares probe grows fast
settings = config.decomposition
data = LmData(config, SEED, device)
store, site = data.analysis_store, str(data.site)
activations = store.activations(site)
d_model = activations.shape[1]
n_pursuit = min(config.reducing_nonlinear_error.pursuit_tokens, len(data.analysis_rows))
pursuit_rows = np.random.default_rng(SEED).choice(data.analysis_rows, n_pursuit, replace=False)
pursuit_split = context_split(store, pursuit_rows, settings.train_fraction, SEED)
split = context_split(store, data.analysis_rows, settings.train_fraction, SEED)
if len(pursuit_split.train) < MIN_TOKENS_PER_COEFFICIENT * (d_model + 1):
    raise ValueError(
        f"reducing_nonlinear_error.pursuit_tokens = {n_pursuit} leaves {len(pursuit_split.train)} training "
        f"tokens for a probe with {d_model + 1} coefficients per output; it would all but interpolate "
        f"them. Use at least {MIN_TOKENS_PER_COEFFICIENT * (d_model + 1) / settings.train_fraction:.0f}."
    )

# %% tags=["hide-input"]
results.metric("d_model", d_model)
results.metric("pursuit_tokens", n_pursuit)
results.metric("pursuit_train_tokens", len(pursuit_split.train))
results.metric("pursuit_test_tokens", len(pursuit_split.test))
results.metric("pursuit_train_tokens_per_regressor", len(pursuit_split.train) / (d_model + 1))
results.metric("min_tokens_per_coefficient", MIN_TOKENS_PER_COEFFICIENT)
results.metric("train_tokens", len(split.train))
results.metric("test_tokens", len(split.test))
reference_l0 = results.metric("reference_l0", settings.reference_l0)

# %% tags=["hide-input"]
line = sparsity_line(data.entries, site, settings.reference_l0)
rows = []
started = time.perf_counter()
for entry in tqdm(line, desc="pursuit", unit="SAE"):
    sae = data.saes[entry.name]
    pursuit = PursuitReconstructor(sae)
    by_sae = decompose(sae, activations, pursuit_split, device)
    by_pursuit = decompose(pursuit, activations, pursuit_split, device)
    rows.append(
        {
            "name": entry.name,
            "width": entry.width,
            "L0": pursuit.sae_l0_sum / pursuit.tokens,
            "pursuit L0": pursuit.pursuit_l0_sum / pursuit.tokens,
            "tokens at SAE L0": pursuit.tokens_at_sae_l0 / pursuit.tokens,
            "L0 excess": pursuit.max_l0_excess,
            "SAE FVU": by_sae.fvu_sae,
            "pursuit FVU": by_pursuit.fvu_sae,
            "SAE nonlinear FVU": by_sae.fvu_nonlinear,
            "pursuit nonlinear FVU": by_pursuit.fvu_nonlinear,
        }
    )
pursuit_elapsed = time.perf_counter() - started
table = pd.DataFrame(rows).set_index("name")
table["FVU drop"] = 1 - table["pursuit FVU"] / table["SAE FVU"]
table["nonlinear change"] = table["pursuit nonlinear FVU"] / table["SAE nonlinear FVU"] - 1
table["nonlinear share of drop"] = (table["SAE nonlinear FVU"] - table["pursuit nonlinear FVU"]) / (
    table["SAE FVU"] - table["pursuit FVU"]
)

# %% tags=["hide-input"]
pursuit_seconds = results.metric("pursuit_seconds", pursuit_elapsed)
results.metric("n_saes", len(line))
results.metric("pursuit_l0_equal_share", table["tokens at SAE L0"].mean())
results.metric("pursuit_l0_excess_max", table["L0 excess"].max())
results.metric("pursuit_mean_l0", table["pursuit L0"].mean())
results.metric("sae_mean_l0", table["L0"].mean())
results.metric("max_pursuit_minus_sae_fvu", (table["pursuit FVU"] - table["SAE FVU"]).max())
results.metric(
    "max_nonlinear_minus_fvu",
    max(
        (table["SAE nonlinear FVU"] - table["SAE FVU"]).max(),
        (table["pursuit nonlinear FVU"] - table["pursuit FVU"]).max(),
    ),
)
drop_min = results.metric("fvu_drop_min", table["FVU drop"].min())
drop_max = results.metric("fvu_drop_max", table["FVU drop"].max())
nonlinear_change_min = results.metric("nonlinear_change_min", table["nonlinear change"].min())
nonlinear_change_max = results.metric("nonlinear_change_max", table["nonlinear change"].max())
nonlinear_share_max = results.metric(
    "nonlinear_share_of_drop_max", table["nonlinear share of drop"].abs().max()
)
nonlinear_share_mean = results.metric("nonlinear_share_of_drop_mean", table["nonlinear share of drop"].mean())

# %% tags=["hide-input"]
shares = ["FVU drop", "nonlinear change", "nonlinear share of drop"]
display(
    styled(
        table.drop(columns=["tokens at SAE L0", "L0 excess"]),
        {"width": "{:,}", "L0": "{:.1f}", "pursuit L0": "{:.1f}"} | dict.fromkeys(shares, "{:+.1%}"),
    )
)

# %% [markdown]
# Pursuit and both decompositions of the {glue:text}`n_saes` SAEs took
# {glue:text}`pursuit_seconds:.0f` seconds (each token is pursued once; the probe's second pass
# reuses the codes). The SAEs fired {glue:text}`sae_mean_l0:.1f` latents per token on average;
# pursuit's codes hold {glue:text}`pursuit_mean_l0:.1f` non-zero weights: the SAE's L0 exactly on
# {glue:text}`pursuit_l0_equal_share:.1%` of tokens (the others lost an atom whose weight the
# clamp set to zero), and at most {glue:text}`pursuit_l0_excess_max` more than the SAE's on any
# token.
#
# Pursuit lowers the FVU by {glue:text}`fvu_drop_min:.1%` to {glue:text}`fvu_drop_max:.1%`
# across widths, while the nonlinear FVU changes by {glue:text}`nonlinear_change_min:+.1%` to
# {glue:text}`nonlinear_change_max:+.1%`. Of the whole drop, the nonlinear part accounts for
# {glue:text}`nonlinear_share_of_drop_mean:.0%` on average (at most
# {glue:text}`nonlinear_share_of_drop_max:.0%` in absolute value at any width).
#
# ## Fig. 1 again, with pursuit (Fig. 10a)
#
# The breakdown of FVU along the reference-sparsity line: the nonlinear error as the lower band,
# the linear error above it, for the SAE's own encoder (left) and for pursuit on its decoder
# (right; dashed, the SAE's FVU and nonlinear FVU for comparison).

# %% tags=["hide-input"]
widths = table.width.to_numpy(float)
fig, (ax_sae, ax_pursuit) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
fvu_breakdown(ax_sae, widths, table["SAE FVU"], table["SAE nonlinear FVU"])
fvu_breakdown(ax_pursuit, widths, table["pursuit FVU"], table["pursuit nonlinear FVU"])
ax_pursuit.plot(widths, table["SAE FVU"], "--", color="0.2", lw=1, label="SAE: FVU")
ax_pursuit.plot(widths, table["SAE nonlinear FVU"], "--", color="C3", lw=1, label="SAE: nonlinear FVU")
ax_sae.set(title="SAE encoder", ylabel="FVU (test tokens)", ylim=(0, 1.1 * table["SAE FVU"].max()))
ax_pursuit.set_title("Gradient pursuit")
ax_pursuit.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
plt.show()

# %% [markdown]
# ## Linear maps from the components before this SAE (§7.2, Fig. 10b)
#
# The residual stream after layer $L$ is what came before plus what layer $L$'s attention and MLP
# add: $x = x_{L-1} + \mathrm{Attn}_L(\cdot) + \mathrm{Mlp}_L(\cdot)$ (Eq. 11). Part III trained
# an SAE of one size on each of these three sites. We take the main-site SAE of the most similar
# size, fit its vector probe on the usual training split ({glue:text}`train_tokens:,` tokens), and
# ask how much of its $\mathrm{SaeError}$, $\mathrm{LinearError}$ and $\mathrm{NonlinearError}$ a
# least-squares map from each neighbouring SAE's reconstruction predicts, and from its own
# reconstruction $\mathrm{Sae}(x)$ ($R^2$ on the {glue:text}`test_tokens:,` test tokens, averaged
# over dimensions; `helpers.dark_matter.adjacent_saes`).

# %% tags=["hide-input"]
started = time.perf_counter()
neighbours, main_entry = neighbours_and_match(data.entries, site)
main_sae = data.saes[main_entry.name]
probe = decompose(main_sae, activations, split, device).vector_probe
sources = {f"Sae({e.site})": (data.saes[e.name], store.activations(e.site)) for e in neighbours}
sources["Sae(x)"] = (main_sae, activations)
scores = cross_prediction(
    sae_reconstructions(sources, device), error_parts(main_sae, probe, activations, device), split, device
)
adjacent_elapsed = time.perf_counter() - started
r2 = pd.DataFrame(
    {target: {source: scores[source, target].r2 for source in sources} for target in ERROR_PARTS}
)
earlier = r2.drop(index="Sae(x)")

# %% tags=["hide-input"]
adjacent_seconds = results.metric("adjacent_seconds", adjacent_elapsed)
results.label("main_sae", main_entry.name)
results.label("neighbour_saes", ", ".join(e.name for e in neighbours))
results.metric("r2_max", r2.to_numpy().max())
earlier_error_best = results.metric("earlier_sae_error_r2_max", earlier["SaeError"].max())
earlier_nonlinear_best = results.metric("earlier_nonlinear_r2_max", earlier["NonlinearError"].max())
own_nonlinear = results.metric("own_nonlinear_r2", r2.loc["Sae(x)", "NonlinearError"])
own_error = results.metric("own_sae_error_r2", r2.loc["Sae(x)", "SaeError"])
earlier_nonlinear_removed = results.metric(
    "earlier_nonlinear_removed_max",
    max(1 - scores[source, "NonlinearError"].fvu for source in earlier.index),
)
pursuit_nonlinear_removed = results.metric(
    "pursuit_nonlinear_removed_mean", -table["nonlinear change"].mean()
)

# %% tags=["hide-input"]
display(styled(r2, dict.fromkeys(ERROR_PARTS, "{:.1%}"), index=True))

# %% tags=["hide-input"]
ax = r2.plot.bar(figsize=(8.5, 3.6), rot=0, color=["0.4", "C0", "C3"])
ax.axhline(0, color="0.2", lw=0.8)
ax.set(
    ylabel="R² (test tokens)", xlabel="source", title="What each reconstruction explains of this SAE's error"
)
ax.legend(title="target", fontsize=8)
plt.show()

# %% [markdown]
# The SAE whose error is explained is {glue:md}`main_sae`; the earlier components' SAEs are
# {glue:md}`neighbour_saes`. The regressions took {glue:text}`adjacent_seconds:.0f` seconds.
# The best earlier component explains {glue:text}`earlier_sae_error_r2_max:.1%` of
# $\mathrm{SaeError}$ and {glue:text}`earlier_nonlinear_r2_max:.1%` of $\mathrm{NonlinearError}$;
# $\mathrm{Sae}(x)$ itself explains {glue:text}`own_sae_error_r2:.1%` of $\mathrm{SaeError}$ and
# {glue:text}`own_nonlinear_r2:.1%` of $\mathrm{NonlinearError}$. Counted as the share of the
# nonlinear error's total squared norm that the best earlier component's map removes,
# {glue:text}`earlier_nonlinear_removed_max:.1%`; pursuit, for comparison, removes
# {glue:text}`pursuit_nonlinear_removed_mean:.1%` of the SAE's nonlinear FVU on average along the
# reference line (a negative share would mean that it adds some).
#
# ## Claims

# %% tags=["hide-input"]
results.claim(
    "pursuit_lowers_fvu",
    "Gradient pursuit on a frozen SAE decoder lowers the total FVU at the SAE's own L0, token by token.",
    "Yes, for every layer-20 Gemma Scope SAE it was run on (§7.1; the size of the drop is lost in "
    "our copy of the text).",
    f"FVU lower by {drop_min:.1%} to {drop_max:.1%} over {len(table)} widths.",
    criterion=(
        "yes if pursuit lowers the FVU at every width of the reference line (smallest drop > 0); partly if "
        "at some width"
    ),
    holds=verdict(drop_min > 0, drop_max > 0),
)
results.claim(
    "pursuit_keeps_nonlinear_fvu",
    "Nonlinear FVU stays almost constant under pursuit: most of the drop is linearly predictable error.",
    "Yes: nonlinear FVU almost unchanged from Fig. 1; the 'encoder error' band of Fig. 1 is very narrow.",
    f"Nonlinear FVU changes by {nonlinear_change_min:+.1%} to {nonlinear_change_max:+.1%}; the nonlinear "
    f"part is {nonlinear_share_mean:.0%} of the drop on average (at most {nonlinear_share_max:.0%}).",
    criterion=(
        "yes if at every width the nonlinear part is less than half of the FVU drop in size and the "
        "nonlinear FVU changes by at most 10%; partly if the nonlinear part is less than half of the drop "
        "on average"
    ),
    holds=verdict(
        nonlinear_share_max < 0.5 and max(abs(nonlinear_change_min), abs(nonlinear_change_max)) <= 0.1,
        nonlinear_share_mean < 0.5,
    ),
)
results.claim(
    "earlier_components_explain_little",
    "A linear map from an earlier component's SAE reconstruction explains a small share of this layer's "
    "SAE error.",
    "A small share of SaeError (the figure is lost in our copy), from the layer-19 residual and "
    "layer-20 attention and MLP SAEs (Fig. 10b).",
    f"At most {earlier_error_best:.1%} of SaeError and {earlier_nonlinear_best:.1%} of NonlinearError.",
    criterion=(
        "yes if the best earlier component's R² of SaeError is between 0 and 0.25; partly if between 0 "
        "and 0.5"
    ),
    holds=verdict(0 < earlier_error_best < 0.25, 0 < earlier_error_best < 0.5),
    estimate=earlier_error_best,
)
results.claim(
    "own_reconstruction_explains_nonlinear",
    "Sae(x) itself explains more of the nonlinear error than any earlier component does.",
    "Sae(x) explains a larger share of NonlinearError (the figure is lost in our copy), not surprising "
    "since the nonlinear error is a function of x.",
    f"Sae(x): {own_nonlinear:.1%} of NonlinearError; best earlier component {earlier_nonlinear_best:.1%}.",
    criterion="yes if Sae(x)'s R² of NonlinearError exceeds the best earlier component's and 0; no otherwise",
    holds=verdict(own_nonlinear > max(earlier_nonlinear_best, 0)),
)
results.claim(
    "adjacent_beats_pursuit",
    "Linear maps from earlier SAEs remove more nonlinear error than gradient pursuit does.",
    "Abstract: pursuit gives a very slight decrease in nonlinear error, earlier-layer SAE outputs "
    "a larger one.",
    f"Best earlier component removes {earlier_nonlinear_removed:.1%} of the nonlinear error's squared "
    f"norm; pursuit {pursuit_nonlinear_removed:+.1%} on average.",
    criterion=(
        "yes if the best earlier component's map removes a larger share of the nonlinear error than pursuit "
        "does on average, and more than 0; no otherwise"
    ),
    holds=verdict(earlier_nonlinear_removed > max(pursuit_nonlinear_removed, 0)),
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# A better encoder buys lower error at the same sparsity: pursuit on each SAE's own decoder lowers
# its FVU by {glue:text}`fvu_drop_min:.0%` to {glue:text}`fvu_drop_max:.0%` here. The paper's point
# is where that gain lands: if the nonlinear error were the encoder's fault, pursuit would remove it
# first; instead, in the paper, it removes mostly error that a linear map of $x$ already predicted.
# Here the nonlinear part is {glue:text}`nonlinear_share_of_drop_mean:.0%` of the drop on average
# (the claim table says how that compares). Reading the error off the SAEs of the components that
# wrote to this layer explains at most {glue:text}`earlier_sae_error_r2_max:.0%` of it and
# {glue:text}`earlier_nonlinear_r2_max:.0%` of its nonlinear part, something that circuit analysis
# with an SAE at every component could use. The paper concludes that most of every part of the
# error stays unexplained; the largest $R^2$ of any source for any part here is {glue:text}`r2_max:.0%`.
