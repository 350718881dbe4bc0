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
import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

from helpers.book.section import start_section
from helpers.toys.figures import feature_arrows
from helpers.toys.models import (
    SparseFeatures,
    ToyModel,
    evaluate_loss,
    lowest_loss_instances,
    repeat_per_seed,
    train_toy_model,
)
from helpers.toys.polytopes import pair_cosines

config, device, results, data_source, init_generator = start_section(
    "tms_correlated", PROFILE, SEED, RESULTS_DIR, OVERRIDES
)
section, training = config.tms_correlated, config.toy
n_seeds = training.seeds_per_setting
print(f"profile {config.name} on {device}: {section}, {n_seeds} seeds per setting")


# %%
def train_pairs(correlated: int, anticorrelated: int, probabilities: torch.Tensor) -> dict:
    """Train 2-d toy models whose features all come in pairs, every probability and seed at once.

    Returns the embeddings of all instances, the index of the lowest-loss seed per probability,
    and each instance's within-pair cosines (correlated pairs first)."""
    n_features = 2 * (correlated + anticorrelated)
    importance = torch.ones(n_features, device=device)
    probability = repeat_per_seed(probabilities, n_seeds)[:, None].expand(-1, n_features).contiguous()
    features = SparseFeatures(probability, correlated, anticorrelated).to(device)
    model = ToyModel(features.n_instances, n_features, 2, generator=init_generator, device=device)
    log = train_toy_model(
        model,
        features,
        importance,
        steps=section.steps,
        batch_size=training.batch_size,
        lr=section.lr,
        source=data_source,
        log_every=training.log_every,
        progress=False,
    )
    loss = evaluate_loss(model, features, importance, section.eval_samples, data_source)
    W = model.W.detach().cpu()
    return {
        "W": W,
        "best": lowest_loss_instances(loss, n_seeds),
        "cos": pair_cosines(W, 0, correlated + anticorrelated),
        "seconds": log.seconds,
    }


