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
# # Absorption meets dark matter
#
# Part II shows, in toy models, how features that co-occur break an SAE's latents: a child feature
# *absorbs* its parent's direction, so the parent's latent stays silent exactly where the child is
# present, and broken latents show several peaks in their activation histograms. On real models,
# Chanin et al. {cite}`chanin2024absorption` measure absorption with a task whose answer is known:
# the first letter of a word. A linear probe reads the letter from the residual stream; each letter
# has a latent that usually carries it; and on some words that latent stays silent while another
# latent, one that fires for that word, carries the letter's direction instead. Part IV measures how
# much of each SAE's error is nonlinear. Nobody has asked whether the two meet: is the dark matter
# where the broken latents are?
#
# **The measures.** A 26-way logistic probe for a word-initial token's first letter (a space, then
# letters only: " cat") is fitted on the analysis tokens of the training contexts. For each SAE,
# each letter's *main latent* is the one whose decoder direction has the highest cosine with the
# letter's probe direction. A test token whose letter the probe reads right is *absorbed* when the
# main latent is silent and the latent whose contribution projects most onto the probe direction
# has a cosine of at least {glue:text}`aligned_cosine` with it and carries at least
# {glue:text}`projection_share` of the activation's projection (SAEBench's thresholds for full
# absorption). The *absorption rate* is the share of the tokens
# read right that are absorbed. The *multi-peak share* is the share of an SAE's latents (among those
# firing often enough) whose activation histogram has two peaks or more, Part II's signature.
#
# **The questions.** Across the SAEs of the main site, do the absorption rate and the multi-peak
# share rise with the nonlinear FVU? And within each SAE, do absorbed tokens carry more nonlinear
# error than tokens of the same letter whose main latent fires? Every interval resamples the test
# contexts; the answers are not known in advance.

# %% tags=["parameters"]
PROFILE = "cpu"  # smoke | cpu | paper (see helpers/profiles.py)
SEED = 0  # everything random in this run derives from it
RESULTS_DIR = None  # where results.json goes; None: the cache's interactive folder
OVERRIDES = {}  # e.g. {"absorption_and_dark_matter.probe_l2": 0.01}

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from helpers.book.intervals import (
    Band,
    Estimate,
    rank_correlation,
    ratio_replicates,
    resample_counts,
    with_whole_sample,
)
from helpers.book.section import scale_table, start_section
from helpers.dark_matter.decomposition import context_split, decompose
from helpers.lm.data import LmData
from helpers.lm.tables import styled
from helpers.open_questions.absorption import (
    ALIGNED_COSINE,
    LETTERS,
    PROJECTION_SHARE,
    absorption_events,
    first_letter_labels,
    fit_letter_probe,
    matched_ratio_rows,
    mean_over_saes,
    multi_peak_latents,
    ratio_estimate,
)

config, device, results, _, _ = start_section(
    "absorption_and_dark_matter", PROFILE, SEED, RESULTS_DIR, OVERRIDES
)

# %% [markdown]
# ## Our scale
#
# The SAEs are every SAE of Part III's suite at the main site; the tokens are the analysis tokens,
# split by context as Part IV splits them: the letter probe and each SAE's vector probe are fitted on
# the training contexts, and everything is read on the test contexts.

# %% tags=["hide-input"]
display(scale_table(config, "absorption_and_dark_matter"))

# %% tags=["hide-input"]
settings = config.absorption_and_dark_matter
data = LmData(config, SEED, device)
store = data.analysis_store
activations = store.activations(str(data.site))
split = context_split(store, data.analysis_rows, config.decomposition.train_fraction, SEED)
labels = first_letter_labels(data.tokenizer, np.asarray(store.tokens[split.rows]))
lettered = labels >= 0
fit_rows = split.rows[split.is_train & lettered]
probe = fit_letter_probe(
    torch.from_numpy(np.asarray(activations[fit_rows], dtype=np.float32)),
    torch.from_numpy(labels[split.is_train & lettered]),
    settings.probe_l2,
    settings.probe_steps,
)
test = ~split.is_train
test_x = torch.from_numpy(np.asarray(activations[split.rows[test & lettered]], dtype=np.float32))
probe_accuracy = float((probe.predict(test_x).numpy() == labels[test & lettered]).mean())
majority_share = float(
    np.bincount(labels[test & lettered], minlength=LETTERS).max() / (test & lettered).sum()
)

# %% [markdown]
# ## Absorption, broken latents and nonlinear error, SAE by SAE

