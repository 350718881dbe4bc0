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
# $-\mathrm{SaeError}(x)$. Gurnee (2024), as the dark-matter paper cites him, finds that this
# perturbation changes the model's predictions more than a random perturbation of the same norm on
# every token: SAE errors are *pathological*, aligned with directions the model is sensitive to.
# Part IV splits the error into a part a linear map of $x$ predicts, $\mathrm{LinearError}(x)$,
# and the rest, $\mathrm{NonlinearError}(x)$, and argues that the nonlinear part is mostly
# introduced by the SAE. Neither paper asks which part is pathological.
#
# **The test.** For each SAE and each part $e \in \{\mathrm{SaeError}, \mathrm{LinearError},
# \mathrm{NonlinearError}\}$, the model runs once with $x - e(x)$ spliced in at the site, and
# once with its random twin $x + \varepsilon$, where $\varepsilon$ has the norm of $e(x)$ on each
# token and a uniformly random direction. The cost of a splice is the KL divergence of the model's
# next-token distribution from the clean model's, averaged over the kept positions (Gurnee's
# measure), and beside it the rise in next-token loss. A part is pathological when its KL is larger
# than its twin's: the ratio of the two is above 1.
#
# **The claims** are ours (the papers did not test this), except the first, which is Gurnee's
# finding on our model. Each is decided on the 95% interval of a bootstrap over the spliced
# contexts. Part IV's `error_components` tests Gurnee's finding on the loss for the reference line;
# here it is the KL, over widths and over layers.

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
    divergence_ratio_rows,
    loss_ratio_rows,
    part_splices,
)

config, device, results, _, _ = start_section("pathological_errors", PROFILE, SEED, RESULTS_DIR, OVERRIDES)

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
started = time.perf_counter()
costs, clean_loss, widths = {}, {}, {}
for site in dict.fromkeys(site for site, *_ in spliced):
    threshold = data.splice_threshold_at(site)
    replacements = {}
    for index, (_, name, sae, source) in enumerate(s for s in spliced if s[0] == site):
        probe = decompose(sae, source.activations(str(site)), split, device).vector_probe
        widths[name] = sae.cfg.d_sae
        for p, part in enumerate(ERROR_PARTS):
            splice, twin = part_splices(sae, probe, part, 1000 * SEED + 10 * index + p, threshold)
            replacements[name, part], replacements[name, part, "twin"] = splice, twin
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
# ## Each part against its random twin
#
# For each SAE and part: the mean KL divergence from the clean model with the part taken away and
# with its random twin, their ratio with its 95% interval over the spliced contexts, and the same
# ratio for the rise in loss.

# %% tags=["hide-input"]
weights = with_whole_sample(resample_counts(len(ce_ids), seed=SEED))
ratio_rows, table_rows = {}, []
for site, name, *_ in spliced:
    for part in ERROR_PARTS:
        removed, twin = costs[name, part], costs[name, part, "twin"]
        ratio_rows[name, part] = divergence_ratio_rows(removed, twin, weights)
        ratio = Estimate.from_rows(ratio_rows[name, part])
        loss_ratio = Estimate.from_rows(loss_ratio_rows(removed, twin, clean_loss[site], weights))
        table_rows.append(
            {
                "site": str(site),
                "width": widths[name],
                "part taken away": part,
                "KL": removed.divergence.mean(),
                "KL, random twin": twin.divergence.mean(),
                "KL ratio": ratio.value,
                "95% interval": interval_text(ratio.interval, ".2f"),
                "loss rise ratio": loss_ratio.value,
                "loss ratio 95% interval": interval_text(loss_ratio.interval, ".2f"),
            }
        )
table = pd.DataFrame(table_rows)
display(
    styled(
        table,
        {
            "width": "{:,}",
            "KL": "{:.4f}",
            "KL, random twin": "{:.4f}",
            "KL ratio": "{:.2f}",
            "loss rise ratio": "{:.2f}",
        },
    )
)

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(8, 4))
labels = [f"{site} · {widths[name]:,}" for site, name, *_ in spliced]
for offset, part, color in zip((-0.2, 0, 0.2), ERROR_PARTS, ("0.3", "tab:blue", "tab:red"), strict=True):
    estimates = [Estimate.from_rows(ratio_rows[name, part]) for _, name, *_ in spliced]
    values = np.array([e.value for e in estimates])
    spans = np.array([[e.value - e.interval[0], e.interval[1] - e.value] for e in estimates]).T
    ax.errorbar(np.arange(len(spliced)) + offset, values, spans, fmt="o", color=color, capsize=2, label=part)
ax.axhline(1, color="0.5", lw=0.8, ls="--")
ax.set_yscale("log")
ax.set_xticks(range(len(spliced)), labels, rotation=30, ha="right", fontsize=8)
ax.set(ylabel="KL with the part taken away / KL of its random twin", title="Pathological parts (95% CI)")
ax.legend(fontsize=8, title="part taken away", title_fontsize=8)
plt.show()

# %% tags=["hide-input"]
results.metric("ce_contexts", len(ce_ids))
results.metric("test_contexts", len(test_contexts))
results.metric("spliced_saes", len(spliced))
results.metric("spliced_sites", len(clean_loss))
results.metric("splice_seconds", splice_elapsed)
results.metric("min_divergence", min(float(c.divergence.min()) for c in costs.values()))
results.metric("clean_loss", float(np.mean(clean_loss[data.site])))
median_ratio = {
    part: results.metric(f"{part}_median_ratio", table[table["part taken away"] == part]["KL ratio"].median())
    for part in ERROR_PARTS
}
smallest = {
    part: Estimate.from_rows(np.min([ratio_rows[n, part] for _, n, *_ in spliced], axis=0))
    for part in ERROR_PARTS
}
for part, estimate in smallest.items():
    results.estimate(f"{part}_min_ratio", estimate.value, estimate.interval)
