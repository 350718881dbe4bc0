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
# # Controls: a random model and Gaussian data
#
# The sections before this one find regularities in SAE error: its squared norm is almost linear
# in the activation, a linear map recovers part of the error vector, the part it does not recover
# changes little with width, and one SAE's per-token error norm predicts a larger one's. Each
# reading assumes the regularity comes from the *trained* model's sparse features. Two controls
# test that assumption by running the same analysis where it cannot hold.
#
# A **randomized model** ({cite}`heap2025random`): the same architecture, tokenizer and text, with
# every weight matrix, the embeddings included, re-drawn i.i.d. from a Gaussian with that matrix's
# own mean and standard deviation (the norm layers' scales are kept). Heap et al. find that SAEs
# trained on such models often score like those trained on the real ones, on reconstruction and
# on automated interpretability. If Part IV's numbers come out the same on a model that has learnt
# nothing, they say more about SAEs and residual streams than about what the model computes.
#
# **Gaussian data**: tokens drawn from a Gaussian with the real activations' mean and covariance.
# They have every linear property of the real activations and no sparse structure at all: this is
# what "predictable error" looks like when there are no features to find.
#
# **The claims** are ours, not the paper's: on each of Part IV's headline numbers, the trained
# model differs from the randomized one, and real activations differ from their Gaussian twin.
# Each is decided on the 95% interval of the paired difference, with every side scored on the same
# test contexts and resampled together. "No" here would mean that a headline does not tell a
# trained model from a null one.

# %% tags=["parameters"]
PROFILE = "cpu"  # smoke | cpu | paper (see helpers/profiles.py)
SEED = 0  # everything random in this run derives from it
RESULTS_DIR = None  # where results.json goes; None: the cache's interactive folder
OVERRIDES = {}  # e.g. {"sae_suite.samples": 200000}

# %% tags=["hide-input"]
import dataclasses
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from helpers.book.intervals import Band, Estimate, resample_counts
from helpers.book.section import scale_table, start_section
from helpers.dark_matter.controls import (
    GaussianTwin,
    error_norm_transfer_rows,
    gaussian_activations,
    paired_differences,
    same_test_contexts,
    table1_statistics,
    train_on_gaussian,
)
from helpers.dark_matter.decomposition import context_split, decompose
from helpers.dark_matter.suite_statistics import headline_rows
from helpers.lm.data import LmData
from helpers.lm.tables import styled

config, device, results, _, _ = start_section("controls", PROFILE, SEED, RESULTS_DIR, OVERRIDES)

# %% [markdown]
# ## Our scale
#
# The controls reuse Part III's settings: the same model, text, stores and SAE recipe. Each control
# trains only the reference line of the suite (TopK SAEs of every width at the reference sparsity),
# the line along which Part IV compares widths.

# %% tags=["hide-input"]
display(scale_table(config, "controls"))

# %% [markdown]
# ## Three sources of activations
#
# The trained model's stores and SAEs are Part III's. The randomized model is harvested on the same
# contexts as the trained one, with the same positions dropped and the same data choice (where the
# profile applies the norm filter, measured on its own activations), and its reference line is
# trained by the same recipe (both are cached like the trained model's). The Gaussian twin is fitted
# to the trained model's training tokens at the main site (its mean and covariance, in float64), its
# reference line trained on fresh draws by the same recipe; its analysis tokens are fresh draws put
# in the places of the trained model's analysis tokens, so that all three sources share one split by
# context.

