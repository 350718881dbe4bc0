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
# # Fractional dimensionality and uniform polytopes
#
# With many features of equal importance, *Toy Models of Superposition* {cite}`elhage2022toy`
# asks how the hidden dimensions are shared out between features, and finds a surprisingly
# discrete answer.
#
# **The claim.** Measure how many hidden dimensions each represented feature gets: overall as
# *dimensions per feature* $m / \lVert W \rVert_F^2$, and per feature as its *dimensionality*
# $D_i = \lVert W_i \rVert^2 / \sum_j (\hat W_i \cdot W_j)^2$ (1 for a feature with a dimension of its
# own, $1/2$ for each feature of an antipodal pair). As features get sparser, dimensions per
# feature does not fall smoothly: it lingers at $1/2$, where every represented feature sits in an
# antipodal pair. And the individual $D_i$ cluster at a few "sticky" fractions, each the signature
# of a uniform polytope living in its own subspace: 1 (a dedicated dimension), 3/4 (tetrahedron),
# 2/3 (triangle), 1/2 (antipodal pair), 2/5 (pentagon) and 3/8 (square antiprism).
#
# **The model.** The toy model $h = W x$, $x' = \mathrm{ReLU}(W^\top h + b)$ with all importances
# equal to 1, many more features than hidden dimensions, and the feature probability $p = 1 - S$
# log-spaced from dense ($p = 1$) to sparse. Every sparsity and several random seeds per sparsity
# train together as one batched model; for each sparsity we keep the lowest-loss seed.

# %% tags=["parameters"]
PROFILE = "cpu"  # smoke | cpu | paper (see helpers/profiles.py)
SEED = 0  # everything random in this run derives from it
RESULTS_DIR = None  # where results.json goes; None: the cache's interactive folder
OVERRIDES = {}  # e.g. {"tms_geometry.steps": 2000}

# %% tags=["hide-input"]
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from helpers.book.intervals import (
    RESAMPLES,
    Band,
    Estimate,
    interval_text,
    percentile_interval,
    ratio_replicates,
    resample_counts,
    with_whole_sample,
)
from helpers.book.section import scale_table, start_section
from helpers.toys.figures import polytope_drawing
from helpers.toys.geometry import dimensions_per_feature, feature_dimensionality, represented
from helpers.toys.models import ToyModel, repeat_per_seed
from helpers.toys.polytopes import (
    POLYTOPE_NAMES,
    STICKY_FRACTIONS,
    STICKY_TOLERANCE,
    drawable_polytopes,
    near_sticky_fraction,
    plateau_resamples,
    project_onto_span,
    shape_kind,
    sticky_share_by_chance,
    subspace_shapes,
)
from helpers.toys.sweep import sweep_features, train_sweep

config, device, results, data_source, init_generator = start_section(
    "tms_geometry", PROFILE, SEED, RESULTS_DIR, OVERRIDES
)

# %% [markdown]
# ## Our scale
#
# The paper's model has 200 features in 20 dimensions, out to a feature probability of 1/100;
# the smaller profiles shrink the model, the range of sparsities, the seeds and the steps.

# %% tags=["hide-input"]
display(scale_table(config, "tms_geometry"))

# %% [markdown]
# ## Training every sparsity and seed as one model
#
# The feature probabilities are log-spaced, so that $1/(1-S)$, the expected number of samples
# between two occurrences of a feature, is evenly spaced on a log axis.

# %%
section = config.tms_geometry
n_settings, n_seeds = section.n_sparsities, section.seeds_per_setting
inverse_density = section.max_inverse_density ** torch.linspace(0, 1, n_settings)
probability = 1 / inverse_density
importance = torch.ones(section.n_features, device=device)
features = sweep_features(probability, n_seeds, section.n_features, device)
model = ToyModel(
    n_settings * n_seeds, section.n_features, section.n_hidden, generator=init_generator, device=device
)
training = replace(config.toy, steps=section.steps, batch_size=section.batch_size, lr=section.lr)
sweep = train_sweep(model, features, importance, n_seeds, training, data_source)
W, best = sweep.W, sweep.best

# %%
results.metric("instances", model.n_instances)
results.metric("n_features", section.n_features)
results.metric("n_hidden", section.n_hidden)
train_seconds = results.metric("train_seconds", sweep.seconds)

# %% [markdown]
# We trained {glue:text}`instances` models of {glue:text}`n_features` features in
# {glue:text}`n_hidden` dimensions at once, in {glue:text}`train_seconds:.0f` seconds.
#
# ## Dimensions per feature
#
# The grey points are every seed, the line the lowest-loss seed of each sparsity.

