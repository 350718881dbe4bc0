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
# # Pathological errors: which part of the dark matter hurts the model?
#
# Splicing an SAE's reconstruction $\mathrm{Sae}(x)$ into a model moves it away from $x$ by
# $-\mathrm{SaeError}(x)$. Gurnee {cite}`gurnee2024pathological`, as the dark-matter paper cites
# him, finds that this perturbation changes the model's predictions more than a random perturbation
# of the same norm on every token: SAE errors are *pathological*, aligned with directions the model
# is sensitive to. Part IV splits the error into a part a linear map of $x$ predicts,
# $\mathrm{LinearError}(x)$, and the rest, $\mathrm{NonlinearError}(x)$, and argues that the
# nonlinear part is mostly introduced by the SAE. Neither paper asks which part is pathological.
#
# **The test.** For each SAE and each part $e \in \{\mathrm{SaeError}, \mathrm{LinearError},
# \mathrm{NonlinearError}\}$, the model runs once with $x - e(x)$ spliced in at the site, and once
# with its random twin $x + \varepsilon$, where $\varepsilon$ has the norm of $e(x)$ on each token
# and a uniformly random direction. The cost of a splice is the KL divergence of the model's
# next-token distribution from the clean model's, averaged over the kept positions (Gurnee's
# measure), and beside it the rise in next-token loss. A part is pathological when its KL is larger
# than its twin's: the ratio of the two is above 1. Heimersheim & Mendel
# {cite}`heimersheim2024plateaus`, as the paper cites them, find that Gurnee's effect disappears
# when the random direction is replaced by the difference between two random activations, a
# direction of the kind the model sees; so every part also gets that second twin, $x + \varepsilon'$
# with $\varepsilon'$ of the same norm along $x_a - x_b$ for two activations drawn from the training
# contexts.
#
# **The claims** are ours (the papers did not test this), except the first two, Gurnee's finding
# and Heimersheim & Mendel's, on our model. Each is decided on the 95% interval of a bootstrap
# over the spliced contexts. Part IV's `error_components` tests Gurnee's finding on the loss for
# the reference line; here it is the KL, over widths and over layers, against both twins.

# %% tags=["parameters"]
PROFILE = "cpu"  # smoke | cpu | paper (see helpers/profiles.py)
SEED = 0  # everything random in this run derives from it
RESULTS_DIR = None  # where results.json goes; None: the cache's interactive folder
OVERRIDES = {}  # e.g. {"pathological_errors.ce_contexts": 8}

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from helpers.book.intervals import Band, Estimate, interval_text, resample_counts, with_whole_sample
from helpers.book.section import scale_table, start_section
from helpers.dark_matter.decomposition import context_split, decompose
from helpers.lm.data import LmData
from helpers.lm.evaluation import spliced_context_costs
from helpers.lm.model import Site
from helpers.lm.tables import styled
from helpers.open_questions.pathological import (
    ERROR_PARTS,
    activation_differences,
    divergence_ratio_rows,
    loss_ratio_rows,
    part_splices,
)

config, device, results, _, _ = start_section("pathological_errors", PROFILE, SEED, RESULTS_DIR, OVERRIDES)
RANDOM, DIFFERENCE = TWINS = ("random", "activation difference")

# %% [markdown]
# ## Our scale
#
# The SAEs are Part III's: the reference line (every width at the reference sparsity, the first
# seed of each) at the main site, and the SAE at each depth layer that Part IV's App. A.3 reads.
# The probe $b$ that splits each error is fitted on the training contexts of the analysis contexts
# that have every depth layer's activations (the loss store's), and the model is spliced on the
# first held-out contexts among them, so no part is spliced where its probe was fitted.

# %% tags=["hide-input"]
display(scale_table(config, "pathological_errors"))

# %% tags=["hide-input"]
settings = config.pathological_errors
data = LmData(config, SEED, device)
store, loss_store = data.analysis_store, data.loss_store
if loss_store.n_tokens != int((store.context_index < loss_store.spec.n_contexts).sum()):
    raise ValueError("the loss store's rows are not the analysis store's first rows; harvest both again.")
rows = data.analysis_rows[store.context_index[data.analysis_rows] < loss_store.spec.n_contexts]
split = context_split(store, rows, config.decomposition.train_fraction, SEED)
test_contexts = np.unique(split.contexts[~split.is_train])
if len(test_contexts) < settings.ce_contexts:
    raise ValueError(
        f"pathological_errors.ce_contexts = {settings.ce_contexts}, but the split has {len(test_contexts)} "
        "test contexts among the loss store's; lower it or raise lm.loss_contexts."
    )
