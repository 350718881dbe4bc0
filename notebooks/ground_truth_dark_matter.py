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
# # Dark matter with a known answer
#
# Part IV splits an SAE's error into the part a linear map of the activation predicts,
# $\mathrm{LinearError}(x)$, and the rest, $\mathrm{NonlinearError}(x)$, and reads each part as a
# kind of dark matter {cite}`engels2024darkmatter`: the linear part as features the SAE has not
# learned and the dense part of the activation, the nonlinear part as error the SAE itself
# introduces. On a real model nobody knows what the error is made of, so those readings cannot be
# checked there; the paper's own synthetic test (Table 1, `modeling_activations`) reports
# correlations on one setting. Here the answer is known.
#
# **The activations.** At the model's width, $x = D(x) + P(x)$. $D(x) = \sum_i a_i d_i$ is a sparse
# sum over a dictionary of unit features $d_i$: the decoder directions of one of our real SAEs (and,
# as a second case, as many random directions), each firing independently with its real latent's
# frequency on the analysis tokens and a magnitude drawn from that latent's real activations.
# $P(x)$ is dark matter of one planted kind, at a known share of the total variance: **absent
# features** (directions outside the dictionary, each firing so rarely that an SAE sees it only a
# few times in training), **dense noise** (isotropic Gaussian), or **nonlinear** structure (pairs of
# frequent features each adding, along a direction of their own, the product of their magnitudes:
# an AND of two features, which the paper's $\mathrm{Dense}(x)$ names as one of its possible
# contents). SAEs of the reference sparsity train on fresh draws of each set, and Part IV's split is
# read on held-out draws.
#
# **The truth.** An SAE's error splits exactly into $\mathrm{SaeError} = P + I$, with
# $I = D - \mathrm{Sae}(x)$ the SAE's own error on what the dictionary put in (features it has not
# learned included). Least squares is linear in its target, so $\mathrm{LinearError} = \hat P + \hat I$,
# the affine predictions of $P$ and $I$ from $x$ fitted on the same tokens, and
# $\mathrm{NonlinearError} = (P - \hat P) + (I - \hat I)$. Three things are scored: how much linear
# and nonlinear error the split adds per unit of planted variance, against the set with nothing
# planted; how much of the planted part any linear map of $x$ recovers (the $R^2$ of $\hat P$ for
# $P$); and how much of the nonlinear error is the SAE's own, $\sum\langle I - \hat I,
# \mathrm{NonlinearError}\rangle / \sum\lVert\mathrm{NonlinearError}\rVert^2$. Every interval
# resamples blocks of held-out tokens.

# %% tags=["parameters"]
PROFILE = "cpu"  # smoke | cpu | paper (see helpers/profiles.py)
SEED = 0  # everything random in this run derives from it
RESULTS_DIR = None  # where results.json goes; None: the cache's interactive folder
OVERRIDES = {}  # e.g. {"ground_truth_dark_matter.shares": [0.2]}

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from helpers.book.intervals import Band, Estimate, resample_counts, with_whole_sample
from helpers.book.section import scale_table, start_section
from helpers.dark_matter.decomposition import decompose, scalar_prediction_scores, split_by_context
from helpers.dark_matter.synthetic_activations import random_unit_vectors
from helpers.lm.data import LmData
from helpers.lm.suite import nearest_sparsity
from helpers.lm.tables import styled
from helpers.lm.topk_training import TopKTraining
from helpers.open_questions.ground_truth import (
    NOTHING_PLANTED,
    PLANTED_KINDS,
    Plant,
    SyntheticActivations,
    learned_dictionary,
    per_unit_planted,
    plant_dark_matter,
    train_on_synthetic,
    true_parts,
)

config, device, results, _, _ = start_section(
    "ground_truth_dark_matter", PROFILE, SEED, RESULTS_DIR, OVERRIDES
)
LEARNED, RANDOM = DICTIONARIES = ("learned", "random")