# %% tags=["hide-input"]
entries = sorted(
    (e for e in data.entries if e.site == str(data.site)), key=lambda e: (e.architecture, e.width, e.sparsity)
)
groups, n_groups = split.test_groups()
weights = with_whole_sample(resample_counts(n_groups, seed=SEED))
started = time.perf_counter()
measured = {}
for entry in entries:
    sae = data.saes[entry.name]
    decomposition = decompose(sae, activations, split, device)
    events = absorption_events(sae, activations, split.rows, labels, probe, device)
    peaked = multi_peak_latents(sae, activations, split.rows, settings.min_firings, device)
    if len(peaked) < 2:
        raise ValueError(
            f"{entry.name}: {len(peaked)} latents fire {settings.min_firings} times or more on the analysis "
            "tokens; lower absorption_and_dark_matter.min_firings."
        )
    latent_weights = with_whole_sample(resample_counts(len(peaked), seed=SEED + len(measured)))
    absorbed, matched = events.absorbed[test], events.main_fired[test]
    letters = labels[test]
    measured[entry.name] = {
        "entry": entry,
        **{key: decomposition.replicates(weights)[key] for key in ("fvu_nonlinear", "fvu_linear")},
        "fvu_sae": decomposition.fvu_sae,
        "absorption": ratio_replicates(
            absorbed.astype(float), events.eligible[test].astype(float), groups, weights
        ),
        "absorbed_tokens": int(absorbed.sum()),
        "eligible_tokens": int(events.eligible[test].sum()),
        "multi_peak": latent_weights @ peaked / len(peaked),
        "scored_latents": len(peaked),
        "nonlinear_ratio": matched_ratio_rows(
            decomposition.nonlinear_error_norm[test] ** 2, absorbed, matched, letters, groups, weights
        ),
        "linear_ratio": matched_ratio_rows(
            decomposition.linear_error_norm[test] ** 2, absorbed, matched, letters, groups, weights
        ),
    }
scoring_elapsed = time.perf_counter() - started

# %% [markdown]
# For each SAE: its FVU and nonlinear FVU, its absorption rate, its multi-peak share (over the
# latents scored), and how much larger the squared nonlinear (and linear) error norm is on absorbed
# tokens than on tokens of the same letter whose main latent fires, each with its 95% interval
# (where every resample of the test contexts keeps an absorbed token).

# %% tags=["hide-input"]
table = pd.DataFrame(
    [
        {
            "SAE": m["entry"].architecture,
            "width": m["entry"].width,
            "k or L0": m["entry"].sparsity,
            "FVU": m["fvu_sae"],
            "nonlinear FVU": Estimate.from_rows(m["fvu_nonlinear"]).text(".3f"),
            "absorption rate": Estimate.from_rows(m["absorption"]).text(".3f"),
            "absorbed / read right": f"{m['absorbed_tokens']} / {m['eligible_tokens']}",
            "multi-peak share": Estimate.from_rows(m["multi_peak"]).text(".3f"),
            "latents scored": m["scored_latents"],
            **{
                f"{part} error, absorbed / matched": (
                    ratio_estimate(m[f"{part}_ratio"]).text(".2f")
                    if ratio_estimate(m[f"{part}_ratio"])
                    else "too few absorbed tokens"
                )
                for part in ("nonlinear", "linear")
            },
        }
        for m in measured.values()
    ]
)
display(styled(table, {"width": "{:,}", "FVU": "{:.3f}"}))

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
for architecture, marker in (("topk", "o"), ("jumprelu", "s")):
    chosen = [m for m in measured.values() if m["entry"].architecture == architecture]
    if not chosen:
        continue
    nonlinear = [Estimate.from_rows(m["fvu_nonlinear"]) for m in chosen]
    absorption = [Estimate.from_rows(m["absorption"]) for m in chosen]
    x_err = np.array([[e.value - e.interval[0], e.interval[1] - e.value] for e in nonlinear]).T
    y_err = np.array([[e.value - e.interval[0], e.interval[1] - e.value] for e in absorption]).T
    x = [e.value for e in nonlinear]
    axes[0].errorbar(
        x, [e.value for e in absorption], y_err, x_err, fmt=marker, capsize=2, label=architecture
    )
    peaks = [Estimate.from_rows(m["multi_peak"]) for m in chosen]
    p_err = np.array([[e.value - e.interval[0], e.interval[1] - e.value] for e in peaks]).T
    axes[1].errorbar(x, [e.value for e in peaks], p_err, x_err, fmt=marker, capsize=2, label=architecture)
    absorbing = [
        (m, e) for m, e in zip(chosen, nonlinear, strict=True) if ratio_estimate(m["nonlinear_ratio"])
    ]
    ratios = [ratio_estimate(m["nonlinear_ratio"]) for m, _ in absorbing]
    r_err = np.array([[e.value - e.interval[0], e.interval[1] - e.value] for e in ratios]).reshape(-1, 2).T
    axes[2].errorbar(
        [e.value for _, e in absorbing],
        [e.value for e in ratios],
        r_err,
        fmt=marker,
        capsize=2,
        label=architecture,
    )