# %% tags=["hide-input"]
started = time.perf_counter()
settings = config.decomposition
data = LmData(config, SEED, device)
site = str(data.site)
line = data.reference_line
names = [e.name for e in line]
widths = np.array([e.width for e in line], dtype=float)
randomized = LmData(  # the reference line's sites only: no depth sites (App. A.3) to harvest
    dataclasses.replace(config, lm=dataclasses.replace(config.lm, weights="randomized", depth_layers=())),
    SEED,
    device,
)
random_started = time.perf_counter()
random_saes = randomized.train_saes(line)[0]
random_store = randomized.analysis_store
random_seconds = time.perf_counter() - random_started
gaussian_started = time.perf_counter()
twin = GaussianTwin.fit(data.train_store.activations(site), data.train_rows, device)
gaussian_saes = train_on_gaussian(twin, line, data.suite_training, device)
gaussian_seconds = time.perf_counter() - gaussian_started
trained_store = data.analysis_store
SOURCES = {  # source: (its words, the store its contexts come from, its analysis activations, rows, SAEs)
    "trained": (
        "trained model",
        trained_store,
        trained_store.activations(site),
        data.analysis_rows,
        {name: data.saes[name] for name in names},
    ),
    "random": (
        "randomized model",
        random_store,
        random_store.activations(site),
        randomized.analysis_rows,
        random_saes,
    ),
    "gaussian": (
        "Gaussian twin",
        trained_store,
        gaussian_activations(twin, trained_store.n_tokens, data.analysis_rows, SEED + 1),
        data.analysis_rows,
        gaussian_saes,
    ),
}
splits = {
    source: context_split(store, rows, settings.train_fraction, SEED)
    for source, (_, store, _, rows, _) in SOURCES.items()
}
same_test_contexts(splits)
n_test_contexts = splits["trained"].test_groups()[1]
counts = resample_counts(n_test_contexts, seed=SEED)
decompositions = {
    source: {name: decompose(saes[name], activations, splits[source], device) for name in names}
    for source, (_, _, activations, _, saes) in SOURCES.items()
}
statistics = {
    source: headline_rows(decompositions[source], counts, names, widths)
    | {"error_norm_transfer": error_norm_transfer_rows(decompositions[source], names, splits[source], counts)}
    for source in SOURCES
}
analysis_seconds = time.perf_counter() - started - random_seconds - gaussian_seconds
table1_started = time.perf_counter()
planted = config.modeling_activations
for source, (_, _, activations, _, saes) in SOURCES.items():
    statistics[source] |= table1_statistics(
        saes[names[-1]],
        activations,
        splits[source],
        counts,
        planted.noise_levels,
        planted.max_noise_variance_share,
        SEED,
        device,
    )
table1_seconds = time.perf_counter() - table1_started

# %% tags=["hide-input"]
results.metric("reference_l0", settings.reference_l0)
results.metric("line_saes", len(names))
results.metric("narrowest_width", widths[0])
results.metric("widest_width", widths[-1])
results.metric("test_contexts", n_test_contexts)
results.metric("resamples", len(counts))
results.metric("random_harvest_tokens_per_second", randomized.train_store.harvest_tokens_per_second)
results.metric("random_seconds", random_seconds)
results.metric("gaussian_seconds", gaussian_seconds)
results.metric("analysis_seconds", analysis_seconds)
results.metric("table1_seconds", table1_seconds)
results.metric("noise_levels", planted.noise_levels)
results.metric("max_noise_variance_share", planted.max_noise_variance_share)
results.metric("d_model", twin.mean.shape[0])
for source, (_, _, _, rows, _) in SOURCES.items():
    results.metric(f"{source}_analysis_tokens", len(rows))
    results.metric(f"{source}_test_tokens", len(splits[source].test))
results.metric("random_train_tokens", len(randomized.train_rows))
twin_train_tokens = results.metric("twin_train_tokens", len(data.train_rows))

# %% [markdown]
# Each side's reference line has {glue:text}`line_saes` TopK SAEs at $k$ =
# {glue:text}`reference_l0`, widths {glue:text}`narrowest_width:.0f` to
# {glue:text}`widest_width:.0f`. The probes are fitted on the tokens of the training contexts and
# scored on the {glue:text}`test_contexts` test contexts, the same for all three sources; each
# interval comes from {glue:text}`resamples:,` bootstrap resamples of those contexts, applied to
# all three sides at once, so a difference between two sides is resampled in pairs. The
# randomized model's harvest and reference line took {glue:text}`random_seconds:.0f` seconds,
# the Gaussian twin's fit and reference line {glue:text}`gaussian_seconds:.0f`, and the
# {glue:text}`line_saes`×3 decompositions {glue:text}`analysis_seconds:.0f`.
#
# ## Part IV's headlines, side by side
#
# The table's last two rows run §5.2's planted-noise test (Table 1, nothing masked; see
# `modeling_activations`) on each source: the widest SAE of its line reconstructs its analysis
# tokens, the reconstructions are the clean activations, and Gaussian noise is planted in the input
# and in the reconstruction at {glue:text}`noise_levels` levels up to
# {glue:text}`max_noise_variance_share:.0%` of the clean variance (the same seeded draws for all
# three sources), the probe fitted on the shared training contexts; {glue:text}`table1_seconds:.0f`
# seconds for the three. `modeling_activations` runs the same test on the SAE nearest its own width
# and L0 and on a subset of the tokens, so its numbers differ from these.

