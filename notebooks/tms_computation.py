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
# # Computation in superposition and the privileged basis
#
# The last sections of *Toy Models of Superposition* {cite}`elhage2022toy` give the hidden layer a
# ReLU of its own. Its dimensions are then *neurons*: the activation function singles out the
# basis, and we can ask which features each neuron responds to. The paper studies two models.
#
# - **The privileged-basis model**: $h = \mathrm{ReLU}(W x)$ and $x' = \mathrm{ReLU}(W^\top h + b)$,
#   trained to reconstruct its input, as in the earlier sections but with neurons.
# - **Computation in superposition**: $y = \mathrm{ReLU}(W_\text{out}\,\mathrm{ReLU}(W_\text{in} x) + b)$
#   trained towards $|x|$, with inputs $x_i \in [-1, 1]$. The absolute value is a real computation:
#   $|x| = \mathrm{ReLU}(x) + \mathrm{ReLU}(-x)$ needs two neurons per feature if each neuron does one
#   job.
#
# **The claims.** With dense inputs every neuron is *monosemantic*: it reads one feature. As the
# inputs become sparse, neurons become *polysemantic*, reading several features, and the model
# computes $|x|$ for more features than it has neurons.
#
# **Two definitions** make the claims measurable (both live in `helpers/toys/computation.py`):
#
# - A feature is **computed** when, probing the model with that feature alone at evenly spaced
#   values in $[-1, 1]$ and every other feature off, the squared error of its output against $|x|$
#   is less than a fraction {glue:text}`computed_threshold:.2f` of the error of predicting zero.
#   Since the two signs are two separate pieces of work, we also score each *half*,
#   $\mathrm{ReLU}(x)$ and $\mathrm{ReLU}(-x)$, on its own half of the grid. A monosemantic model
#   spends at least one neuron per computed half.
# - Neuron $n$ **reads** feature $f$ when $|W_\text{in}[n, f]|$ exceeds a fraction
#   {glue:text}`reads_fraction:.2f` of the neuron's largest input weight; a neuron is
#   **polysemantic** when it reads more than one feature. Neurons whose largest weight is below
#   {glue:text}`unused_fraction:.2f` of the model's largest weight are unused and not counted.

# %% tags=["parameters"]
PROFILE = "cpu"  # smoke | cpu | paper (see helpers/profiles.py)
SEED = 0  # everything random in this run derives from it
RESULTS_DIR = None  # where results.json goes; None: the cache's interactive folder
OVERRIDES = {}  # e.g. {"tms_computation.steps": 2000}

# %% tags=["hide-input"]
from dataclasses import replace

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

from helpers.book.results import verdict
from helpers.book.section import scale_table, start_section
from helpers.toys import computation
from helpers.toys.computation import (
    computed_features,
    neuron_order,
    polysemantic_fraction,
    single_feature_error,
    used_neurons,
)
from helpers.toys.figures import neuron_heatmap_row
from helpers.toys.models import AbsoluteValueModel, ToyModel
from helpers.toys.sweep import sweep_features, train_sweep

config, device, results, data_source, init_generator = start_section(
    "tms_computation", PROFILE, SEED, RESULTS_DIR, OVERRIDES
)

# %% [markdown]
# ## Our scale
#
# The paper's absolute-value model has 100 features and 40 neurons; at the smaller profiles ours
# is smaller, trains for fewer steps from fewer seeds, and stops the sweep at a denser probability.

# %% tags=["hide-input"]
display(scale_table(config, "tms_computation"))

# %% [markdown]
# ## How many samples the sparse settings need
#
# Both models are trained at the feature probabilities below, each from several random
# initialisations, all as instances of one batched model; we keep the lowest-loss instance of each
# setting. Sparsity makes training expensive in an unusual way: at probability $p$ a feature is seen
# in only a fraction $p$ of the samples, so the sparsest setting sees each feature about
# $\text{steps} \times \text{batch} \times p$ times over the whole run. We therefore stop the sweep
# at the probability where that count is still in the thousands for our budget, rather than train
# settings whose features the model has barely met, and we give these models their own number of
# steps and learning rate.

