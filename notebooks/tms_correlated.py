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
# # Correlated and anticorrelated features
#
# Real features are not independent. *Toy Models of Superposition* {cite}`elhage2022toy` asks
# how correlations between features change the geometry a toy model learns.
#
# **The claim.** Correlated features prefer *orthogonal* directions: they fire together, so any
# interference between them is paid every time. Anticorrelated features prefer *antipodal*
# directions: they never fire together, so sharing a line (one positive, one negative) costs
# nothing after the ReLU. And with more correlated features than the model can give orthogonal
# directions, it collapses each correlated set onto its principal component, a PCA-like "local"
# solution instead of superposition.
#
# **The model.** The toy model $h = W x$, $x' = \mathrm{ReLU}(W^\top h + b)$ in two hidden
# dimensions, all importances 1. Features come in pairs: the two features of a *correlated* pair
# share one presence draw (both fire, with independent magnitudes, or neither does); the two of
# an *anticorrelated* pair never fire together. Several feature probabilities and several seeds
# per probability train as one batched model, and we keep the lowest-loss seed of each setting.

# %% tags=["parameters"]
PROFILE = "cpu"  # smoke | cpu | paper (see helpers/profiles.py)
SEED = 0  # everything random in this run derives from it
RESULTS_DIR = None  # where results.json goes; None: the cache's interactive folder
OVERRIDES = {}  # e.g. {"tms_correlated.steps": 2000}

# %% tags=["hide-input"]
from dataclasses import replace
from functools import partial

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

from helpers.book.results import verdict
from helpers.book.section import scale_table, start_section
from helpers.toys.figures import feature_arrows
from helpers.toys.polytopes import pair_cosines
from helpers.toys.sweep import train_pair_sweep

config, device, results, data_source, init_generator = start_section(
    "tms_correlated", PROFILE, SEED, RESULTS_DIR, OVERRIDES
)

# %% [markdown]
# ## Our scale
#
# The models are the paper's at every profile; the smaller profiles train for fewer steps, at a
# larger learning rate, from fewer seeds, and `smoke` also at fewer probabilities and pair counts.

# %% tags=["hide-input"]
display(scale_table(config, "tms_correlated"))

# %% [markdown]
# ## Training every probability and seed as one model
#
# Each kind of model (two correlated pairs, two anticorrelated pairs, and more correlated pairs at
# one probability) is one batched model whose instances are every feature probability times several
# seeds; each probability keeps its lowest-loss seed, compared on fresh samples.

# %%
section, n_seeds = config.tms_correlated, config.toy.seeds_per_setting
training = replace(config.toy, steps=section.steps, lr=section.lr, eval_samples=section.eval_samples)
probabilities = torch.tensor(section.probabilities)
check_index = section.probabilities.index(section.check_probability)
pair_sweep = partial(
    train_pair_sweep,
    seeds=n_seeds,
    training=training,
    generator=init_generator,
    source=data_source,
    device=device,
)
runs = {
    "correlated": pair_sweep(section.n_pairs, 0, probabilities),
    "anticorrelated": pair_sweep(0, section.n_pairs, probabilities),
}
more_pairs = list(range(section.n_pairs + 1, section.max_correlated_pairs + 1))
collapse_runs = {k: pair_sweep(k, 0, probabilities[check_index : check_index + 1]) for k in more_pairs}
cosines = {kind: pair_cosines(run.W, 0, section.n_pairs) for kind, run in runs.items()}

# %%
train_seconds = results.metric(
    "train_seconds",
    sum(run.seconds for run in runs.values()) + sum(run.seconds for run in collapse_runs.values()),
)
results.metric("n_pairs", section.n_pairs)
check_probability = results.metric("check_probability", section.check_probability)

