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
from typing import NamedTuple

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

from helpers.book.section import start_section
from helpers.toys.figures import superposition_bars
from helpers.toys.geometry import represented, superposition
from helpers.toys.models import (
    SparseFeatures,
    ToyModel,
    evaluate_loss,
    lowest_loss_instances,
    repeat_per_seed,
    train_toy_model,
)

config, device, results, data_source, init_generator = start_section(
    "tms_sparsity", PROFILE, SEED, RESULTS_DIR, OVERRIDES
)
section, training = config.tms_sparsity, config.toy
sparsities = torch.tensor(section.sparsities)
n_settings, n_seeds = len(sparsities), training.seeds_per_setting
print(f"profile {config.name} on {device}: {training}")
print(section)

# %% [markdown]
# ## Training one batched model per architecture
#
# Each architecture is one batched model whose instances are all sparsities times several random
# initialisations; we keep the lowest-loss seed of each sparsity, since these toy models often
# settle in local minima.


# %%
class Sweep(NamedTuple):
    """A trained sweep: `W` of every instance, their losses, and the kept seed of each sparsity."""

    W: torch.Tensor
    loss: torch.Tensor
    best: torch.Tensor
    seconds: float


def train_sweep(
    activation: str, n_features: int, n_hidden: int, importance: torch.Tensor, seeds: int
) -> Sweep:
    """Train every sparsity × seed of one architecture as one model; keep the best seed per sparsity."""
    probability = repeat_per_seed(1 - sparsities, seeds)[:, None].expand(-1, n_features).contiguous()
    features = SparseFeatures(probability).to(device)
    importance = importance.to(device)
    model = ToyModel(
        len(probability), n_features, n_hidden, activation, generator=init_generator, device=device
    )
    log = train_toy_model(
        model,
        features,
        importance,
        steps=training.steps,
        batch_size=training.batch_size,
        lr=training.lr,
        source=data_source,
        log_every=training.log_every,
    )
    loss = evaluate_loss(model, features, importance, training.eval_samples, data_source)
    return Sweep(model.W.detach().cpu(), loss, lowest_loss_instances(loss, seeds), log.seconds)