# %%
section, training = config.tms_computation, config.toy
probability = torch.tensor(section.probabilities)
n_settings, n_seeds = len(probability), training.seeds_per_setting
setting_titles = [f"$p$ = {p:g}" for p in probability.tolist()]

# %%
results.metric("computed_threshold", computation.COMPUTED_ERROR)
results.metric("reads_fraction", computation.READS_FRACTION)
results.metric("unused_fraction", computation.UNUSED_FRACTION)
sightings = results.metric(
    "sparsest_sightings_per_feature", round(section.steps * section.batch_size * probability[-1].item())
)
results.metric("sparsest_probability", probability[-1].item())
results.metric("densest_probability", probability[0].item())
results.metric("n_settings", n_settings)
seeds_per_setting = results.metric("seeds_per_setting", n_seeds)

# %% [markdown]
# The sweep runs over {glue:text}`n_settings` feature probabilities from
# {glue:text}`densest_probability` down to {glue:text}`sparsest_probability`, with
# {glue:text}`seeds_per_setting` seeds each; at the sparsest, each feature is seen about
# {glue:text}`sparsest_sightings_per_feature:,` times during training.
#
# ## The privileged basis: which features do neurons read?

# %%
basis_importance = (section.importance_decay ** torch.arange(section.basis_features, dtype=torch.float32)).to(
    device
)
basis_training = replace(training, steps=section.basis_steps, batch_size=section.batch_size, lr=section.lr)
basis = train_sweep(
    ToyModel(
        n_settings * n_seeds,
        section.basis_features,
        section.basis_neurons,
        hidden_relu=True,
        generator=init_generator,
        device=device,
    ),
    sweep_features(probability, n_seeds, section.basis_features, device),
    basis_importance,
    n_seeds,
    basis_training,
    data_source,
)
basis_W = basis.W
basis_model = basis.model.cpu()
basis_error = single_feature_error(
    basis_model,
    basis_model.target,
    basis_model.n_instances,
    section.basis_features,
    torch.linspace(0, 1, section.probe_points)[1:],
)
basis_computed = computed_features(basis_error)[basis.best].sum(dim=1)
basis_poly = polysemantic_fraction(basis_W)[basis.best]

# %%
fig = neuron_heatmap_row(basis_W[basis.best], setting_titles, neuron_order, figsize=(11, 2.6))
fig.suptitle(
    "Privileged basis, $h = \\mathrm{ReLU}(W x)$: neuron-by-feature weights, dense (left) to sparse (right)"
)
plt.show()

# %% [markdown]
# Each panel is the kept model at one feature probability: rows are neurons (sorted by the feature
# they read most strongly), columns are features in order of importance ($I_i =$
# {glue:text}`importance_decay:.1f`$^i$). Dense inputs give one feature per neuron, the most
# important ones; as the inputs thin out, neurons begin to carry several features at once.

# %%
results.metric("basis_train_seconds", basis.seconds)
results.metric("importance_decay", section.importance_decay)
basis_poly_dense = results.metric("basis_polysemantic_dense", basis_poly[0].item())
basis_poly_sparse = results.metric("basis_polysemantic_sparse", basis_poly[-1].item())
basis_computed_dense = results.metric("basis_computed_dense", basis_computed[0].item())
basis_computed_sparse = results.metric("basis_computed_sparse", basis_computed[-1].item())
results.metric("basis_neurons", section.basis_neurons)
basis_features = results.metric("basis_features", section.basis_features)

# %% [markdown]
# With {glue:text}`basis_features` features and {glue:text}`basis_neurons` neurons, the share of
# polysemantic neurons goes from {glue:text}`basis_polysemantic_dense:.0%` at the densest setting to
# {glue:text}`basis_polysemantic_sparse:.0%` at the sparsest, and the number of features the model
# reconstructs (same error criterion, probes in $(0, 1]$) from {glue:text}`basis_computed_dense` to
# {glue:text}`basis_computed_sparse`.
#
# ## Computing the absolute value in superposition