# %% [markdown]
# Training all the models took {glue:text}`train_seconds:.0f` seconds.
#
# ## Two correlated pairs, two anticorrelated pairs
#
# Each panel is the lowest-loss model at one feature probability, each arrow one feature's
# embedding $W_i$, coloured by feature index, so features $2k$ and $2k+1$ (pair $k$) have
# neighbouring shades. Top row: {glue:text}`n_pairs` correlated pairs;
# bottom row: {glue:text}`n_pairs` anticorrelated pairs.

# %%
fig, axes = plt.subplots(2, len(probabilities), figsize=(2.6 * len(probabilities), 5.4), squeeze=False)
for row, (kind, run) in enumerate(runs.items()):
    for column, instance in enumerate(run.best.tolist()):
        pair_cos = ", ".join(f"{c:+.2f}" for c in cosines[kind][instance].tolist())
        feature_arrows(
            axes[row, column],
            run.W[instance],
            -torch.arange(2.0 * section.n_pairs),
            title=f"{kind}, $p$ = {probabilities[column]:.2f}\npair cos: {pair_cos}",
        )
fig.suptitle("Feature pairs in two dimensions (features $2k$ and $2k + 1$ form pair $k$)")
plt.show()

# %% [markdown]
# The within-pair cosines of the kept models, and how often a single seed would have shown
# something else (its pairs' cosines more than 0.2 away from the kept model's):

# %%
display(
    pd.DataFrame(
        {
            "p": probabilities.numpy().round(3),
            **{
                f"{kind} pairs: cos": [
                    " ".join(f"{c:+.2f}" for c in cosines[kind][i].tolist()) for i in run.best
                ]
                for kind, run in runs.items()
            },
        }
    ).style.hide(axis="index")
)

# %%
correlated_cos = cosines["correlated"][runs["correlated"].best[check_index]]
anticorrelated_cos = cosines["anticorrelated"][runs["anticorrelated"].best[check_index]]
correlated_max_abs_cos = results.metric("correlated_max_abs_cos", correlated_cos.abs().max().item())
anticorrelated_max_cos = results.metric("anticorrelated_max_cos", anticorrelated_cos.max().item())
dense_correlated_min_cos = results.metric(
    "dense_correlated_min_cos", cosines["correlated"][runs["correlated"].best[0]].min().item()
)
results.metric("dense_probability", section.probabilities[0])
for kind, run in runs.items():
    results.metric(f"{kind}_seed_miss_rate", run.seed_miss_rate(cosines[kind], tolerance=0.2))
ORTHOGONAL, ANTIPODAL = 0.2, -0.9  # |cos| below, and cos below: EXPERIMENTS.md's thresholds
COLLAPSED = 0.9  # a pair whose features point the same way (cos above) is stored as one direction
results.metric("orthogonal_threshold", ORTHOGONAL)
results.metric("antipodal_threshold", ANTIPODAL)
results.metric("collapse_threshold", COLLAPSED)
by_probability = pd.DataFrame(
    {
        "p": section.probabilities,
        "correlated: largest |cos|": [
            cosines["correlated"][i].abs().max().item() for i in runs["correlated"].best
        ],
        "anticorrelated: largest cos": [
            cosines["anticorrelated"][i].max().item() for i in runs["anticorrelated"].best
        ],
    }
)
orthogonal_at = by_probability.p[by_probability["correlated: largest |cos|"] < ORTHOGONAL].tolist()
antipodal_at = by_probability.p[by_probability["anticorrelated: largest cos"] < ANTIPODAL].tolist()
results.metric("probabilities_trained", len(by_probability))
results.metric("correlated_orthogonal_share", len(orthogonal_at) / len(by_probability))
results.metric("anticorrelated_antipodal_share", len(antipodal_at) / len(by_probability))
results.label("orthogonal_at", ", ".join(f"{p:g}" for p in orthogonal_at) or "none")
results.label("antipodal_at", ", ".join(f"{p:g}" for p in antipodal_at) or "none")
dense_kept_apart = dense_correlated_min_cos < COLLAPSED
dense_reading = results.sentence(
    "dense_reading",
    "the correlated pairs are still kept apart there"
    if dense_kept_apart
    else "the correlated pairs are not kept apart at all: there the model already prefers the collapse "
    "described next",
)