# %% tags=["hide-input"]
STATISTICS = {  # name: (row label, format)
    "fvu_mean": ("SAE FVU, mean over the line", ".4f"),
    "nonlinear_fvu_mean": ("nonlinear FVU, mean over the line (Eq. 4)", ".4f"),
    "norm_r2_min": ("norm probe R², smallest (Eq. 2)", ".3f"),
    "vector_r2_mean": ("vector probe R², mean (Eq. 3)", ".3f"),
    "slope_ratio": ("nonlinear / linear FVU slope per doubling (Fig. 5)", ".2f"),
    "error_norm_transfer": ("error-norm R², smallest pair (Eq. 5)", ".3f"),
    "table1_diagonal_min": ("Table 1: smaller diagonal correlation (§5.2)", ".3f"),
    "table1_off_diagonal_max": ("Table 1: larger off-diagonal correlation, in size", ".3f"),
}
estimates = {
    source: {name: Estimate.from_rows(values) for name, values in statistics[source].items()}
    for source in SOURCES
}
side_by_side = pd.DataFrame(
    {
        SOURCES[source][0]: {
            label: estimates[source][name].text(spec) for name, (label, spec) in STATISTICS.items()
        }
        for source in SOURCES
    }
)
for source in SOURCES:
    for name, estimate in estimates[source].items():
        results.metric(f"{source}_{name}", estimate.value)
        results.metric(f"{source}_{name}_low", estimate.interval[0])
        results.metric(f"{source}_{name}_high", estimate.interval[1])

# %% tags=["hide-input"]
display(styled(side_by_side, index=True))

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
for colour, source in zip(("C0", "C3", "C7"), SOURCES, strict=True):
    label = SOURCES[source][0]
    per_sae = [decompositions[source][name] for name in names]
    axes[0].plot(widths, [d.fvu_sae for d in per_sae], "-o", color=colour, label=f"{label}: FVU")
    axes[0].plot(widths, [d.fvu_nonlinear for d in per_sae], "--s", color=colour, label=f"{label}: nonlinear")
    axes[1].plot(widths, [d.norm_probe_r2 for d in per_sae], "-o", color=colour, label=label)
    axes[2].plot(widths, [d.vector_probe_r2 for d in per_sae], "-o", color=colour, label=label)
for ax, title in zip(
    axes, ("FVU and nonlinear FVU", "norm probe R² (Eq. 2)", "vector probe R² (Eq. 3)"), strict=True
):
    ax.set(xscale="log", xlabel=f"width (k = {settings.reference_l0})", title=title)
    ax.set_xticks(widths, [f"{w:.0f}" for w in widths])
axes[0].set_ylabel("on test tokens")
axes[0].legend(fontsize=7)
axes[1].legend(fontsize=8)
plt.show()

# %% [markdown]
# Along the reference line, the trained model's SAEs leave a mean FVU of
# {glue:text}`trained_fvu_mean:.3f` ({glue:text}`trained_fvu_mean_low:.3f` to
# {glue:text}`trained_fvu_mean_high:.3f`), the randomized model's {glue:text}`random_fvu_mean:.3f`
# ({glue:text}`random_fvu_mean_low:.3f` to {glue:text}`random_fvu_mean_high:.3f`) and the Gaussian
# twin's {glue:text}`gaussian_fvu_mean:.3f` ({glue:text}`gaussian_fvu_mean_low:.3f` to
# {glue:text}`gaussian_fvu_mean_high:.3f`). The norm probe's smallest $R^2$ is
# {glue:text}`trained_norm_r2_min:.3f`, {glue:text}`random_norm_r2_min:.3f` and
# {glue:text}`gaussian_norm_r2_min:.3f` in the same order; the vector probe's mean $R^2$
# {glue:text}`trained_vector_r2_mean:.3f`, {glue:text}`random_vector_r2_mean:.3f` and
# {glue:text}`gaussian_vector_r2_mean:.3f`; the nonlinear FVU's mean
# {glue:text}`trained_nonlinear_fvu_mean:.4f`, {glue:text}`random_nonlinear_fvu_mean:.4f` and
# {glue:text}`gaussian_nonlinear_fvu_mean:.4f`. The table gives every interval.
#
# ## Claims
#
# Each claim compares the trained model with one control on one headline, as a paired difference
# (or, for FVUs, which differ by orders of magnitude between sources, a ratio) with its interval
# over the shared test contexts. A difference counts as one where a reader of Part IV would notice
# it: 0.05 in $R^2$ or in a correlation, a quarter in the ratio of slopes (the margin Part IV's
# flatness rule allows), and a factor of 1.25 either way in FVU.