# %%
per_instance = dimensions_per_feature(W)
curve = per_instance[best]
PLATEAU_TOLERANCE = 0.05
results.metric("plateau_tolerance", PLATEAU_TOLERANCE)
plateau_lengths, plateau_levels = plateau_resamples(
    sweep.per_setting(per_instance),
    sweep.per_setting(sweep.loss.cpu()),
    0.5,
    PLATEAU_TOLERANCE,
    RESAMPLES,
    SEED,
)
plateau_length = Estimate.from_rows(plateau_lengths)
results.estimate("plateau_length", plateau_length.value, plateau_length.interval)
levels_found = plateau_levels[1:][np.isfinite(plateau_levels[1:])]  # a resample may find no plateau
results.metric("plateau_found_share", len(levels_found) / (len(plateau_levels) - 1))
if np.isfinite(plateau_levels[0]) and len(levels_found) >= 2:
    plateau_level = Estimate.of(plateau_levels[0], levels_found)
    results.estimate("plateau_level", plateau_level.value, plateau_level.interval)
    results.sentence("plateau_reading", f"at a mean level of {plateau_level.text('.3f')}")
else:
    results.sentence(
        "plateau_reading", f"(none lies within ±{PLATEAU_TOLERANCE} of 1/2: there is no plateau level)"
    )
results.metric("densest_dims_per_feature", curve[0].item())
results.metric("sparsest_dims_per_feature", curve[-1].item())
seed_spread = (sweep.per_setting(per_instance) - curve[:, None]).abs()
max_seed_spread = results.metric("max_seed_spread", seed_spread.max().item())

# %%
fig, ax = plt.subplots(figsize=(7, 3.6))
ax.scatter(repeat_per_seed(inverse_density, n_seeds), per_instance, color="0.7", s=12, label="each seed")
ax.plot(inverse_density, curve, "o-", color="C0", ms=4, label="lowest-loss seed")
ax.axhline(0.5, color="C3", ls="--", lw=1, label="1/2 (antipodal pairs)")
ax.axhspan(1 / 3, 1, color="C2", alpha=0.07, label="range checked for sticky fractions")
ax.set_xscale("log")
ax.set_xlabel("$1 / (1 - S)$ (log scale, sparser to the right)")
ax.set_ylabel("dimensions per feature $m / \\|W\\|_F^2$")
ax.set_title(f"{section.n_features} features in {section.n_hidden} dimensions")
ax.legend(loc="upper right", fontsize="small")
plt.show()

# %% [markdown]
# At the densest setting dimensions per feature is {glue:text}`densest_dims_per_feature:.2f` (1:
# a whole dimension for each represented feature). The curve stays within
# ±{glue:text}`plateau_tolerance` of $1/2$ for {glue:text}`plateau_length:.0f` consecutive
# sparsities {glue:md}`plateau_reading`; a plateau at $1/2$ is what storing every represented
# feature in an antipodal pair gives. The kept curve takes the lowest-loss seed at each sparsity,
# so its plateau's interval redraws each sparsity's seeds with replacement and keeps the
# lowest-loss seed drawn: the plateau's length lies in {glue:text}`plateau_length_low:.0f` to
# {glue:text}`plateau_length_high:.0f` sparsities in 95% of those redraws, and
# {glue:text}`plateau_found_share:.0%` of them find one. At the sparsest
# setting it is {glue:text}`sparsest_dims_per_feature:.3f` dimensions per feature. The largest
# distance of any seed's curve from the kept one is {glue:text}`max_seed_spread:.3f`.
#
# ## The dimensionality of each feature
#
# Each point is one represented feature ($\lVert W_i \rVert > 0.5$) of the kept model at one
# sparsity; the dashed lines are the sticky fractions. We count a feature as *sticky* when its
# $D_i$ lies within ±{glue:text}`sticky_tolerance` of one of them, in the sparsities where
# dimensions per feature lies between 1/3 and 1 (beyond that, at extreme sparsity, features pack
# more densely than any of these polytopes).

# %%
results.metric("sticky_tolerance", STICKY_TOLERANCE)
dimensionality = feature_dimensionality(W[best])
kept = represented(W[best])
in_range = (curve >= 1 / 3) & (curve <= 1)
checked = kept & in_range[:, None]
sticky = near_sticky_fraction(dimensionality) & checked
sticky_share = results.metric("sticky_share", sticky.sum().item() / max(checked.sum().item(), 1))
checked_features = results.metric("checked_features", checked.sum().item())
checked_sparsities = results.metric("checked_sparsities", in_range.sum().item())