importance = section.importance_decay ** torch.arange(section.n_features, dtype=torch.float32)
sweeps = {
    activation: train_sweep(activation, section.n_features, section.n_hidden, importance, n_seeds)
    for activation in ("linear", "relu")
}
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
fig, axes = plt.subplots(2, n_settings, figsize=(11, 4.4), sharex=True, sharey=True)
for row, (activation, sweep) in enumerate(sweeps.items()):
    for column, instance in enumerate(sweep.best.tolist()):
        ax = axes[row, column]
        gram = ax.imshow(sweep.W[instance].T @ sweep.W[instance], cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title(f"S = {sparsities[column]:g}", fontsize="small")
        ax.set_xticks([0, section.n_features - 1])
        ax.set_yticks([0, section.n_features - 1])
    axes[row, 0].set_ylabel(f"{names[activation]}: feature")
fig.colorbar(gram, ax=axes, shrink=0.7, pad=0.01, label="$W^\\top W$ entry")
fig.suptitle(f"$W^\\top W$ of the kept seed: {section.n_features} features in {section.n_hidden} dimensions")
plt.show()

# %% [markdown]
# The same models drawn as the paper draws them: one bar per feature (most important on top), its
# length the norm $\lVert W_i \rVert$ and its colour how much the feature shares its direction with
# the others, $\sum_{j \ne i} (\hat W_i \cdot W_j)^2$ (dark: a dimension of its own).


# %%
def norm_bar_grid(sweeps_to_draw: dict[str, Sweep], height: float) -> plt.Figure:
    """Per-feature norm bars coloured by superposition: one row per sweep, one column per sparsity."""
    fig, axes = plt.subplots(
        len(sweeps_to_draw), n_settings, figsize=(11, height), sharex=True, sharey=True, squeeze=False
    )
    for row, (label, sweep) in enumerate(sweeps_to_draw.items()):
        for column, instance in enumerate(sweep.best.tolist()):
            scale = superposition_bars(axes[row, column], sweep.W[instance], f"S = {sparsities[column]:g}")
            axes[row, column].title.set_fontsize("small")
        axes[row, 0].set_ylabel(f"{label}: feature")
    for ax in axes[-1]:
        ax.set_xlabel("$\\|W_i\\|$")
    fig.colorbar(scale, ax=axes, shrink=0.7, pad=0.01, label="superposition")
    return fig


fig = norm_bar_grid({names[a]: sweep for a, sweep in sweeps.items()}, height=5.2)
fig.suptitle("Feature norms coloured by superposition (kept seed per sparsity)")
plt.show()

# %% [markdown]
# ## Counting represented features
#
# A feature counts as represented when $\lVert W_i \rVert > 0.5$. The grey dots are the individual
# seeds, the line the kept (lowest-loss) seed of each sparsity.

# %%
counts = {a: represented(sweep.W).sum(dim=1).reshape(n_settings, n_seeds) for a, sweep in sweeps.items()}
best_counts = {a: represented(sweep.W[sweep.best]).sum(dim=1) for a, sweep in sweeps.items()}
mean_superposition = {}
for activation, sweep in sweeps.items():
    W_best = sweep.W[sweep.best]
    kept = represented(W_best)
    mean_superposition[activation] = (superposition(W_best) * kept).sum(dim=1) / kept.sum(dim=1).clamp_min(1)

fig, (ax_count, ax_super) = plt.subplots(1, 2, figsize=(10, 3.4))
positions = torch.arange(n_settings)
for index, (activation, colour) in enumerate((("linear", "C0"), ("relu", "C3"))):
    offset = (index - 0.5) * 0.15
    for seed_index in range(n_seeds):
        ax_count.scatter(positions + offset, counts[activation][:, seed_index], color="0.7", s=10)
    ax_count.plot(positions + offset, best_counts[activation], "o-", color=colour, label=names[activation])
    ax_super.plot(positions, mean_superposition[activation], "o-", color=colour, label=names[activation])
ax_count.axhline(section.n_hidden, color="0.3", ls=":", label=f"m = {section.n_hidden} dimensions")
ax_count.set_ylabel("features with $\\|W_i\\| > 0.5$")
ax_super.set_ylabel("mean superposition\nof represented features")
for ax in (ax_count, ax_super):
    ax.set_xticks(positions.tolist(), [f"{s:g}" for s in sparsities.tolist()])
    ax.set_xlabel("sparsity S")
    ax.legend(loc="upper left", fontsize="small")
fig.suptitle("More features and more sharing as features get sparser, but only with a ReLU")
plt.show()

# %%
for activation in sweeps:
    for index, count in enumerate(best_counts[activation].tolist()):
        results.metric(f"{activation}_represented_{index}", count)
    results.metric(f"{activation}_superposition_dense", mean_superposition[activation][0])
    results.metric(f"{activation}_superposition_sparse", mean_superposition[activation][-1])
linear_counts, relu_counts = best_counts["linear"], best_counts["relu"]
linear_top_m = all(
    set(torch.nonzero(represented(sweeps["linear"].W[i])).flatten().tolist()) == set(range(section.n_hidden))
    for i in sweeps["linear"].best.tolist()
)
relu_dense = results.metric("relu_represented_dense", relu_counts[0])
relu_sparse = results.metric("relu_represented_sparse", relu_counts[-1])
relu_drops = results.metric("relu_count_drops", int((relu_counts.diff() < 0).sum()))
superposition_drops = results.metric(
    "relu_superposition_drops", int((mean_superposition["relu"].diff() < 0).sum())
)
linear_superposition_max = results.metric("linear_superposition_max", mean_superposition["linear"].max())
miss_rate = {
    a: results.metric(
        f"{a}_single_seed_miss_rate", 100 * (counts[a] != best_counts[a][:, None]).double().mean().item()
    )
    for a in sweeps
}

display(
    pd.DataFrame(
        {
            "S": sparsities.numpy(),
            "linear: features": linear_counts.numpy(),
            "ReLU: features": relu_counts.numpy(),
            "ReLU: mean superposition": mean_superposition["relu"].numpy().round(3),
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
    reference_importance = 100 ** -torch.linspace(0, 1, section.reference_features)
    reference = train_sweep(
        "relu",
        section.reference_features,
        section.reference_hidden,
        reference_importance,
        section.reference_seeds,
    )
    reference_counts = represented(reference.W[reference.best]).sum(dim=1)
    reference_dense = results.metric("reference_represented_dense", reference_counts[0])
    reference_sparse = results.metric("reference_represented_sparse", reference_counts[-1])
    reference_drops = results.metric("reference_count_drops", int((reference_counts.diff() < 0).sum()))
    results.metric("reference_train_seconds", reference.seconds)
    fig = norm_bar_grid({"ReLU 100→20": reference}, height=4.2)
    for ax in fig.axes[:-1]:
        ax.set_yticks([0, 19, 39, 59, 79, 99])
    fig.suptitle("The reference model: 100 features in 20 dimensions (kept seed per sparsity)")
    plt.show()
    print("features represented, S = 0 → 0.999:", " → ".join(map(str, reference_counts.tolist())))
else:
    print(f"not trained at the {config.name} profile (tms_sparsity.reference_seeds = 0)")

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
    "yes"
    if linear_all_m and linear_top_m and linear_superposition_max < 0.05
    else ("partly" if linear_all_m else "no"),
)
results.claim(
    "relu_superposition",
    "With a ReLU the model represents more features than dimensions as sparsity grows.",
    f"{m} features when dense; more than {m}, in superposition, as S grows",
    f"{' → '.join(map(str, relu_counts.tolist()))} ({relu_drops} drops)",
    "yes"
    if relu_dense == m and relu_sparse > m and relu_drops <= 1
    else ("partly" if relu_sparse > m else "no"),
)
results.claim(
    "superposition_rises",
    "The represented features share their directions more as sparsity grows.",
    "superposition colour rises from none (dense) to strong (sparse)",
    f"mean superposition {mean_superposition['relu'][0]:.2f} → {mean_superposition['relu'][-1]:.2f} "
    f"({superposition_drops} drops)",
    "yes"
    if mean_superposition["relu"][-1] > mean_superposition["relu"][0] + 0.1 and superposition_drops <= 1
    else ("partly" if mean_superposition["relu"][-1] > mean_superposition["relu"][0] else "no"),
)
if reference is not None:
    hidden = section.reference_hidden
    results.claim(
        "reference_100_20",
        f"The reference {section.reference_features}→{hidden} ReLU model shows the same progression.",
        f"about {hidden} features when dense, many more than {hidden} when sparse",
        f"{' → '.join(map(str, reference_counts.tolist()))} ({reference_drops} drops, "
        f"{section.reference_seeds} seeds per sparsity)",
        "yes"
        if reference_dense <= hidden and reference_sparse > hidden and reference_drops <= 1
        else ("partly" if reference_sparse > hidden else "no"),
    )
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# The nonlinearity is what makes superposition pay. A linear model cannot undo interference, so it
# settles for PCA: the most important features, each in a dimension of its own, whatever the
# sparsity. A ReLU read-out clips the small negative interference that sparse features rarely
# produce together, and the model then stores more features than it has dimensions, more of them
# and more densely packed the sparser the features are.
