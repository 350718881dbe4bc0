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
# # Superposition as sparsity grows: linear and ReLU models
#
# The second experiment of *Toy Models of Superposition* {cite}`elhage2022toy` asks what the
# nonlinearity buys. Twenty features of decreasing importance are squeezed into five hidden
# dimensions, once by a purely linear model and once by the paper's model with a ReLU read-out,
# at sparsities from fully dense to 99.9% zeros.
#
# **The claim.** A linear model behaves like PCA at every sparsity: it keeps an orthogonal basis
# for the five most important features and drops the other fifteen, since any interference it
# admits costs it as much as the feature it adds. With a ReLU the picture changes as features
# become sparse: the model represents more features than it has dimensions, packing them into
# shared directions (*superposition*) and letting the ReLU filter out the small interference of
# rarely co-occurring features.
#
# **The model.** For each instance, $h = W x$ and $x' = \mathrm{act}(W^\top h + b)$ with
# $W \in \mathbb{R}^{5 \times 20}$ and act the identity (linear) or a ReLU, trained to minimise
# $\sum_i I_i (x_i - x'_i)^2$ with importance $I_i = 0.7^i$. Each feature is present with
# probability $1 - S$ and a magnitude from $\mathrm{Uniform}[0, 1)$. Each model trains every
# sparsity and several random seeds together as one batched model. The `paper` profile also
# trains the authors' reference configuration, 100 features in 20 dimensions with importance
# $100^{-t}$ for $t$ evenly spaced in $[0, 1]$.

# %% tags=["parameters"]
PROFILE = "cpu"  # smoke | cpu | paper (see helpers/profiles.py)
SEED = 0  # everything random in this run derives from it
RESULTS_DIR = None  # where results.json goes; None: the cache's interactive folder
OVERRIDES = {}  # e.g. {"toy.steps": 2000}

# %% tags=["hide-input"]

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

from helpers.book.results import verdict
from helpers.book.section import scale_table, start_section
from helpers.toys.figures import norm_bar_grid
from helpers.toys.geometry import mean_superposition, represented
from helpers.toys.models import ToyModel
from helpers.toys.sweep import sweep_features, train_sweep

config, device, results, data_source, init_generator = start_section(
    "tms_sparsity", PROFILE, SEED, RESULTS_DIR, OVERRIDES
)

# %% [markdown]
# ## Our scale
#
# The two models and their sparsities are the paper's at every profile; the smaller profiles train
# from fewer seeds per sparsity (`smoke` also for fewer steps), and only `paper` trains the
# 100-feature reference model.

# %% tags=["hide-input"]
display(scale_table(config, "tms_sparsity"))

# %% [markdown]
# ## Training one batched model per architecture
#
# Each architecture is one batched model whose instances are all sparsities times several random
# initialisations; we keep the lowest-loss seed of each sparsity, since these toy models often
# settle in local minima.

# %%
section, training = config.tms_sparsity, config.toy
sparsities = torch.tensor(section.sparsities)
n_settings, n_seeds = len(sparsities), training.seeds_per_setting
importance = (section.importance_decay ** torch.arange(section.n_features, dtype=torch.float32)).to(device)
features = sweep_features(1 - sparsities, n_seeds, section.n_features, device)
sweeps = {
    activation: train_sweep(
        ToyModel(
            n_settings * n_seeds,
            section.n_features,
            section.n_hidden,
            activation,
            generator=init_generator,
            device=device,
        ),
        features,
        importance,
        n_seeds,
        training,
        data_source,
    )
    for activation in ("linear", "relu")
}

# %%
results.metric("instances_per_model", n_settings * n_seeds)
train_seconds = results.metric("train_seconds", sum(sweep.seconds for sweep in sweeps.values()))

# %% [markdown]
# Each of the two models trained {glue:text}`instances_per_model` instances at once; both took
# {glue:text}`train_seconds:.1f` seconds together.
#
# ## What the models learn
#
# The Gram matrix $W^\top W$ shows which features each model represents (a bright diagonal entry)
# and which share directions (off-diagonal entries). Top row: the linear model; bottom row: ReLU.