ce_ids = test_contexts[: settings.ce_contexts]
# (site, SAE name, the SAE, the store holding the site's activations), the main site first
spliced = [(data.site, e.name, data.saes[e.name], store) for e in data.reference_line]
spliced += [(Site.parse(e.site), e.name, data.depth_saes[e.name], loss_store) for e in data.depth_entries]
train_rows = split.rows[split.is_train]
started = time.perf_counter()
costs, clean_loss, widths = {}, {}, {}
for site in dict.fromkeys(site for site, *_ in spliced):
    threshold = data.splice_threshold_at(site)
    replacements = {}
    for index, (_, name, sae, source) in enumerate(s for s in spliced if s[0] == site):
        activations = source.activations(str(site))
        probe = decompose(sae, activations, split, device).vector_probe
        differences = activation_differences(activations, train_rows, settings.difference_pairs, SEED + index)
        widths[name] = sae.cfg.d_sae
        for p, part in enumerate(ERROR_PARTS):
            seed = 1000 * SEED + 10 * index + 2 * p
            for kind, splice in part_splices(sae, probe, part, differences, seed, threshold).items():
                replacements[name, part, kind] = splice
    clean_loss[site], site_costs = spliced_context_costs(
        data.model,
        np.asarray(store.context_tokens[ce_ids]),
        site,
        replacements,
        config.lm.keep_from,
        config.lm.batch_contexts,
    )
    costs |= site_costs
splice_elapsed = time.perf_counter() - started

# %% [markdown]
# ## Each part against its two twins
#
# For each SAE and part: the mean KL divergence from the clean model with the part taken away,
# with its random twin and with its activation-difference twin; the part's ratio to each twin with
# its 95% interval over the spliced contexts; and the same two ratios for the rise in loss.

# %% tags=["hide-input"]
weights = with_whole_sample(resample_counts(len(ce_ids), seed=SEED))
ratio_rows, table_rows = {}, []
for site, name, *_ in spliced:
    for part in ERROR_PARTS:
        removed = costs[name, part, "taken away"]
        row = {
            "site": str(site),
            "width": widths[name],
            "part taken away": part,
            "KL": removed.divergence.mean(),
        }
        for twin in TWINS:
            ratio_rows[name, part, twin] = divergence_ratio_rows(removed, costs[name, part, twin], weights)
            row[f"KL, {twin} twin"] = costs[name, part, twin].divergence.mean()
        for twin in TWINS:
            ratio = Estimate.from_rows(ratio_rows[name, part, twin])
            row[f"KL ratio to {twin}"] = ratio.value
            row[f"95% interval ({twin})"] = interval_text(ratio.interval, ".2f")
        for twin in TWINS:
            loss_rows = loss_ratio_rows(removed, costs[name, part, twin], clean_loss[site], weights)
            row[f"loss-rise ratio to {twin}"] = loss_rows[0]
        table_rows.append(row)