# %% [markdown]
# At $p$ = {glue:text}`check_probability`, the largest $|\cos|$ within a correlated pair is
# {glue:text}`correlated_max_abs_cos:.3f` (orthogonal: 0), and the largest cosine within an
# anticorrelated pair is {glue:text}`anticorrelated_max_cos:.3f` (antipodal: −1). The
# anticorrelated solution is a hard one to find:
# {glue:text}`anticorrelated_seed_miss_rate:.0f`% of single seeds end elsewhere (often with
# the two antipodal lines holding the wrong partners), against
# {glue:text}`correlated_seed_miss_rate:.0f`% for the correlated models. At the densest setting,
# $p$ = {glue:text}`dense_probability`, the smallest within-pair cosine of the correlated pairs is
# {glue:text}`dense_correlated_min_cos:.2f`: {glue:md}`dense_reading`.
#
# Over all {glue:text}`probabilities_trained` probabilities, the correlated pairs are orthogonal
# (largest $|\cos|$ below {glue:text}`orthogonal_threshold`) at $p$ = {glue:md}`orthogonal_at`, and
# the anticorrelated pairs antipodal (largest cosine below {glue:text}`antipodal_threshold`) at $p$ =
# {glue:md}`antipodal_at`:

# %%
display(by_probability.style.format({"p": "{:g}"}, precision=3).hide(axis="index"))

# %% [markdown]
#
# ## Collapse onto the principal component
#
# The paper: given more correlated pairs than it can keep in orthogonal "local bases", the model
# changes strategy. We call a pair *collapsed* when its two features point the same way ($\cos >$
# {glue:text}`collapse_threshold`): the hidden space then reads the pair's sum $x_i + x_j$, its
# first principal component, rather than either feature, and reading both features back from
# their sum by least squares gives each arrow a length of $1/\sqrt{2}$.

# %%
collapse_threshold = COLLAPSED
pair_counts = [section.n_pairs, *more_pairs]
kept_cos = [correlated_cos] + [pair_cosines(run.W, 0, k)[run.best[0]] for k, run in collapse_runs.items()]
kept_W = [runs["correlated"].W[runs["correlated"].best[check_index]]] + [
    run.W[run.best[0]] for run in collapse_runs.values()
]
collapsed_share = [(cos > collapse_threshold).double().mean().item() for cos in kept_cos]
collapsed_norms = torch.cat(
    [
        W.norm(dim=0).reshape(-1, 2)[cos > collapse_threshold].flatten()
        for W, cos in zip(kept_W, kept_cos, strict=True)
    ]
)

# %%
results.metric("few_pairs_collapsed_share", collapsed_share[0])
results.metric("most_pairs", pair_counts[-1])
most_collapsed = results.metric("most_pairs_collapsed_share", collapsed_share[-1])
if len(collapsed_norms):
    results.metric("collapsed_mean_norm", collapsed_norms.mean().item())
    results.sentence(
        "collapsed_norm_reading",
        f"Collapsed features have a mean length of {collapsed_norms.mean().item():.2f}, against "
        "$1/\\sqrt{2} \\approx 0.71$ for a pair stored as its principal component (the least-squares "
        "way to read both features back from their sum).",
    )
else:
    results.sentence("collapsed_norm_reading", "No pair collapsed, so there is no collapsed length to read.")

# %%
fig, axes = plt.subplots(1, len(pair_counts), figsize=(2.6 * len(pair_counts), 3.0), squeeze=False)
for ax, k, W, share in zip(axes[0], pair_counts, kept_W, collapsed_share, strict=True):
    feature_arrows(ax, W, -torch.arange(2.0 * k), title=f"{k} correlated pairs\n{share:.0%} collapsed")