# %%
names = {"linear": "linear", "relu": "ReLU"}
setting_titles = [f"$S$ = {s:g}" for s in sparsities.tolist()]
fig, axes = plt.subplots(2, n_settings, figsize=(11, 4.4), sharex=True, sharey=True)
for row, (activation, sweep) in enumerate(sweeps.items()):
    for column, instance in enumerate(sweep.best.tolist()):
        ax = axes[row, column]
        gram = ax.imshow(sweep.W[instance].T @ sweep.W[instance], cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title(setting_titles[column], fontsize="small")
        ax.set_xticks([0, section.n_features - 1])
        ax.set_yticks([0, section.n_features - 1])
        ax.grid(False)
    axes[row, 0].set_ylabel(f"{names[activation]}: feature")
fig.colorbar(gram, ax=axes, shrink=0.7, pad=0.01, label="$W^\\top W$ entry")
fig.suptitle(f"$W^\\top W$ of the kept seed: {section.n_features} features in {section.n_hidden} dimensions")
plt.show()

# %% [markdown]
# The same models drawn as the paper draws them: one bar per feature (most important on top), its
# length the norm $\lVert W_i \rVert$ and its colour how much the feature shares its direction with
# the others, $\sum_{j \ne i} (\hat W_i \cdot W_j)^2$ (dark: a dimension of its own).

# %%
fig = norm_bar_grid(
    {names[a]: sweep.W[sweep.best] for a, sweep in sweeps.items()}, setting_titles, height=5.2
)
fig.suptitle("Feature norms coloured by superposition (kept seed per sparsity)")
plt.show()

# %% [markdown]
# ## Counting represented features
#
# A feature counts as represented when $\lVert W_i \rVert > 0.5$. The grey dots are the individual
# seeds, the line the kept (lowest-loss) seed of each sparsity.

# %%
counts = {a: represented(sweep.W).sum(dim=1) for a, sweep in sweeps.items()}
best_counts = {a: counts[a][sweep.best] for a, sweep in sweeps.items()}
mean_shared = {a: mean_superposition(sweep.W[sweep.best]) for a, sweep in sweeps.items()}

# %%
fig, (ax_count, ax_super) = plt.subplots(1, 2, figsize=(10, 3.4))
positions = torch.arange(n_settings)
for index, (activation, colour) in enumerate((("linear", "C0"), ("relu", "C3"))):
    offset = (index - 0.5) * 0.15
    for seed_counts in sweeps[activation].per_setting(counts[activation]).T:
        ax_count.scatter(positions + offset, seed_counts, color="0.7", s=10)
    ax_count.plot(positions + offset, best_counts[activation], "o-", color=colour, label=names[activation])
    ax_super.plot(positions, mean_shared[activation], "o-", color=colour, label=names[activation])
ax_count.axhline(section.n_hidden, color="0.3", ls=":", label=f"$m$ = {section.n_hidden} dimensions")
ax_count.set_ylabel("features with $\\|W_i\\| > 0.5$")
ax_super.set_ylabel("mean superposition\nof represented features")
for ax in (ax_count, ax_super):
    ax.set_xticks(positions.tolist(), [f"{s:g}" for s in sparsities.tolist()])
    ax.set_xlabel("sparsity $S$")
    ax.legend(loc="upper left", fontsize="small")
fig.suptitle("More features and more sharing as features get sparser, but only with a ReLU")
plt.show()

# %%
for activation in sweeps:
    for index, count in enumerate(best_counts[activation].tolist()):
        results.metric(f"{activation}_represented_{index}", count)
    results.metric(f"{activation}_superposition_dense", mean_shared[activation][0])
    results.metric(f"{activation}_superposition_sparse", mean_shared[activation][-1])
linear_counts, relu_counts = best_counts["linear"], best_counts["relu"]
linear_top_m = all(
    set(torch.nonzero(kept).flatten().tolist()) == set(range(section.n_hidden))
    for kept in represented(sweeps["linear"].W[sweeps["linear"].best])
)
relu_dense = results.metric("relu_represented_dense", relu_counts[0])
relu_sparse = results.metric("relu_represented_sparse", relu_counts[-1])
relu_drops = results.metric("relu_count_drops", int((relu_counts.diff() < 0).sum()))
superposition_drops = results.metric("relu_superposition_drops", int((mean_shared["relu"].diff() < 0).sum()))
linear_superposition_max = results.metric("linear_superposition_max", mean_shared["linear"].max())
for activation, sweep in sweeps.items():
    results.metric(f"{activation}_single_seed_miss_rate", sweep.seed_miss_rate(counts[activation]))

# %%
display(
    pd.DataFrame(
        {
            "S": sparsities.numpy(),
            "linear: features": linear_counts.numpy(),
            "ReLU: features": relu_counts.numpy(),
            "ReLU: mean superposition": mean_shared["relu"].numpy().round(3),
            "linear loss": sweeps["linear"].loss[sweeps["linear"].best].numpy().round(5),
            "ReLU loss": sweeps["relu"].loss[sweeps["relu"].best].numpy().round(5),
        }
    ).style.hide(axis="index")
)

# %% [markdown]
# The linear model represents between {glue:text}`linear_represented_0` and
# {glue:text}`linear_represented_5` features from the densest to the sparsest setting, with a mean
# superposition of at most {glue:text}`linear_superposition_max:.3f`: an orthogonal basis. The ReLU
# model goes from {glue:text}`relu_represented_dense` features at $S = 0$ to
# {glue:text}`relu_represented_sparse` at the sparsest setting, and the mean superposition of its
# represented features from {glue:text}`relu_superposition_dense:.2f` to
# {glue:text}`relu_superposition_sparse:.2f`. A single seed would often have told a different
# story: {glue:text}`relu_single_seed_miss_rate:.0f`% of the ReLU model's individual seeds (and
# {glue:text}`linear_single_seed_miss_rate:.0f`% of the linear model's) end with a different count
# than the kept seed of their sparsity.

# %% [markdown]
# ## The reference configuration: 100 features in 20 dimensions
#
# The authors' own code trains the ReLU model with 100 features in 20 dimensions and importance
# $100^{-t}$, at the same sparsities here. Five times the features per instance cost five times
# the training time, more than the `smoke` and `cpu` budgets of a 2-core laptop allow, so only the
# `paper` profile trains it (with `tms_sparsity.reference_seeds` seeds per sparsity; set it above
# zero in `OVERRIDES` to train it here). When it ran, the figure below and the last row of the
# claim table show it.

# %%
reference = None
if section.reference_seeds:
    reference_importance = (100 ** -torch.linspace(0, 1, section.reference_features)).to(device)
    reference = train_sweep(
        ToyModel(
            n_settings * section.reference_seeds,
            section.reference_features,
            section.reference_hidden,
            "relu",
            generator=init_generator,
            device=device,
        ),
        sweep_features(1 - sparsities, section.reference_seeds, section.reference_features, device),
        reference_importance,
        section.reference_seeds,
        training,
        data_source,
    )
    reference_counts = represented(reference.W[reference.best]).sum(dim=1)
    print("features represented, S = 0 → 0.999:", " → ".join(map(str, reference_counts.tolist())))
else:
    print(f"not trained at the {config.name} profile (tms_sparsity.reference_seeds = 0)")

# %%
if reference is not None:
    reference_dense = results.metric("reference_represented_dense", reference_counts[0])
    reference_sparse = results.metric("reference_represented_sparse", reference_counts[-1])
    reference_drops = results.metric("reference_count_drops", int((reference_counts.diff() < 0).sum()))
    results.metric("reference_train_seconds", reference.seconds)

# %%
if reference is not None:
    fig = norm_bar_grid({"ReLU 100→20": reference.W[reference.best]}, setting_titles, height=4.2)
    for ax in fig.axes[:-1]:
        ax.set_yticks([0, 19, 39, 59, 79, 99])
    fig.suptitle("The reference model: 100 features in 20 dimensions (kept seed per sparsity)")
    plt.show()

# %% [markdown]
# ## Claims

# %%
m = section.n_hidden
linear_all_m = bool((linear_counts == m).all())
results.claim(
    "linear_pca",
    "Without a ReLU the model keeps only the m most important features, orthogonally, at every sparsity.",
    f"{m} of {section.n_features} features (the top {m}) at every S, no superposition",
    f"{' / '.join(map(str, linear_counts.tolist()))} features from S = 0 to 0.999"
    f"{' (the top ' + str(m) + ')' if linear_top_m else ' (not always the top ones)'}; "
    f"mean superposition ≤ {linear_superposition_max:.3f}",
    criterion=(
        f"yes if the linear model represents exactly the top {m} features at every sparsity and its mean "
        f"superposition stays < 0.05; partly if it represents exactly {m} at every sparsity"
    ),
    holds=verdict(linear_all_m and linear_top_m and linear_superposition_max < 0.05, linear_all_m),
)
results.claim(
    "relu_superposition",
    "With a ReLU the model represents more features than dimensions as sparsity grows.",
    f"{m} features when dense; more than {m}, in superposition, as S grows",
    f"{' → '.join(map(str, relu_counts.tolist()))} ({relu_drops} drops)",
    criterion=(
        f"yes if the ReLU model represents exactly {m} features at S = 0, more than {m} at the sparsest S, "
        f"and its count drops at most once; partly if more than {m} at the sparsest S"
    ),
    holds=verdict(relu_dense == m and relu_sparse > m and relu_drops <= 1, relu_sparse > m),
)
shared_dense, shared_sparse = mean_shared["relu"][0], mean_shared["relu"][-1]
results.claim(
    "superposition_rises",
    "The represented features share their directions more as sparsity grows.",
    "superposition colour rises from none (dense) to strong (sparse)",
    f"mean superposition {shared_dense:.2f} → {shared_sparse:.2f} ({superposition_drops} drops)",
    criterion=(
        "yes if the ReLU model's mean superposition at the sparsest S exceeds that at S = 0 by more than "
        "0.1 and drops at most once in between; partly if it ends higher than it starts"
    ),
    holds=verdict(
        shared_sparse > shared_dense + 0.1 and superposition_drops <= 1, shared_sparse > shared_dense
    ),
)
if reference is not None:
    hidden = section.reference_hidden
    results.claim(
        "reference_100_20",
        f"The reference {section.reference_features}→{hidden} ReLU model shows the same progression.",
        f"about {hidden} features when dense, many more than {hidden} when sparse",
        f"{' → '.join(map(str, reference_counts.tolist()))} ({reference_drops} drops, "
        f"{section.reference_seeds} seeds per sparsity)",
        criterion=(
            f"yes if it represents at most {hidden} features at S = 0, more than {hidden} at the sparsest S, "
            f"and its count drops at most once; partly if more than {hidden} at the sparsest S"
        ),
        holds=verdict(
            reference_dense <= hidden and reference_sparse > hidden and reference_drops <= 1,
            reference_sparse > hidden,
        ),
    )
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# The nonlinearity is what makes superposition pay. A linear model cannot undo interference, so it
# settles for PCA: here it keeps {glue:text}`linear_represented_0` features at $S = 0$ and
# {glue:text}`linear_represented_5` at the sparsest setting, with a mean superposition of at most
# {glue:text}`linear_superposition_max:.3f`. A ReLU read-out clips the small negative interference
# that sparse features rarely produce together, and the model then stores more features than it has
# dimensions: {glue:text}`relu_represented_dense` at $S = 0$, {glue:text}`relu_represented_sparse`
# at the sparsest setting, with the mean superposition of its features rising from
# {glue:text}`relu_superposition_dense:.2f` to {glue:text}`relu_superposition_sparse:.2f`. The
# claim table gives the verdicts.