table = pd.DataFrame(table_rows)
display(
    styled(
        table,
        {"width": "{:,}"}
        | {column: "{:.4f}" for column in table.columns if column.startswith("KL") and "ratio" not in column}
        | {column: "{:.2f}" for column in table.columns if "ratio" in column},
    )
)

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
labels = [f"{site} · {widths[name]:,}" for site, name, *_ in spliced]
for ax, twin in zip(axes, TWINS, strict=True):
    for offset, part, color in zip((-0.2, 0, 0.2), ERROR_PARTS, ("0.3", "tab:blue", "tab:red"), strict=True):
        estimates = [Estimate.from_rows(ratio_rows[name, part, twin]) for _, name, *_ in spliced]
        values = np.array([e.value for e in estimates])
        spans = np.array([[e.value - e.interval[0], e.interval[1] - e.value] for e in estimates]).T
        ax.errorbar(
            np.arange(len(spliced)) + offset, values, spans, fmt="o", color=color, capsize=2, label=part
        )
    ax.axhline(1, color="0.5", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xticks(range(len(spliced)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_title(f"against the {twin} twin (95% CI)", fontsize=10)
axes[0].set_ylabel("KL with the part taken away / KL of its twin")
axes[0].legend(fontsize=8, title="part taken away", title_fontsize=8)
plt.show()

# %% tags=["hide-input"]
results.metric("ce_contexts", len(ce_ids))
results.metric("test_contexts", len(test_contexts))
results.metric("spliced_saes", len(spliced))
results.metric("spliced_sites", len(clean_loss))
results.metric("difference_pairs", settings.difference_pairs)
results.metric("splice_seconds", splice_elapsed)
results.metric("min_divergence", min(float(c.divergence.min()) for c in costs.values()))
results.metric("clean_loss", float(np.mean(clean_loss[data.site])))
smallest, largest, median_ratio = {}, {}, {}
for part in ERROR_PARTS:
    for twin, short in zip(TWINS, ("random", "difference"), strict=True):
        by_sae = np.array([ratio_rows[n, part, twin] for _, n, *_ in spliced])
        key = f"{part}_{short}"
        median_ratio[part, twin] = results.metric(f"{key}_median_ratio", float(np.median(by_sae[:, 0])))
        smallest[part, twin] = Estimate.from_rows(by_sae.min(axis=0))
        largest[part, twin] = Estimate.from_rows(by_sae.max(axis=0))
        results.estimate(f"{key}_min_ratio", smallest[part, twin].value, smallest[part, twin].interval)
        results.estimate(f"{key}_max_ratio", largest[part, twin].value, largest[part, twin].interval)
gap_rows = np.mean(
    [
        ratio_rows[n, "NonlinearError", DIFFERENCE] - ratio_rows[n, "LinearError", DIFFERENCE]
        for _, n, *_ in spliced
    ],
    axis=0,
)
nonlinear_minus_linear = Estimate.from_rows(gap_rows)
results.estimate("nonlinear_minus_linear", nonlinear_minus_linear.value, nonlinear_minus_linear.interval)
whole_error = (median_ratio["SaeError", RANDOM], median_ratio["SaeError", DIFFERENCE])
if whole_error[0] < 1 < whole_error[1]:
    reading = (
        "The two references bracket the error: by the medians it costs the model less than a random "
        "direction of its norm and more than a direction the model's own activations differ along, so "
        "whether it is 'pathological' depends on the reference, and the realistic one says it is."
    )
elif whole_error[1] < 1 < whole_error[0]:
    reading = (
        "By the medians the error is pathological against a random direction and not against the "
        "directions the model's own activations differ along, as Heimersheim & Mendel found."
    )
elif min(whole_error) > 1:
    reading = "By the medians the error costs the model more than either reference: pathological by both."
else:
    reading = "By the medians the error costs the model less than either reference: pathological by neither."
results.sentence("reading", reading)
results.label("main_site", str(data.site))
depth_site_list = results.sentence(
    "depth_sites", ", ".join(str(site) for site in clean_loss if site != data.site) or "no other site"
)

# %% [markdown]
# Over the {glue:text}`spliced_saes` SAEs at {glue:text}`spliced_sites` sites (the reference line at
# {glue:md}`main_site`; {glue:text}`depth_sites`), spliced on {glue:text}`ce_contexts` held-out
# contexts ({glue:text}`splice_seconds:.0f` s), the median KL ratio **to the random twin** is
# {glue:text}`SaeError_random_median_ratio:.2f` for the whole error,
# {glue:text}`LinearError_random_median_ratio:.2f` for the linear part and
# {glue:text}`NonlinearError_random_median_ratio:.2f` for the nonlinear part, and ranges over the
# SAEs from {glue:text}`SaeError_random_min_ratio:.2f` to {glue:text}`SaeError_random_max_ratio:.2f`
# for the whole error. **To the activation-difference twin** the medians are
# {glue:text}`SaeError_difference_median_ratio:.2f`, {glue:text}`LinearError_difference_median_ratio:.2f`
# and {glue:text}`NonlinearError_difference_median_ratio:.2f`, and the whole error's ratio ranges from
# {glue:text}`SaeError_difference_min_ratio:.2f` to {glue:text}`SaeError_difference_max_ratio:.2f`. On
# average over the SAEs, the nonlinear part's ratio to its activation-difference twin exceeds the
# linear part's by {glue:text}`nonlinear_minus_linear:+.2f` ({glue:text}`nonlinear_minus_linear_low:+.2f`
# to {glue:text}`nonlinear_minus_linear_high:+.2f`).
#
# ## Claims
#
# A part is pathological on our model if its KL ratio is above 1 at every SAE, widths and layers
# together: those claims read the smallest ratio over the SAEs; Heimersheim & Mendel's, that the
# effect disappears, reads the largest. Each interval resamples the spliced contexts.

# %% tags=["hide-input"]
PATHOLOGICAL = Band(low=1.0)
NOT_PATHOLOGICAL = Band(high=1.0)
ABOVE_ZERO = Band(low=0.0)
RATIO = (
    "the {extreme} over the SAEs (the reference line and each depth layer's) of the ratio of the mean KL "
    "divergence from the clean model with {what} taken away to that of a perturbation of the same per-token "
    "norm {direction}, with its bootstrap interval over the spliced contexts: "
)
ALONG = {
    RANDOM: "in a uniformly random direction",
    DIFFERENCE: "along the difference of two random activations",
}
estimate = smallest["SaeError", RANDOM]
results.claim(
    "sae_error_pathological",
    "splicing an SAE's reconstruction moves the model's predictions more than a random error of the "
    "same norm (Gurnee 2024, as the dark-matter paper cites it)",
    "'a larger effect ... than random perturbations with the same error norm'",
    f"smallest KL ratio over {len(spliced)} SAEs {estimate.text('.2f')}; median "
    f"{median_ratio['SaeError', RANDOM]:.2f}.",
    criterion=RATIO.format(
        extreme="smallest", what="the whole error (Sae(x) spliced in)", direction=ALONG[RANDOM]
    )
    + PATHOLOGICAL.rule(),
    holds=PATHOLOGICAL.verdict(estimate.interval),
    estimate=estimate.value,
    interval=estimate.interval,
)
estimate = largest["SaeError", DIFFERENCE]
results.claim(
    "not_pathological_against_activation_differences",
    "against a perturbation along the difference of two random activations, the SAE's error is no "
    "longer pathological (Heimersheim & Mendel 2024, as the dark-matter paper cites them)",
    "'this effect disappears'",
    f"largest KL ratio over {len(spliced)} SAEs {estimate.text('.2f')}; median "
    f"{median_ratio['SaeError', DIFFERENCE]:.2f}.",
    criterion=RATIO.format(extreme="largest", what="the whole error", direction=ALONG[DIFFERENCE])
    + NOT_PATHOLOGICAL.rule(),
    holds=NOT_PATHOLOGICAL.verdict(estimate.interval),
    estimate=estimate.value,
    interval=estimate.interval,
)
for part, words in (("LinearError", "linear"), ("NonlinearError", "nonlinear")):
    estimate = smallest[part, DIFFERENCE]
    results.claim(
        f"{words}_error_pathological",
        f"the {words} part of the error alone is pathological: taking it away moves the model more "
        "than an activation-difference perturbation of its norm (ours)",
        "not tested",
        f"smallest KL ratio over {len(spliced)} SAEs {estimate.text('.2f')}; median "
        f"{median_ratio[part, DIFFERENCE]:.2f} (to the random twin: {median_ratio[part, RANDOM]:.2f}).",
        criterion=RATIO.format(extreme="smallest", what=f"{part}(x)", direction=ALONG[DIFFERENCE])
        + PATHOLOGICAL.rule(),
        holds=PATHOLOGICAL.verdict(estimate.interval),
        estimate=estimate.value,
        interval=estimate.interval,
    )
results.claim(
    "nonlinear_more_pathological",
    "the nonlinear part, which the paper reads as introduced by the SAE, is the more pathological "
    "part (ours)",
    "not tested",
    f"mean over SAEs of the nonlinear part's KL ratio minus the linear part's (activation-difference "
    f"twins) {nonlinear_minus_linear.text('+.2f')}.",
    criterion="the mean over the SAEs of the NonlinearError KL ratio minus the LinearError KL ratio, each to "
    "its activation-difference twin, with its bootstrap interval over the spliced contexts: "
    + ABOVE_ZERO.rule(),
    holds=ABOVE_ZERO.verdict(nonlinear_minus_linear.interval),
    estimate=nonlinear_minus_linear.value,
    interval=nonlinear_minus_linear.interval,
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# Taking away the whole error moves the model's predictions {glue:text}`SaeError_random_median_ratio:.2f`
# times as much as a random error of its norm, and {glue:text}`SaeError_difference_median_ratio:.2f`
# times as much as a perturbation of its norm along the difference of two activations (medians over
# the SAEs). The linear part alone: {glue:text}`LinearError_random_median_ratio:.2f` and
# {glue:text}`LinearError_difference_median_ratio:.2f`; the nonlinear part alone:
# {glue:text}`NonlinearError_random_median_ratio:.2f` and
# {glue:text}`NonlinearError_difference_median_ratio:.2f`. A ratio below 1 says that the model is
# less sensitive to the part than to the twin. {glue:text}`reading` The claim table gives the
# verdicts, each decided on its interval.