# %% tags=["hide-input"]
R2_SAME = Band(-0.05, 0.05)  # R²: within 0.05 of each other
SLOPE_SAME = Band(-0.25, 0.25)  # the ratio of slopes: within a quarter
FVU_SAME = Band(0.8, 1.25)  # FVU: within a factor of 1.25 either way
CLAIMS = {  # statistic: (claim id stem, the headline in words, how the sides compare, band)
    "norm_r2_min": ("norm_probe", "the norm probe's smallest R² (Eq. 2)", "difference", R2_SAME),
    "vector_r2_mean": ("vector_probe", "the vector probe's mean R² (Eq. 3)", "difference", R2_SAME),
    "nonlinear_fvu_mean": ("nonlinear_fvu", "the mean nonlinear FVU (Eq. 4)", "ratio", FVU_SAME),
    "slope_ratio": (
        "width_trend",
        "the nonlinear FVU's slope in width against the linear FVU's",
        "difference",
        SLOPE_SAME,
    ),
    "error_norm_transfer": (
        "error_norm_transfer",
        "the smallest Eq. 5 R² over the line's pairs",
        "difference",
        R2_SAME,
    ),
    "table1_diagonal_min": (
        "table1_diagonal",
        "Table 1's smaller diagonal correlation (§5.2's planted noise, on the widest SAE)",
        "difference",
        R2_SAME,
    ),
}
CONTROLS = {  # source: (claim id suffix, the comparison in words, what the paper or Heap et al. found)
    "random": (
        "random_model",
        "the randomized model",
        "Not tested in the paper; Heap et al. find SAE reconstruction and auto-interpretability metrics "
        "on randomly initialised Pythia models often close to the trained ones'.",
    ),
    "gaussian": (
        "gaussian_twin",
        "a Gaussian with the real activations' mean and covariance",
        "Not tested in the paper (§5 argues that a predictable error norm comes from sparse features).",
    ),
}
comparisons = {}
for source, (suffix, words, paper) in CONTROLS.items():
    differences = paired_differences(
        {name: statistics["trained"][name] for name in STATISTICS},
        {name: statistics[source][name] for name in STATISTICS},
    )
    for name, (stem, headline, how, band) in CLAIMS.items():
        trained, other = estimates["trained"][name], estimates[source][name]
        if how == "ratio":
            compared = Estimate.from_rows(statistics["trained"][name] / statistics[source][name])
        else:
            compared = differences[name]
        comparisons[source, name] = compared
        results.metric(f"trained_vs_{source}_{name}", compared.value)
        results.metric(f"trained_vs_{source}_{name}_low", compared.interval[0])
        results.metric(f"trained_vs_{source}_{name}_high", compared.interval[1])
        results.claim(
            f"{stem}_differs_from_{suffix}",
            f"On {headline}, the trained model differs from {words}.",
            paper,
            f"Trained {trained.text('.4f')}, {SOURCES[source][0]} {other.text('.4f')}; "
            f"{'trained / control' if how == 'ratio' else 'trained − control'} {compared.text('.4f')}.",
            criterion=f"the {'ratio' if how == 'ratio' else 'difference'} of {headline}, trained model to "
            f"{SOURCES[source][0]}, with its bootstrap interval over the shared test contexts (resampled in "
            f"pairs): {band.outside_rule(2)}",
            holds=band.outside_verdict(compared.interval),
            estimate=compared.value,
            interval=compared.interval,
            control=other.value,
        )
section_seconds = results.metric("section_seconds", time.perf_counter() - started)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# On the randomized model, the reference line's norm probe explains at least
# {glue:text}`random_norm_r2_min:.1%` of the variance of the squared error norm (trained:
# {glue:text}`trained_norm_r2_min:.1%`), the vector probe {glue:text}`random_vector_r2_mean:.1%` of
# the error vector on average (trained: {glue:text}`trained_vector_r2_mean:.1%`), and the
# nonlinear FVU is {glue:text}`trained_vs_random_nonlinear_fvu_mean:.2f` times as large on the
# trained model as on the random one. On the Gaussian twin the same numbers are
# {glue:text}`gaussian_norm_r2_min:.1%`, {glue:text}`gaussian_vector_r2_mean:.1%` and a ratio of
# {glue:text}`trained_vs_gaussian_nonlinear_fvu_mean:.2f`. The claim table says, headline by
# headline, whether each control is told apart from the trained model; a headline that is not
# measures something a model with no training, or data with no sparse features, has as well. The
# whole section ran in {glue:text}`section_seconds:.0f` seconds.