# %% [markdown]
# ## Our scale
#
# The dictionary is the reference line's SAE nearest `dictionary_width` (its latents that fire on
# the analysis tokens); the SAEs trained on each set are TopK SAEs at the reference line's k, by
# the suite's recipe (batch, learning rate), at two widths: the claims read the wider, Eq. 5 reads
# the pair. Each set is drawn once for training (fresh batches) and once for the analysis, whose
# tokens are split into blocks: the probes are fitted on a share of the blocks and scored on the
# rest.

# %% tags=["hide-input"]
display(scale_table(config, "ground_truth_dark_matter"))

# %% tags=["hide-input"]
settings = config.ground_truth_dark_matter
data = LmData(config, SEED, device)
entry = min(data.reference_line, key=lambda e: (abs(e.width - settings.dictionary_width), e.width))
dictionary_sae = data.train_saes([entry])[0][entry.name]
learned, stats = learned_dictionary(
    dictionary_sae, data.analysis_store.activations(str(data.site)), data.analysis_rows, device
)
generator = torch.Generator().manual_seed(SEED)
dictionaries = {LEARNED: learned, RANDOM: random_unit_vectors(*learned.shape, generator)}
planted_directions = {
    name: plant_dark_matter(
        dictionary,
        stats,
        settings.absent_features,
        settings.absent_firings / settings.samples,
        settings.nonlinear_pairs,
        generator,
    )
    for name, dictionary in dictionaries.items()
}
k = nearest_sparsity(config.sae_suite.ks, config.decomposition.reference_l0)
recipe = TopKTraining(
    width=max(settings.sae_widths),
    k=k,
    samples=settings.samples,
    batch_size=config.sae_suite.batch_size,
    lr=config.sae_suite.lr,
    seed=SEED,
    bf16=data.training_bf16,
)
plants = [Plant(NOTHING_PLANTED, 0.0)] + [Plant(kind, s) for kind in PLANTED_KINDS for s in settings.shares]
rows = np.arange(settings.analysis_tokens)
split = split_by_context(rows, rows // settings.block_tokens, config.decomposition.train_fraction, SEED)
weights = with_whole_sample(resample_counts(split.test_groups()[1], seed=SEED))

# %% [markdown]
# ## Training on each planted set
#
# For each dictionary, one set with nothing planted and one per planted kind and share; on each,
# both SAEs train together on fresh draws, then the split is read on the held-out draws.

# %% tags=["hide-input"]
started = time.perf_counter()
measured = {}  # (dictionary, kind, share) -> what the wider SAE's split and the truth give, as rows
for d_index, (name, dictionary) in enumerate(dictionaries.items()):
    for p_index, plant in enumerate(plants):
        synthetic = SyntheticActivations(dictionary, stats, planted_directions[name], plant)
        set_generator = torch.Generator().manual_seed(10_000 * SEED + 100 * d_index + p_index)
        x, planted = synthetic.sample(settings.analysis_tokens, set_generator)
        saes = train_on_synthetic(synthetic, x, settings.sae_widths, recipe, set_generator, device)
        splits = [decompose(sae, x, split, device) for sae in saes]
        with torch.no_grad():
            reconstruction = saes[-1](torch.from_numpy(x).to(device)).cpu().numpy()
        truth = true_parts(x, planted, reconstruction, splits[-1].vector_probe, split, weights)
        scaling = scalar_prediction_scores(splits[0].error_norm, splits[-1].error_norm, split)
        measured[name, plant.kind, plant.share] = splits[-1].replicates(weights) | {
            "planted_share": truth.planted_share,
            "introduced_share": truth.introduced_share,
            "planted_linear_share": truth.planted_linear_share,
            "nonlinear_from_sae": truth.nonlinear_from_sae,
            "scaling_r2": scaling.r2_replicates(weights),
            "narrow_fvu": splits[0].replicates(weights)["fvu_sae"],
        }
training_elapsed = time.perf_counter() - started
for name in DICTIONARIES:
    baseline = measured[name, NOTHING_PLANTED, 0.0]
    for plant in plants[1:]:
        rows_of = measured[name, plant.kind, plant.share]
        for part in ("linear", "nonlinear"):
            rows_of[f"{part}_per_unit"] = per_unit_planted(
                rows_of[f"fvu_{part}"], baseline[f"fvu_{part}"], rows_of["planted_share"]
            )
        rows_of["learned_per_unit"] = 1 - rows_of["linear_per_unit"] - rows_of["nonlinear_per_unit"]

# %% [markdown]
# ## Estimated against planted
#
# Each set's split at the wider SAE, with 95% intervals: the FVU and its linear and nonlinear
# parts; per unit of planted variance, the linear and nonlinear error the plant added (against the
# set with nothing planted; the paper's reading of absent features and dense noise predicts 1 and
# 0), and the rest, which the SAE reconstructs; the share of the planted part a linear map of $x$
# recovers; the share of the nonlinear error that is the SAE's own; the norm probe's $R^2$ (Eq. 2)
# and Eq. 5's $R^2$ of the wider SAE's per-token error norm from the narrower's.

# %% tags=["hide-input"]
COLUMNS = {
    "planted share": "planted_share",
    "FVU": "fvu_sae",
    "linear": "fvu_linear",
    "nonlinear": "fvu_nonlinear",
    "linear per unit planted": "linear_per_unit",
    "nonlinear per unit planted": "nonlinear_per_unit",
    "reconstructed per unit planted": "learned_per_unit",
    "planted part linear (R²)": "planted_linear_share",
    "nonlinear error the SAE's own": "nonlinear_from_sae",
    "norm probe R²": "norm_probe_r2",
    "Eq. 5 R²": "scaling_r2",
}
table_rows = []
for (name, kind, share), rows_of in measured.items():
    row = {"dictionary": name, "planted": kind, "target share": share}
    for column, key in COLUMNS.items():
        value = rows_of.get(key)
        row[column] = "–" if value is None else Estimate.from_rows(value).text(".3f")
    table_rows.append(row)
display(styled(pd.DataFrame(table_rows), {"target share": "{:.2f}"}))

# %% tags=["hide-input"]
fig, axes = plt.subplots(len(DICTIONARIES), len(PLANTED_KINDS), figsize=(11, 6.5), sharex=True, sharey=True)
for row_axes, name in zip(axes, DICTIONARIES, strict=True):
    baseline = measured[name, NOTHING_PLANTED, 0.0]
    for ax, kind in zip(row_axes, PLANTED_KINDS, strict=True):
        keys = [(name, NOTHING_PLANTED, 0.0)] + [(name, kind, s) for s in settings.shares]
        planted_share = np.array([measured[key]["planted_share"][0] for key in keys])
        for part, color in (("linear", "tab:blue"), ("nonlinear", "tab:red")):
            estimates = [Estimate.from_rows(measured[key][f"fvu_{part}"]) for key in keys]
            values = np.array([e.value for e in estimates])
            spans = np.array([[e.value - e.interval[0], e.interval[1] - e.value] for e in estimates]).T
            ax.errorbar(
                planted_share, values, spans, fmt="o-", color=color, capsize=2, label=f"{part} (estimated)"
            )
            start = baseline[f"fvu_{part}"][0]
            reading = start * (1 - planted_share) + (planted_share if part == "linear" else 0)
            ax.plot(
                planted_share,
                reading,
                ls="--",
                color=color,
                alpha=0.6,
                label=f"{part}, were all the plant linear",
            )
        ax.set_title(f"{kind} · {name} dictionary", fontsize=9)
    row_axes[0].set_ylabel("share of the total variance")
for ax in axes[-1]:
    ax.set_xlabel("planted share (measured)")
axes[0, 0].legend(fontsize=7)
plt.show()

# %% tags=["hide-input"]
results.label("dictionary_sae", entry.name)
results.metric("dictionary_features", len(learned))
results.metric("model_width", learned.shape[1])
results.metric("mean_l0", float(stats.frequencies.sum()))
results.metric("reference_k", k)
results.metric("planted_sets", len(measured))
results.metric("training_seconds", training_elapsed)
results.metric(
    "min_planted_share",
    min(float(r["planted_share"][0]) for (_, kind, _), r in measured.items() if kind != NOTHING_PLANTED),
)
results.metric(
    "max_share_error",
    max(abs(float(r["planted_share"][0]) - share) for (_, _, share), r in measured.items()),
)
results.metric(
    "baseline_nonlinear_from_sae",
    min(float(measured[name, NOTHING_PLANTED, 0.0]["nonlinear_from_sae"][0]) for name in DICTIONARIES),
)
extremes = {}
for kind, short in zip(PLANTED_KINDS, ("absent", "dense", "nonlinear_kind"), strict=True):
    for key in ("linear_per_unit", "nonlinear_per_unit", "planted_linear_share", "nonlinear_from_sae"):
        by_set = np.array([r[key] for (_, k_, _), r in measured.items() if k_ == kind])
        smallest, largest = Estimate.from_rows(by_set.min(axis=0)), Estimate.from_rows(by_set.max(axis=0))
        extremes[kind, key] = smallest, largest
        results.estimate(f"{short}_{key}_min", smallest.value, smallest.interval)
        results.estimate(f"{short}_{key}_max", largest.value, largest.interval)
every_plant = np.array(
    [r["nonlinear_from_sae"] for (_, kind, _), r in measured.items() if kind != NOTHING_PLANTED]
)
from_sae = Estimate.from_rows(every_plant.min(axis=0))
results.estimate("nonlinear_from_sae_min", from_sae.value, from_sae.interval)
baseline_fvu = results.metric(
    "baseline_fvu",
    float(np.mean([measured[name, NOTHING_PLANTED, 0.0]["fvu_sae"][0] for name in DICTIONARIES])),
)

# %% [markdown]
# The dictionary is {glue:md}`dictionary_sae`'s {glue:text}`dictionary_features` live latents in
# {glue:text}`model_width` dimensions (mean L0 {glue:text}`mean_l0:.1f`); the SAEs train at k =
# {glue:text}`reference_k` on {glue:text}`planted_sets` sets ({glue:text}`training_seconds:.0f` s),
# reaching an FVU of {glue:text}`baseline_fvu:.3f` (mean over the two dictionaries) with nothing
# planted. Each planted share lands within {glue:text}`max_share_error:.3f` of its target.
#
# **Absent features.** Per unit of planted variance the split adds between
# {glue:text}`absent_linear_per_unit_min:.2f` and {glue:text}`absent_linear_per_unit_max:.2f` of
# linear error and between {glue:text}`absent_nonlinear_per_unit_min:.2f` and
# {glue:text}`absent_nonlinear_per_unit_max:.2f` of nonlinear error over the sets, while a linear
# map of $x$ recovers between {glue:text}`absent_planted_linear_share_min:.2f` and
# {glue:text}`absent_planted_linear_share_max:.2f` of the planted part itself. **Dense noise:**
# {glue:text}`dense_linear_per_unit_min:.2f` to {glue:text}`dense_linear_per_unit_max:.2f` linear and
# {glue:text}`dense_nonlinear_per_unit_min:.2f` to {glue:text}`dense_nonlinear_per_unit_max:.2f`
# nonlinear per unit; a linear map recovers {glue:text}`dense_planted_linear_share_min:.2f` to
# {glue:text}`dense_planted_linear_share_max:.2f` of it. **Nonlinear structure:**
# {glue:text}`nonlinear_kind_linear_per_unit_min:.2f` to
# {glue:text}`nonlinear_kind_linear_per_unit_max:.2f` linear and
# {glue:text}`nonlinear_kind_nonlinear_per_unit_min:.2f` to
# {glue:text}`nonlinear_kind_nonlinear_per_unit_max:.2f` nonlinear per unit; a linear map recovers
# {glue:text}`nonlinear_kind_planted_linear_share_min:.2f` to
# {glue:text}`nonlinear_kind_planted_linear_share_max:.2f` of it. Over every planted set, at least
# {glue:text}`nonlinear_from_sae_min:.2f` ({glue:text}`nonlinear_from_sae_min_low:.2f` to
# {glue:text}`nonlinear_from_sae_min_high:.2f`) of the nonlinear error is the SAE's own error on the
# dictionary's features rather than planted dark matter.
#
# A per-unit value can leave [0, 1]: planting dark matter also changes how well the SAE
# reconstructs the dictionary's features (capacity spent on the plant, or a noisier encoder input),
# and that change is counted with the plant.
#
# ## Claims
#
# The paper's readings, tested where the answer is known. Each claim reads its extreme over the sets
# of its kind (both dictionaries, every planted share), at the wider SAE, with a bootstrap interval
# over the held-out blocks; "most" is more than half.

# %% tags=["hide-input"]
MOST = Band(low=0.5)
PER_UNIT = (
    "the smallest, over the {kind} sets (both dictionaries, every share), of the {part} error the split "
    "adds per unit of planted variance, against the set with nothing planted, with its bootstrap interval "
    "over held-out blocks: "
)
LINEAR_READINGS = {  # planted kind: claim id, claim, the paper's words, what was planted
    "absent features": (
        "absent_features_in_linear_error",
        "features the SAE has not learned end up in the linear part of its error",
        "'we assume absent features (those which are not yet learned) are a component of the linear error'",
        "absent features",
    ),
    "dense noise": (
        "dense_noise_in_linear_error",
        "dense noise in the activations shows up as linear error (the paper's Table 1 reading: the linear "
        "estimate tracks noise added to the input)",
        "'estimated Dense() is highly correlated with the amount of Gaussian noise added'",
        "noise",
    ),
    "nonlinear": (
        "nonlinear_features_in_linear_error",
        "nonlinear features in the activations, part of the paper's Dense(x), show up as linear error like "
        "the rest of it",
        "'might be Gaussian noise, nonlinear features as described by Csordás et al. (2024), or anything "
        "else'",
        "products of features",
    ),
}
for kind, (claim_id, claim, paper, planted_words) in LINEAR_READINGS.items():
    estimate = extremes[kind, "linear_per_unit"][0]
    recovered = extremes[kind, "planted_linear_share"][0].value
    results.claim(
        claim_id,
        claim,
        paper,
        f"smallest linear error added per unit of planted {planted_words} {estimate.text('.2f')}; a linear "
        f"map of x recovers at least {recovered:.2f} of what was planted.",
        criterion=PER_UNIT.format(kind=kind, part="linear") + MOST.rule(),
        holds=MOST.verdict(estimate.interval),
        estimate=estimate.value,
        interval=estimate.interval,
    )
results.claim(
    "nonlinear_error_from_the_sae",
    "the nonlinear part of the error is mostly error the SAE introduces, not dark matter of the activations",
    "'the component that is not linearly predictable consists mostly of' introduced error",
    f"smallest share over the planted sets {from_sae.text('.2f')}.",
    criterion="the smallest, over every planted set (both dictionaries, every kind and share), of the share "
    "of the NonlinearError's squared norm that is the SAE's own error on the dictionary's features, "
    "Σ⟨I - Î, NonlinearError⟩ / Σ‖NonlinearError‖², with its bootstrap interval over held-out blocks: "
    + MOST.rule(),
    holds=MOST.verdict(from_sae.interval),
    estimate=from_sae.value,
    interval=from_sae.interval,
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# With the make-up of the activations known, the split adds {glue:text}`absent_linear_per_unit_min:.2f`
# to {glue:text}`absent_linear_per_unit_max:.2f` of linear error per unit of planted absent features,
# {glue:text}`dense_linear_per_unit_min:.2f` to {glue:text}`dense_linear_per_unit_max:.2f` per unit
# of dense noise and {glue:text}`nonlinear_kind_linear_per_unit_min:.2f` to
# {glue:text}`nonlinear_kind_linear_per_unit_max:.2f` per unit of products of features, and at least
# {glue:text}`nonlinear_from_sae_min:.2f` of the nonlinear error is the SAE's own. The claim table
# gives the verdicts on the paper's readings, each decided on its interval.