# %%
importance = (section.importance_decay ** torch.arange(section.n_features, dtype=torch.float32)).to(device)
absolute = train_sweep(
    AbsoluteValueModel(
        n_settings * n_seeds, section.n_features, section.n_neurons, generator=init_generator, device=device
    ),
    sweep_features(probability, n_seeds, section.n_features, device, signed=True),
    importance,
    n_seeds,
    replace(basis_training, steps=section.steps),
    data_source,
)
model, best = absolute.model.cpu(), absolute.best
W_in = model.W_in.detach()
grid = torch.linspace(-1, 1, section.probe_points)
error = single_feature_error(model, model.target, model.n_instances, section.n_features, grid)
half_errors = [
    single_feature_error(model, model.target, model.n_instances, section.n_features, half)
    for half in (grid[grid > 0], grid[grid < 0])
]
computed = computed_features(error)
halves = sum(computed_features(half) for half in half_errors).to(torch.int64)

# %%
results.metric("abs_train_seconds", absolute.seconds)
n_instances = results.metric("instances", model.n_instances)

# %%
fig = neuron_heatmap_row(W_in[best], setting_titles, neuron_order, figsize=(12, 3.2))
fig.suptitle("Absolute value model: the input weights $W_\\mathrm{in}$, dense (left) to sparse (right)")
plt.show()

# %% [markdown]
# At the densest setting the model spends two neurons on each of the most important features, one
# with a positive and one with a negative weight: exactly the construction
# $\mathrm{ReLU}(x) + \mathrm{ReLU}(-x)$. Sparser inputs spread the neurons over many more features.
# The counts, for the kept instance of each setting:

# %%
n_computed = computed[best].sum(dim=1)
n_halves = halves[best].sum(dim=1)
poly = polysemantic_fraction(W_in)[best]
n_used = used_neurons(W_in)[best].sum(dim=1)

# %%
display(
    pd.DataFrame(
        {
            "feature probability": probability.numpy(),
            "|x| computed (features)": n_computed.numpy(),
            "halves computed": n_halves.numpy(),
            "neurons used": n_used.numpy(),
            "polysemantic neurons": [f"{v:.0%}" for v in poly.tolist()],
            "loss (kept seed)": [f"{v:.2e}" for v in absolute.loss[best].tolist()],
        }
    ).style.hide(axis="index")
)

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
left.plot(probability, n_computed, "o-", label="$|x|$ computed (both signs)")
left.plot(probability, n_halves, "s-", label="halves computed ($\\mathrm{ReLU}(x)$ or $\\mathrm{ReLU}(-x)$)")
left.axhline(section.n_neurons, color="0.4", ls="--", label="number of neurons")
left.set_ylabel("count")
left.set_title("What the model computes")
left.legend(fontsize="small")
right.plot(probability, poly, "o-", color="C3", label="absolute value model")
right.plot(probability, basis_poly, "s--", color="C4", label="privileged-basis model")
right.set_ylim(-0.05, 1.05)
right.set_ylabel("share of used neurons")
right.set_title("Polysemantic neurons")
right.legend(fontsize="small")
for ax in (left, right):
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("feature probability (log scale, sparser to the right)")
plt.show()

# %%
n_neurons = results.metric("n_neurons", section.n_neurons)
results.metric("n_features", section.n_features)
most = int(n_computed.argmax())
computed_max = results.metric("abs_computed_max", n_computed[most].item())
results.metric("abs_computed_max_probability", probability[most].item())
most_halves = int(n_halves.argmax())
halves_max = results.metric("abs_halves_max", n_halves[most_halves].item())
results.metric("abs_halves_max_probability", probability[most_halves].item())
computed_dense = results.metric("abs_computed_dense", n_computed[0].item())
halves_dense = results.metric("abs_halves_dense", n_halves[0].item())
halves_sparse = results.metric("abs_halves_sparse", n_halves[-1].item())
poly_dense = results.metric("abs_polysemantic_dense", poly[0].item())
poly_sparse = results.metric("abs_polysemantic_sparse", poly[-1].item())
poly_drops = results.metric("abs_polysemantic_drops", int((poly.diff() < -1e-6).sum()))
fewer_halves = absolute.per_setting(halves.sum(dim=1)) < n_halves[:, None]
seed_miss_rate = results.metric("single_seed_miss_rate", 100 * fewer_halves.double().mean().item())