# %%
fig, ax = plt.subplots(figsize=(7, 4))
jitter = torch.exp(0.04 * torch.randn(kept.shape, generator=torch.Generator().manual_seed(SEED)))
x_points = (inverse_density[:, None] * jitter)[kept]
colours = ["C2" if s else "C7" for s in sticky[kept].tolist()]
ax.scatter(x_points, dimensionality[kept], c=colours, s=10, alpha=0.7)
for value, name in STICKY_FRACTIONS:
    ax.axhline(value, color="0.4", ls="--", lw=0.7)
    label_side = "top" if value == 3 / 8 else "bottom"
    ax.annotate(f"{name} ({value:.3g})", (inverse_density[-1] * 1.15, value), fontsize=7, va=label_side)
ax.set_xscale("log")
ax.set_xlim(inverse_density[0] * 0.85, inverse_density[-1] * 4)
ax.set_ylim(0, 1.1)
ax.set_xlabel("$1 / (1 - S)$ (log scale)")
ax.set_ylabel("feature dimensionality $D_i$")
ax.set_title("Each represented feature's dimensionality (green: sticky, in the checked range)")
plt.show()

# %% [markdown]
# In the {glue:text}`checked_sparsities` sparsities of the checked range,
# {glue:text}`checked_features` features are represented, and a share of
# {glue:text}`sticky_share:.2f` of them sit within ±{glue:text}`sticky_tolerance` of a sticky fraction.
#
# **Against chance.** The windows of ±{glue:text}`sticky_tolerance` around the six fractions cover
# much of the range a dimensionality can take, so a high share alone says little. The null:
# dimensionalities spread uniformly over the range the represented features' own dimensionalities
# span, whose sticky share is the windows' share of that range. We compare over every seed's model
# at the checked sparsities (not only the kept seed's), and resample those models for the interval.