fig.suptitle(f"More correlated pairs than two dimensions can hold apart ($p$ = {section.check_probability})")
plt.show()

# %% [markdown]
# With {glue:text}`n_pairs` correlated pairs a share of {glue:text}`few_pairs_collapsed_share:.2f`
# of them is collapsed; with {glue:text}`most_pairs` pairs, a share of
# {glue:text}`most_pairs_collapsed_share:.2f`. {glue:md}`collapsed_norm_reading`

# %% [markdown]
# ## Claims

# %%
p_check = section.check_probability
cos_text = {
    kind: ", ".join(
        f"{v:+.2f} at {p:g}" for p, v in zip(by_probability.p, by_probability[column], strict=True)
    )
    for kind, column in (
        ("correlated", "correlated: largest |cos|"),
        ("anticorrelated", "anticorrelated: largest cos"),
    )
}
for claim_id, claim, paper, kind, held_at, rule in (
    (
        "correlated_orthogonal",
        "Correlated features prefer orthogonal directions.",
        "correlated pairs orthogonal (a 'local orthogonal basis')",
        "correlated",
        orthogonal_at,
        f"the largest |cos| within a correlated pair of the kept model is below {ORTHOGONAL}",
    ),
    (
        "anticorrelated_antipodal",
        "Anticorrelated features prefer antipodal directions.",
        "anticorrelated pairs antipodal",
        "anticorrelated",
        antipodal_at,
        f"the largest cos within an anticorrelated pair of the kept model is below {ANTIPODAL}",
    ),
):
    results.claim(
        claim_id,
        claim,
        paper,
        f"holds at p = {', '.join(f'{p:g}' for p in held_at) or 'none'} of {len(by_probability)} "
        f"(largest {'|cos|' if kind == 'correlated' else 'cos'}: {cos_text[kind]})",
        criterion=f"at each trained feature probability, {rule}: yes if at every probability, partly if at "
        "some (the ours column says which), no if at none",
        holds=verdict(len(held_at) == len(by_probability), len(held_at) > 0),
        estimate=len(held_at) / len(by_probability),
    )
results.claim(
    "pca_collapse",
    "With more correlated features than the model can keep orthogonal, it collapses them onto their "
    "principal component.",
    "correlated sets collapse to a PCA-like direction",
    f"collapsed pairs (cos > {collapse_threshold}): {collapsed_share[0]:.0%} with {pair_counts[0]} pairs, "
    f"{most_collapsed:.0%} with {pair_counts[-1]} pairs",
    criterion=(
        f"yes if at least 75% of the pairs are collapsed (cos > {collapse_threshold}) with {pair_counts[-1]} "
        f"pairs and none with {pair_counts[0]}; partly if a larger share is collapsed with {pair_counts[-1]} "
        f"pairs than with {pair_counts[0]}"
    ),
    holds=verdict(most_collapsed >= 0.75 and collapsed_share[0] == 0, most_collapsed > collapsed_share[0]),
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# At $p$ = {glue:text}`check_probability`, the largest $|\cos|$ within a correlated pair is
# {glue:text}`correlated_max_abs_cos:.3f` (orthogonal: 0) and the largest cosine within an
# anticorrelated pair {glue:text}`anticorrelated_max_cos:.3f` (antipodal: −1); over the trained
# probabilities, the correlated pairs are orthogonal at $p$ = {glue:md}`orthogonal_at` and the
# anticorrelated pairs antipodal at $p$ = {glue:md}`antipodal_at`. With {glue:text}`most_pairs`
# correlated pairs, more than two dimensions can keep apart, a share of
# {glue:text}`most_pairs_collapsed_share:.2f` of the pairs is collapsed onto one direction (with
# {glue:text}`n_pairs` pairs: {glue:text}`few_pairs_collapsed_share:.2f`). Single seeds miss the
# anticorrelated arrangement {glue:text}`anticorrelated_seed_miss_rate:.0f`% of the time, which is
# why we keep the lowest-loss of several seeds.