gap_rows = np.mean(
    [ratio_rows[n, "NonlinearError"] - ratio_rows[n, "LinearError"] for _, n, *_ in spliced], axis=0
)
nonlinear_minus_linear = Estimate.from_rows(gap_rows)
results.estimate("nonlinear_minus_linear", nonlinear_minus_linear.value, nonlinear_minus_linear.interval)
results.label("main_site", str(data.site))
results.sentence(
    "depth_sites", ", ".join(str(site) for site in clean_loss if site != data.site) or "no other site"
)

# %% [markdown]
# Over the {glue:text}`spliced_saes` SAEs at {glue:text}`spliced_sites` sites (the reference line at
# {glue:md}`main_site`; {glue:text}`depth_sites`), spliced on {glue:text}`ce_contexts` held-out
# contexts ({glue:text}`splice_seconds:.0f` s), the median KL ratio is
# {glue:text}`SaeError_median_ratio:.2f` for the whole error, {glue:text}`LinearError_median_ratio:.2f`
# for the linear part and {glue:text}`NonlinearError_median_ratio:.2f` for the nonlinear part. The
# smallest ratio over the SAEs is {glue:text}`SaeError_min_ratio:.2f`
# ({glue:text}`SaeError_min_ratio_low:.2f` to {glue:text}`SaeError_min_ratio_high:.2f`) for the whole
# error, {glue:text}`LinearError_min_ratio:.2f` ({glue:text}`LinearError_min_ratio_low:.2f` to
# {glue:text}`LinearError_min_ratio_high:.2f`) for the linear part and
# {glue:text}`NonlinearError_min_ratio:.2f` ({glue:text}`NonlinearError_min_ratio_low:.2f` to
# {glue:text}`NonlinearError_min_ratio_high:.2f`) for the nonlinear part. On average over the SAEs,
# the nonlinear part's ratio exceeds the linear part's by {glue:text}`nonlinear_minus_linear:+.2f`
# ({glue:text}`nonlinear_minus_linear_low:+.2f` to {glue:text}`nonlinear_minus_linear_high:+.2f`).
#
# ## Claims
#
# A part is pathological on our model if its KL ratio is above 1 at every SAE, widths and layers
# together: the claims read the smallest ratio, whose interval resamples the spliced contexts.

# %% tags=["hide-input"]
PATHOLOGICAL = Band(low=1.0)
ABOVE_ZERO = Band(low=0.0)
KL_RULE = (
    "the smallest over the SAEs (the reference line and each depth layer's) of the ratio of the mean KL "
    "divergence from the clean model with {what} taken away to that of a random perturbation of the same "
    "per-token norm, with its bootstrap interval over the spliced contexts: " + PATHOLOGICAL.rule()
)
results.claim(
    "sae_error_pathological",
    "splicing an SAE's reconstruction moves the model's predictions more than a random error of the "
    "same norm (Gurnee 2024, as the dark-matter paper cites it)",
    "'a larger effect ... than random perturbations with the same error norm'",
    f"smallest KL ratio over {len(spliced)} SAEs {smallest['SaeError'].text('.2f')}; median "
    f"{median_ratio['SaeError']:.2f}.",
    criterion=KL_RULE.format(what="the whole error (Sae(x) spliced in)"),
    holds=PATHOLOGICAL.verdict(smallest["SaeError"].interval),
    estimate=smallest["SaeError"].value,
    interval=smallest["SaeError"].interval,
)
for part, words in (("LinearError", "linear"), ("NonlinearError", "nonlinear")):
    results.claim(
        f"{words}_error_pathological",
        f"the {words} part of the error alone is pathological: taking it away moves the model more "
        "than a random error of its norm (ours)",
        "not tested",
        f"smallest KL ratio over {len(spliced)} SAEs {smallest[part].text('.2f')}; median "
        f"{median_ratio[part]:.2f}.",
        criterion=KL_RULE.format(what=f"{part}(x)"),
        holds=PATHOLOGICAL.verdict(smallest[part].interval),
        estimate=smallest[part].value,
        interval=smallest[part].interval,
    )
results.claim(
    "nonlinear_more_pathological",
    "the nonlinear part, which the paper reads as introduced by the SAE, is the more pathological "
    "part (ours)",
    "not tested",
    f"mean over SAEs of the nonlinear part's KL ratio minus the linear part's "
    f"{nonlinear_minus_linear.text('+.2f')}.",
    criterion="the mean over the SAEs of the NonlinearError KL ratio minus the LinearError KL ratio, with "
    f"its bootstrap interval over the spliced contexts: {ABOVE_ZERO.rule()}",
    holds=ABOVE_ZERO.verdict(nonlinear_minus_linear.interval),
    estimate=nonlinear_minus_linear.value,
    interval=nonlinear_minus_linear.interval,
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# Taking away the whole error moves the model's predictions {glue:text}`SaeError_median_ratio:.2f`
# times as much as a random error of its norm (median over the SAEs); the linear part alone
# {glue:text}`LinearError_median_ratio:.2f` times, the nonlinear part alone
# {glue:text}`NonlinearError_median_ratio:.2f` times. The claim table gives the verdicts, each
# decided on its interval.