axes[0].set_ylabel("absorption rate")
axes[1].set_ylabel("multi-peak share of latents")
axes[2].set_ylabel("nonlinear error², absorbed / matched")
axes[2].axhline(1, color="0.5", lw=0.8, ls="--")
for ax in axes:
    ax.set_xlabel("nonlinear FVU (95% CI)")
axes[0].legend(fontsize=8)
plt.show()

# %% tags=["hide-input"]
results.metric("aligned_cosine", ALIGNED_COSINE)
results.metric("projection_share", PROJECTION_SHARE)
results.metric("probe_accuracy", probe_accuracy)
results.metric("majority_share", majority_share)
results.metric("lettered_test_tokens", int((test & lettered).sum()))
results.metric("saes", len(measured))
results.metric("scoring_seconds", scoring_elapsed)
absorption_rows = np.stack([m["absorption"] for m in measured.values()], axis=-1)
nonlinear_rows = np.stack([m["fvu_nonlinear"] for m in measured.values()], axis=-1)
linear_rows = np.stack([m["fvu_linear"] for m in measured.values()], axis=-1)
multi_peak = np.stack([m["multi_peak"] for m in measured.values()], axis=-1)
absorption_vs_nonlinear = Estimate.from_rows(rank_correlation(absorption_rows, nonlinear_rows))
peaks_vs_nonlinear = Estimate.from_rows(rank_correlation(multi_peak, nonlinear_rows))
absorption_vs_linear = Estimate.from_rows(rank_correlation(absorption_rows, linear_rows))
peaks_vs_linear = Estimate.from_rows(rank_correlation(multi_peak, linear_rows))
nonlinear_ratio = Estimate.from_rows(mean_over_saes([m["nonlinear_ratio"] for m in measured.values()]))
linear_ratio = Estimate.from_rows(mean_over_saes([m["linear_ratio"] for m in measured.values()]))
results.metric("saes_with_absorption", sum(m["absorbed_tokens"] > 0 for m in measured.values()))
for name, estimate in (
    ("absorption_vs_nonlinear", absorption_vs_nonlinear),
    ("peaks_vs_nonlinear", peaks_vs_nonlinear),
    ("absorption_vs_linear", absorption_vs_linear),
    ("peaks_vs_linear", peaks_vs_linear),
    ("nonlinear_ratio", nonlinear_ratio),
    ("linear_ratio", linear_ratio),
):
    results.estimate(name, estimate.value, estimate.interval)
results.metric("min_absorption_rate", float(absorption_rows[0].min()))
results.metric("max_absorption_rate", float(absorption_rows[0].max()))
results.metric("min_multi_peak", float(multi_peak[0].min()))
largest_multi_peak = results.metric("max_multi_peak", float(multi_peak[0].max()))