# %% [markdown]
# With {glue:text}`n_neurons` neurons for {glue:text}`n_features` features, the dense model computes
# $|x|$ for {glue:text}`abs_computed_dense` features ({glue:text}`abs_halves_dense` halves, one neuron
# each). The most features computed in full at any setting is {glue:text}`abs_computed_max`
# (at $p =$ {glue:text}`abs_computed_max_probability`), while the number of computed halves peaks
# at {glue:text}`abs_halves_max` (at $p =$ {glue:text}`abs_halves_max_probability`): in the sparse
# regime the model prefers to compute *one* sign of many features rather than both signs of a few,
# and a feature computed on one side only has a relative error of one half, which our criterion
# does not count as computed. Polysemantic neurons go from {glue:text}`abs_polysemantic_dense:.0%`
# to {glue:text}`abs_polysemantic_sparse:.0%` of the used neurons. Across settings,
# {glue:text}`single_seed_miss_rate:.0f`% of individual seeds compute fewer halves than the kept one.

# %% [markdown]
# ## Claims

# %%
threshold = computation.COMPUTED_ERROR
results.claim(
    "computes_more_than_neurons",
    "With sparse inputs the model computes |x| for more features than it has neurons.",
    "sparse inputs: |x| computed in superposition for more features than neurons",
    f"at most {computed_max} features fully computed with {n_neurons} neurons; "
    f"{halves_max} halves (ReLU(x) or ReLU(−x)) computed at p = {probability[most_halves]:g}",
    criterion=(
        f"yes if at some probability |x| is computed (relative error < {threshold:g} on [−1, 1]) for more "
        f"than {n_neurons} features (the number of neurons); partly if more than {n_neurons} halves are"
    ),
    holds=verdict(computed_max > n_neurons, halves_max > n_neurons),
)
results.claim(
    "neurons_become_polysemantic",
    "Absolute-value model: neurons are monosemantic with dense inputs and polysemantic as sparsity grows.",
    "dense: one feature per neuron; sparse: neurons read several features",
    f"polysemantic neurons {poly_dense:.0%} → {poly_sparse:.0%} "
    f"({' → '.join(f'{v:.0%}' for v in poly.tolist())})",
    criterion="yes if the share of polysemantic neurons is higher at the sparsest probability than at the "
    "densest and falls at most once along the sweep; partly if it is higher at the sparsest",
    holds=verdict(poly_sparse > poly_dense and poly_drops <= 1, poly_sparse > poly_dense),
)
basis_drops = int((basis_poly.diff() < -1e-6).sum())
results.claim(
    "privileged_basis",
    "Privileged-basis model: more features than neurons with sparse inputs, polysemantic neurons.",
    "dense: monosemantic neurons for the top features; sparse: superposition across neurons",
    f"{basis_computed_dense} → {basis_computed_sparse} features reconstructed with "
    f"{section.basis_neurons} neurons; polysemantic {basis_poly_dense:.0%} → {basis_poly_sparse:.0%}",
    criterion=(
        f"yes if at the sparsest probability more than {section.basis_neurons} features are reconstructed "
        f"(relative error < {threshold:g} on (0, 1]) and the share of polysemantic neurons is higher than "
        "at the densest, having fallen at most once; partly if that share is higher"
    ),
    holds=verdict(
        basis_computed_sparse > section.basis_neurons
        and basis_poly_sparse > basis_poly_dense
        and basis_drops <= 1,
        basis_poly_sparse > basis_poly_dense,
    ),
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# A ReLU in the hidden layer makes its basis privileged. At the dense end
# {glue:text}`abs_polysemantic_dense:.0%` of the absolute-value model's neurons are polysemantic,
# and it computes $|x|$ (a positive and a negative neuron each) for
# {glue:text}`abs_computed_dense` features; at the sparsest setting
# {glue:text}`abs_polysemantic_sparse:.0%` of its neurons are polysemantic (in the
# privileged-basis model {glue:text}`basis_polysemantic_dense:.0%` →
# {glue:text}`basis_polysemantic_sparse:.0%`), and the model computes up to
# {glue:text}`abs_halves_max` halves of $|x|$ with {glue:text}`n_neurons` neurons, but $|x|$ in full
# for at most {glue:text}`abs_computed_max` features. Whether the whole absolute value is computed
# for more features than there are neurons depends on the scale of the run; the claim table gives
# the verdicts, half-computed features included.