# %%
units = torch.tensor([i for i in range(len(W)) if in_range[i // n_seeds]])
unit_kept = represented(W[units])
unit_dims = feature_dimensionality(W[units])
unit_sticky = near_sticky_fraction(unit_dims) & unit_kept
dims_seen = unit_dims[unit_kept]
chance = sticky_share_by_chance(dims_seen.min().item(), dims_seen.max().item())
unit_weights = with_whole_sample(resample_counts(len(units), seed=SEED))
unit_labels = np.arange(len(units))
sticky_rows = ratio_replicates(
    unit_sticky.sum(1).cpu().numpy(), unit_kept.sum(1).cpu().numpy(), unit_labels, unit_weights
)
sticky_excess = sticky_rows - chance
sticky_interval = percentile_interval(sticky_excess[1:], sticky_excess[0])
results.metric("sticky_models", len(units))
results.metric("sticky_share_all_seeds", sticky_rows[0])
results.metric("sticky_chance_share", chance)
results.metric("dimensionality_low", dims_seen.min().item())
results.metric("dimensionality_high", dims_seen.max().item())
sticky_excess_value = results.estimate("sticky_excess", sticky_excess[0], sticky_interval)

# %% [markdown]
# Over the {glue:text}`sticky_models` models, a share of {glue:text}`sticky_share_all_seeds:.2f` of
# the represented features are sticky; their dimensionalities span
# {glue:text}`dimensionality_low:.2f` to {glue:text}`dimensionality_high:.2f`, of which the windows
# cover a share of {glue:text}`sticky_chance_share:.2f`. The excess over chance is
# {glue:text}`sticky_excess:+.2f` (95% interval over the models {glue:text}`sticky_excess_low:+.2f`
# to {glue:text}`sticky_excess_high:+.2f`).
#
# ## The polytopes behind the fractions
#
# Features with a sticky dimensionality should come in small groups that share a subspace
# orthogonal to everything else. We link two represented features when
# $|\hat W_i \cdot \hat W_j| > 0.25$ and take the connected components of that graph as groups; a
# group's rank (how many dimensions it spans) and size name its shape. The threshold sits just below
# the smallest cosine between neighbouring vertices of any named polytope (the pentagon's
# $\cos 72° \approx 0.31$), so every such polytope stays one group, while the weaker interference
# between different groups does not chain them together. The table counts the shapes over the kept
# models of the checked range.

# %%
link_threshold = 0.25
shape_table = pd.DataFrame(
    [
        {"setting": setting, **shape}
        for setting in torch.nonzero(in_range).flatten().tolist()
        for shape in subspace_shapes(W[best[setting]], torch.nonzero(kept[setting]).flatten(), link_threshold)
    ]
)
named = shape_table[
    [(s, r) in POLYTOPE_NAMES for s, r in zip(shape_table["size"], shape_table["rank"], strict=True)]
]
polytope_share = results.metric(
    "polytope_feature_share", named["size"].sum() / max(shape_table["size"].sum(), 1)
)
distinct_polytopes = results.metric("distinct_polytopes", named["shape"].nunique())
# every seed's model at the checked sparsities: features by the kind of group they are in
unit_shapes = pd.DataFrame(
    [
        {"unit": u, "kind": shape_kind(shape["size"], shape["rank"]), **shape}
        for u, instance in enumerate(units.tolist())
        for shape in subspace_shapes(W[instance], torch.nonzero(unit_kept[u]).flatten(), link_threshold)
    ]
)
by_kind = unit_shapes.pivot_table(index="unit", columns="kind", values="size", aggfunc="sum", fill_value=0)
by_kind = by_kind.reindex(index=range(len(units)), columns=["trivial", "polytope", "other"], fill_value=0)
shared = (by_kind["polytope"] + by_kind["other"]).to_numpy(float)
results.metric("features_in_trivial_groups", int(by_kind["trivial"].sum()))
results.metric("features_in_polytopes", int(by_kind["polytope"].sum()))
results.metric("features_in_other_groups", int(by_kind["other"].sum()))
nontrivial_shapes = sorted(unit_shapes.loc[unit_shapes.kind == "polytope", "shape"].unique())
if shared.sum() > 0:
    polytope_rows = ratio_replicates(by_kind["polytope"].to_numpy(float), shared, unit_labels, unit_weights)
    finite = polytope_rows[1:][np.isfinite(polytope_rows[1:])]  # a resample may draw no shared group
    nontrivial_share = Estimate.of(polytope_rows[0], finite)
    results.estimate("nontrivial_polytope_share", nontrivial_share.value, nontrivial_share.interval)
    results.sentence(
        "polytope_reading",
        f"Of the features that share a subspace with others beyond an antipodal pair, a share of "
        f"{nontrivial_share.value:.2f} ({interval_text(nontrivial_share.interval, '.2f')}) form a named "
        f"polytope ({', '.join(nontrivial_shapes) or 'none'}); the rest form groups no polytope names.",
    )
else:
    nontrivial_share = None
    results.sentence(
        "polytope_reading",
        "No feature shares a subspace with others beyond an antipodal pair: none found to name.",
    )

# %%
display(
    shape_table.groupby("shape")
    .agg(groups=("size", "size"), features=("size", "sum"))
    .sort_values("features", ascending=False)
)

# %% [markdown]
# A share of {glue:text}`polytope_feature_share:.2f` of the represented features in the checked
# range belong to a group shaped like one of the named polytopes, and we find
# {glue:text}`distinct_polytopes` different ones; but a dedicated dimension and an antipodal pair
# count among those, and neither is a polytope in the paper's sense. Over every seed's model at the
# checked sparsities, {glue:text}`features_in_trivial_groups` features sit in dedicated dimensions or
# antipodal pairs, {glue:text}`features_in_polytopes` in named polytopes (triangles, squares,
# pentagons, tetrahedra, square antiprisms) and {glue:text}`features_in_other_groups` in groups of
# no named shape. {glue:md}`polytope_reading` Below, one example of each shape that spans
# two or three dimensions, searched in every seed at every sparsity (they are rarer than pairs,
# and any trained model may hold one), projected onto its own span (the top singular directions
# of the group's columns of $W$).

# %%
examples = drawable_polytopes(W, link_threshold)
drawn = results.metric("drawn_polytopes", len(examples))

# %%
if examples:
    fig = plt.figure(figsize=(3.2 * len(examples), 3.2))
    for panel, example in enumerate(examples):
        projection = "3d" if example["rank"] == 3 else None
        ax = fig.add_subplot(1, len(examples), panel + 1, projection=projection)
        setting, seed = divmod(example["instance"], n_seeds)
        polytope_drawing(
            ax,
            project_onto_span(W[example["instance"]], example["group"], example["rank"]),
            f"{example['shape']}, $1/(1-S)$ = {inverse_density[setting]:.1f}, seed {seed}",
        )
    fig.suptitle("Learned polytopes, each projected onto its own subspace")
    plt.show()
else:
    print("No named polytope spanning two or three dimensions was found in this run.")

# %% [markdown]
# ## Claims

# %%
shapes_found = sorted(named["shape"].unique())
PLATEAU = Band(low=2)  # a plateau: at least two consecutive sparsities
results.claim(
    "half_plateau",
    "Dimensions per feature has a plateau at 1/2 as sparsity grows "
    "(all represented features in antipodal pairs).",
    "a plateau at 1/2 (200 features in 20 dimensions)",
    f"{plateau_length.value:.0f} consecutive sparsities within ±{PLATEAU_TOLERANCE} of 1/2 "
    f"{interval_text(plateau_length.interval, '.0f')} ({section.n_features} features in "
    f"{section.n_hidden} dimensions)",
    criterion=(
        f"the longest run of consecutive sparsities at which dimensions per feature (the lowest-loss seed's) "
        f"is within ±{PLATEAU_TOLERANCE} of 1/2, with its bootstrap interval over each sparsity's seeds: "
        "yes if the 95% interval lies at 2 sparsities or more, no if wholly below 2, partly if it straddles 2"
    ),
    holds=PLATEAU.verdict(plateau_length.interval),
    estimate=plateau_length.value,
    interval=plateau_length.interval,
)
ABOVE_CHANCE = Band(low=0.0)
results.claim(
    "sticky_fractions",
    "Feature dimensionalities cluster at sticky fractions 1, 3/4, 2/3, 1/2, 2/5, 3/8.",
    "most features at these fractions (paper's scatter)",
    f"{sticky_rows[0]:.0%} of the represented features within ±{STICKY_TOLERANCE} of one, "
    f"against {chance:.0%} by chance: "
    f"excess {sticky_excess[0]:+.2f} {interval_text(sticky_interval, '+.2f')} over {len(units)} models",
    criterion=(
        f"the share of represented features within ±{STICKY_TOLERANCE} of a sticky fraction, minus the share "
        "dimensionalities spread uniformly over their observed range would have, over every seed's model "
        "at the sparsities where dimensions per feature is in [1/3, 1], with its bootstrap interval over "
        f"those models: {ABOVE_CHANCE.rule()}"
    ),
    holds=ABOVE_CHANCE.verdict(sticky_interval),
    estimate=sticky_excess[0],
    interval=sticky_interval,
)
MOST = Band(low=0.5)
results.claim(
    "uniform_polytopes",
    "Features sharing a subspace form uniform polytopes (triangles, pentagons, tetrahedra, ...).",
    "each sticky fraction is one polytope in its own subspace",
    (
        f"{nontrivial_share.value:.0%} of the features in groups beyond dedicated dimensions and "
        f"antipodal pairs form a named polytope {interval_text(nontrivial_share.interval, '.2f')}; shapes: "
        f"{', '.join(nontrivial_shapes) or 'none'}"
        if nontrivial_share
        else "no feature shares a subspace beyond an antipodal pair: none found"
    ),
    criterion=(
        "among the represented features that share a subspace with others beyond an antipodal pair, over "
        "every seed's model at the checked sparsities, the share in a named polytope (triangle, square, "
        f"pentagon, tetrahedron, square antiprism), with its bootstrap interval over those models: "
        f"{MOST.rule()}; no if there are no such features"
    ),
    holds=MOST.verdict(nontrivial_share.interval) if nontrivial_share else "no",
    estimate=nontrivial_share.value if nontrivial_share else None,
    interval=nontrivial_share.interval if nontrivial_share else None,
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# Dimensions per feature stays within ±{glue:text}`plateau_tolerance` of $1/2$ for
# {glue:text}`plateau_length:.0f` consecutive sparsities. Over every seed's model at the checked
# sparsities, a share of {glue:text}`sticky_share_all_seeds:.2f` of the represented features sit
# within ±{glue:text}`sticky_tolerance` of a sticky fraction, where dimensionalities spread
# uniformly over the same range would put
# {glue:text}`sticky_chance_share:.2f`; {glue:text}`features_in_polytopes` features form named
# polytopes beyond dedicated dimensions and antipodal pairs, and {glue:text}`features_in_other_groups`
# share subspaces in groups of no named shape. Our model has {glue:text}`n_features` features in
# {glue:text}`n_hidden` dimensions, against the paper's 200 in 20; the claim table gives the
# verdicts.