# %% [markdown]
# The letter probe reads {glue:text}`probe_accuracy:.3f` of the {glue:text}`lettered_test_tokens`
# word-initial test tokens right (the most common letter alone: {glue:text}`majority_share:.3f`).
# Over the {glue:text}`saes` SAEs ({glue:text}`scoring_seconds:.0f` s), absorption rates range from
# {glue:text}`min_absorption_rate:.3f` to {glue:text}`max_absorption_rate:.3f` and multi-peak shares
# from {glue:text}`min_multi_peak:.3f` to {glue:text}`max_multi_peak:.3f`. Across the SAEs, the rank
# correlation of the absorption rate with the nonlinear FVU is
# {glue:text}`absorption_vs_nonlinear:+.2f` ({glue:text}`absorption_vs_nonlinear_low:+.2f` to
# {glue:text}`absorption_vs_nonlinear_high:+.2f`), and that of the multi-peak share
# {glue:text}`peaks_vs_nonlinear:+.2f` ({glue:text}`peaks_vs_nonlinear_low:+.2f` to
# {glue:text}`peaks_vs_nonlinear_high:+.2f`; its interval also resamples each SAE's scored latents).
# As a control, the same correlations with the *linear* FVU are {glue:text}`absorption_vs_linear:+.2f`
# ({glue:text}`absorption_vs_linear_low:+.2f` to {glue:text}`absorption_vs_linear_high:+.2f`) and
# {glue:text}`peaks_vs_linear:+.2f` ({glue:text}`peaks_vs_linear_low:+.2f` to
# {glue:text}`peaks_vs_linear_high:+.2f`): a link that holds for both parts of the error is not
# specific to the nonlinear part. On
# average over the SAEs, absorbed tokens carry {glue:text}`nonlinear_ratio:.2f` times the squared
# nonlinear error of matched tokens ({glue:text}`nonlinear_ratio_low:.2f` to
# {glue:text}`nonlinear_ratio_high:.2f`) and {glue:text}`linear_ratio:.2f` times their squared linear
# error ({glue:text}`linear_ratio_low:.2f` to {glue:text}`linear_ratio_high:.2f`); the
# {glue:text}`saes_with_absorption` SAEs with an absorbed test token enter that average.
#
# ## Claims
#
# Ours: the papers do not test these. Each is decided on its 95% interval over test-context
# resamples; the control column gives the same statistic for the linear error.

# %% tags=["hide-input"]
POSITIVE_CORRELATION = Band(low=0.0)
MORE = Band(low=1.0)
CORRELATION = (
    "Spearman's rank correlation, across the main site's {n} SAEs, of {what} with the nonlinear FVU, with "
    "its bootstrap interval over test contexts{note}: "
)
TRACKING = {  # claim id: the claim, what is correlated, the rule's note, the estimate, its control
    "absorption_tracks_nonlinear_error": (
        "SAEs that absorb more carry more nonlinear error (ours)",
        "the absorption rate",
        "",
        absorption_vs_nonlinear,
        absorption_vs_linear,
    ),
    "multi_peak_tracks_nonlinear_error": (
        "SAEs with more multi-peak latents (Part II's broken latents) carry more nonlinear error (ours)",
        "the multi-peak share",
        " and, for the shares, each SAE's scored latents",
        peaks_vs_nonlinear,
        peaks_vs_linear,
    ),
}
for claim_id, (claim, what, note, estimate, control) in TRACKING.items():
    results.claim(
        claim_id,
        claim,
        "not tested",
        f"ρ = {estimate.text('+.2f')} over {len(measured)} SAEs; with the linear FVU (control) "
        f"{control.text('+.2f')}.",
        criterion=CORRELATION.format(n=len(measured), what=what, note=note) + POSITIVE_CORRELATION.rule(),
        holds=POSITIVE_CORRELATION.verdict(estimate.interval),
        estimate=estimate.value,
        interval=estimate.interval,
        control=control.value,
    )
results.claim(
    "absorbed_tokens_carry_more_nonlinear_error",
    "tokens where a latent absorbs the letter carry more nonlinear error than tokens of the same letter "
    "whose main latent fires (ours)",
    "not tested",
    f"mean over SAEs of the ratio {nonlinear_ratio.text('.2f')}; for the linear error "
    f"{linear_ratio.text('.2f')}.",
    criterion="the mean over the main site's SAEs with an absorbed test token of Σ‖NonlinearError‖² over "
    "absorbed test tokens divided by "
    "what matched tokens of the same letters (read right, main latent firing) carry on average, with its "
    "bootstrap interval over test contexts: " + MORE.rule(),
    holds=MORE.verdict(nonlinear_ratio.interval),
    estimate=nonlinear_ratio.value,
    interval=nonlinear_ratio.interval,
    control=linear_ratio.value,
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# Across the main site's {glue:text}`saes` SAEs, the absorption rate's rank correlation with the
# nonlinear FVU is {glue:text}`absorption_vs_nonlinear:+.2f` and the multi-peak share's
# {glue:text}`peaks_vs_nonlinear:+.2f` (with the linear FVU: {glue:text}`absorption_vs_linear:+.2f`
# and {glue:text}`peaks_vs_linear:+.2f`); within the SAEs, absorbed tokens carry
# {glue:text}`nonlinear_ratio:.2f` times the squared nonlinear error of matched tokens (and
# {glue:text}`linear_ratio:.2f` times the squared linear error). The claim table gives the verdicts,
# each decided on its interval.