probabilities = torch.tensor(section.probabilities)
check_index = section.probabilities.index(section.check_probability)
correlated = train_pairs(section.n_pairs, 0, probabilities)
anticorrelated = train_pairs(0, section.n_pairs, probabilities)
more_pairs = list(range(section.n_pairs + 1, section.max_correlated_pairs + 1))
collapse_runs = {k: train_pairs(k, 0, probabilities[check_index : check_index + 1]) for k in more_pairs}
train_seconds = results.metric(
    "train_seconds",
    correlated["seconds"] + anticorrelated["seconds"] + sum(r["seconds"] for r in collapse_runs.values()),
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
for row, (run, kind) in enumerate(((correlated, "correlated"), (anticorrelated, "anticorrelated"))):
    for column, instance in enumerate(run["best"].tolist()):
        cosines = ", ".join(f"{c:+.2f}" for c in run["cos"][instance].tolist())
        feature_arrows(
            axes[row, column],
            run["W"][instance],
            -torch.arange(2.0 * section.n_pairs),
            title=f"{kind}, p = {probabilities[column]:.2f}\npair cos: {cosines}",
        )
fig.suptitle("Feature pairs in two dimensions (features 2k and 2k + 1 form pair k)")
plt.show()

# %% [markdown]
# The within-pair cosines of the kept models, and how often a single seed would have shown
# something else (its pairs' cosines more than 0.2 away from the kept model's):


# %%
def seed_miss_rate(run: dict) -> float:
    """Percent of seeds whose within-pair cosines differ by more than 0.2 from their setting's kept seed."""
    cos = run["cos"].reshape(-1, n_seeds, run["cos"].shape[-1])
    kept = run["cos"][run["best"]][:, None, :]
    return 100 * ((cos - kept).abs() > 0.2).any(dim=-1).double().mean().item()


display(
    pd.DataFrame(
        {
            "p": probabilities.numpy().round(3),
            "correlated pairs: cos": [
                " ".join(f"{c:+.2f}" for c in correlated["cos"][i].tolist()) for i in correlated["best"]
            ],
            "anticorrelated pairs: cos": [
                " ".join(f"{c:+.2f}" for c in anticorrelated["cos"][i].tolist())
                for i in anticorrelated["best"]
            ],
        }
    ).style.hide(axis="index")
)
correlated_cos = correlated["cos"][correlated["best"][check_index]]
anticorrelated_cos = anticorrelated["cos"][anticorrelated["best"][check_index]]
correlated_max_abs_cos = results.metric("correlated_max_abs_cos", correlated_cos.abs().max().item())
anticorrelated_max_cos = results.metric("anticorrelated_max_cos", anticorrelated_cos.max().item())
dense_correlated_min_cos = results.metric(
    "dense_correlated_min_cos", correlated["cos"][correlated["best"][0]].min().item()
)
results.metric("dense_probability", section.probabilities[0])
results.metric("correlated_seed_miss_rate", seed_miss_rate(correlated))
anticorrelated_miss_rate = results.metric("anticorrelated_seed_miss_rate", seed_miss_rate(anticorrelated))

# %% [markdown]
# At $p$ = {glue:text}`check_probability`, the largest $|\cos|$ within a correlated pair is
# {glue:text}`correlated_max_abs_cos:.3f` (orthogonal: 0), and the largest cosine within an
# anticorrelated pair is {glue:text}`anticorrelated_max_cos:.3f` (antipodal: −1). The
# anticorrelated solution is a hard one to find:
# {glue:text}`anticorrelated_seed_miss_rate:.0f`% of single seeds end elsewhere (often with
# the two antipodal lines holding the wrong partners), against
# {glue:text}`correlated_seed_miss_rate:.0f`% for the correlated models. At the densest setting,
# $p$ = {glue:text}`dense_probability`, the correlated pairs are not kept apart at all (smallest
# within-pair cosine {glue:text}`dense_correlated_min_cos:.2f`): there the model already prefers
# the collapse described next.
#
# ## Collapse onto the principal component
#
# Give the model more correlated pairs than it can keep in orthogonal "local bases" and it
# changes strategy. We call a pair *collapsed* when its two features point the same way
# ($\cos > 0.9$): the hidden space then reads the pair's sum $x_i + x_j$, its first principal
# component, rather than either feature, and each arrow has length near $1/\sqrt{2}$, the
# least-squares way to read both features back from their sum.

# %%
collapse_threshold = 0.9
pair_counts = [section.n_pairs, *more_pairs]
kept_cos = [correlated["cos"][correlated["best"][check_index]]] + [
    collapse_runs[k]["cos"][collapse_runs[k]["best"][0]] for k in more_pairs
]
kept_W = [correlated["W"][correlated["best"][check_index]]] + [
    collapse_runs[k]["W"][collapse_runs[k]["best"][0]] for k in more_pairs
]
collapsed_share = [(cos > collapse_threshold).double().mean().item() for cos in kept_cos]
results.metric("few_pairs_collapsed_share", collapsed_share[0])
results.metric("most_pairs", pair_counts[-1])
most_collapsed = results.metric("most_pairs_collapsed_share", collapsed_share[-1])
collapsed_norms = torch.cat(
    [
        W.norm(dim=0).reshape(-1, 2)[cos > collapse_threshold].flatten()
        for W, cos in zip(kept_W, kept_cos, strict=True)
    ]
)
results.metric("collapsed_mean_norm", collapsed_norms.mean().item() if len(collapsed_norms) else 0.0)

fig, axes = plt.subplots(1, len(pair_counts), figsize=(2.6 * len(pair_counts), 3.0), squeeze=False)
for ax, k, W, share in zip(axes[0], pair_counts, kept_W, collapsed_share, strict=True):
    feature_arrows(ax, W, -torch.arange(2.0 * k), title=f"{k} correlated pairs\n{share:.0%} collapsed")
fig.suptitle(f"More correlated pairs than two dimensions can hold apart (p = {section.check_probability})")
plt.show()

# %% [markdown]
# With {glue:text}`n_pairs` correlated pairs a share of {glue:text}`few_pairs_collapsed_share:.2f`
# of them is collapsed; with {glue:text}`most_pairs` pairs, a share of
# {glue:text}`most_pairs_collapsed_share:.2f`. Collapsed features have a mean length of
# {glue:text}`collapsed_mean_norm:.2f`, close to $1/\sqrt{2} \approx 0.71$: each pair is stored as
# its principal component, and the pairs then share the plane in superposition with each other.

# %% [markdown]
# ## Claims

# %%
results.claim(
    "correlated_orthogonal",
    "Correlated features prefer orthogonal directions.",
    "correlated pairs orthogonal (a 'local orthogonal basis')",
    f"largest |cos| within a correlated pair: {correlated_max_abs_cos:.3f} (p = {section.check_probability})",
    "yes" if correlated_max_abs_cos < 0.2 else ("partly" if correlated_max_abs_cos < 0.5 else "no"),
)
results.claim(
    "anticorrelated_antipodal",
    "Anticorrelated features prefer antipodal directions.",
    "anticorrelated pairs antipodal",
    f"largest cos within an anticorrelated pair: {anticorrelated_max_cos:.3f} "
    f"(p = {section.check_probability})",
    "yes" if anticorrelated_max_cos < -0.9 else ("partly" if anticorrelated_max_cos < -0.5 else "no"),
)
results.claim(
    "pca_collapse",
    "With more correlated features than the model can keep orthogonal, it collapses them onto their "
    "principal component.",
    "correlated sets collapse to a PCA-like direction",
    f"collapsed pairs (cos > {collapse_threshold}): {collapsed_share[0]:.0%} with {pair_counts[0]} pairs, "
    f"{most_collapsed:.0%} with {pair_counts[-1]} pairs",
    "yes"
    if most_collapsed >= 0.75 and collapsed_share[0] == 0
    else ("partly" if most_collapsed > collapsed_share[0] else "no"),
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# Correlation decides the geometry. Features that fire together are kept apart at right angles,
# features that never fire together share a line in opposite directions, and when there are too
# many correlated features to keep apart, the model stops superposing them individually and
# stores each correlated pair as one direction, its principal component. Finding the
# anticorrelated arrangement depends strongly on the initialisation, which is why we keep the
# lowest-loss of several seeds.
