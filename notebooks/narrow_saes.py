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
# # Narrow SAEs: fewer latents than true features
#
# An SAE on a language model almost certainly has fewer latents than the model has features, so
# it must choose what to represent. *Broken Latents* {cite}`chanin2024broken` studies the choice,
# and what co-occurrence does to it.
#
# **The claim.** Twenty orthogonal features in 50 dimensions, feature $i$ firing with a
# probability rising linearly to 0.3 and a magnitude falling linearly from 20 to 1. An SAE with 5
# latents, tied or untied, learns exactly the 5 features of largest expected squared error
# $p_i \cdot m_i^2$ (features 4 to 8 in the post). Make features 5 and 7 children of feature 12
# (whenever 5 or 7 fires, 12 fires too) and the tied SAE's latents for 5 and 7 break: each takes
# in part of feature 12 and a *negative* part of the other, while all five latents stay mutually
# orthogonal. A tied SAE can only reduce interference between latents by making them orthogonal,
# which is its bias against absorption and also why an orthogonality penalty cannot fix this.
# Broken latents show several peaks in their activation histograms (4 in the post), clean ones a
# single peak.
#
# **The setting.** Sparse sums of known feature vectors, sae_lens's standard SAE and its tied
# variant, MSE plus L1, several seeds trained together; the claims are judged on the seed with the
# lowest held-out loss, with the tally over seeds beside it.

# %% tags=["parameters"]
PROFILE = "cpu"  # smoke | cpu | paper (see helpers/profiles.py)
SEED = 0  # everything random in this run derives from it
RESULTS_DIR = None  # where results.json goes; None: the cache's interactive folder
OVERRIDES = {}  # e.g. {"toy_sae.samples": 5_000_000}

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

from helpers.book.section import start_section
from helpers.toy_saes.figures import activation_histograms, cosine_heatmap, latent_cosine_figure
from helpers.toy_saes.latent_metrics import cosines
from helpers.toy_saes.runs import (
    CLEAN_COSINE,
    N_LINEAR_FEATURES,
    SAERun,
    expected_mse,
    linear_features,
    train_and_read,
)
from helpers.toy_saes.true_features import TrueFeatures, orthogonal_vectors

config, device, results, data_source, init_generator = start_section(
    "narrow_saes", PROFILE, SEED, RESULTS_DIR, OVERRIDES
)
training = config.toy_sae
D_MODEL, N_LATENTS, PARENT, CHILDREN = 50, 5, 12, (5, 7)
vectors = orthogonal_vectors(N_LINEAR_FEATURES, D_MODEL, init_generator)
independent = linear_features(vectors, device=device)
hierarchy = linear_features(vectors, forced_parents={child: PARENT for child in CHILDREN}, device=device)
results.metric("samples", training.samples)
results.metric("lr", training.lr)
results.metric("seeds", training.seeds)
results.metric("clean_cosine", CLEAN_COSINE)
l1_coefficient = results.metric("l1_coefficient", training.narrow_l1_coefficient)

# %% [markdown]
# ## Which features should a 5-latent SAE keep?
#
# An SAE trained on MSE that drops feature $i$ pays its expected squared error
# $p_i \cdot m_i^2$ on every sample, so it should keep the five with the largest:

# %%
mse_cost = expected_mse(independent).cpu()
top = sorted(torch.topk(mse_cost, N_LATENTS).indices.tolist())
if top != list(range(top[0], top[0] + N_LATENTS)):
    raise RuntimeError(f"the top features {top} are not a run; the prose below assumes one.")
results.metric("top_first", top[0])
results.metric("top_last", top[-1])
fig, axes = plt.subplots(1, 3, figsize=(11, 2.6))
for ax, values, label in zip(
    axes,
    (independent.magnitude.cpu(), independent.probability.cpu(), mse_cost),
    ("magnitude $m_i$", "firing probability $p_i$", "expected MSE $p_i m_i^2$"),
    strict=True,
):
    ax.bar(range(len(values)), values, color=["C3" if i in top else "C0" for i in range(len(values))])
    ax.set_title(label, fontsize="medium")
    ax.set_xlabel("feature")
fig.suptitle("The 20 features (red: the five of largest expected MSE)", fontsize="medium")
fig.tight_layout()
plt.show()

# %% [markdown]
# Features {glue:text}`top_first` to {glue:text}`top_last`, as in the post.


# %%
def train(data: TrueFeatures, tied: bool) -> SAERun:
    return train_and_read(data, N_LATENTS, tied, training, training.narrow_l1_coefficient, init_generator)


runs = {
    "tied": train(independent, tied=True),
    "untied": train(independent, tied=False),
    "tied, 5 and 7 children of 12": train(hierarchy, tied=True),
}
train_seconds = results.metric("train_seconds", sum(run.seconds for run in runs.values()))

# %% [markdown]
# Each SAE sees {glue:text}`samples:,.0f` samples at learning rate {glue:text}`lr` and L1
# coefficient {glue:text}`l1_coefficient`, {glue:text}`seeds` seeds of each; training took
# {glue:text}`train_seconds:.0f` seconds.
#
# ## Independent features
#
# The lowest-loss seed of each SAE, against all 20 features:

# %%
for name in ("tied", "untied"):
    run = runs[name]
    latent_cosine_figure(run.sae, run.best, independent, f"{name} SAE")
    plt.show()
display(pd.DataFrame({name: runs[name].tally()["clean features"] for name in ("tied", "untied")}))
picks = {name: runs[name].kept.clean_features for name in ("tied", "untied")}
picks_top = {name: picks[name] == set(top) for name in picks}
scores = {name: results.metric(f"{name}_matching_score", runs[name].kept_matching_score) for name in picks}
for name in picks:
    results.metric(
        f"{name}_seeds_top",
        runs[name].seeds_where(lambda c: c.is_exactly(set(top))),
    )

# %% [markdown]
# The table lists, per seed, the features that some latent decodes with cosine above
# {glue:text}`clean_cosine`. The
# kept seeds' matching scores (mean cosine of the optimal one-to-one matching of latents to
# features) are {glue:text}`tied_matching_score:.3f` (tied) and
# {glue:text}`untied_matching_score:.3f` (untied);
# {glue:text}`tied_seeds_top` of {glue:text}`seeds` tied seeds and {glue:text}`untied_seeds_top`
# untied seeds have exactly one clean latent for each of the five predicted features. Untied
# seeds that miss are not wrong about *which* features to keep: their latents span the same five
# directions but rotated into mixtures, which L1 only slowly breaks up.
#
# ## Features 5 and 7 become children of feature 12
#
# Feature 12 carries too little expected MSE to earn a latent, but now it fires whenever 5 or 7
# does, so on those samples part of it is cheaply reconstructed by their latents:

# %%
broken = runs["tied, 5 and 7 children of 12"]
sae, best = broken.sae, broken.best
latent_cosine_figure(sae, best, hierarchy, "tied SAE, 5 and 7 children of 12")
plt.show()
decoder_cos = cosines(sae.W_dec[best], hierarchy.vectors).cpu()
latent_of = {child: int(decoder_cos[:, child].argmax()) for child in CHILDREN}
first, second = CHILDREN
parent_share = {child: decoder_cos[latent_of[child], PARENT].item() for child in CHILDREN}
cross = {
    first: decoder_cos[latent_of[first], second].item(),
    second: decoder_cos[latent_of[second], first].item(),
}
for child in CHILDREN:
    results.metric(f"latent{child}_cos_parent", parent_share[child])
    results.metric(f"latent{child}_cos_other_child", cross[child])
display(broken.kept_table[["feature", "decoder_cos", "peaks", "decoder"]])

both = decoder_cos[[latent_of[first], latent_of[second]]]
results.metric("overlap_through_parent", (both[0, PARENT] * both[1, PARENT]).item())
results.metric("overlap_through_children", (both[0, list(CHILDREN)] * both[1, list(CHILDREN)]).sum().item())

# %% [markdown]
# The latent for feature 5 has cosine {glue:text}`latent5_cos_parent:.2f` with feature 12 and
# {glue:text}`latent5_cos_other_child:.2f` with feature 7; the latent for feature 7 has
# {glue:text}`latent7_cos_parent:.2f` with feature 12 and {glue:text}`latent7_cos_other_child:.2f`
# with feature 5. The negative part makes up for both latents firing together, which would
# otherwise write feature 12 twice, and it is also what keeps the two latents orthogonal: their
# shared feature 12 contributes {glue:text}`overlap_through_parent:.3f` to their dot product, and
# their components along the two children contribute {glue:text}`overlap_through_children:.3f`.
# Only the sum of the two negative parts is pinned down; how it splits between the latents is
# free, and a run may put nearly all of it on one.
#
# ### The latents stay orthogonal
#
# Cosines between the five latents' directions:

# %%
latent_cos = cosines(sae.W_dec[best], sae.W_dec[best]).cpu()
off_diagonal = latent_cos[~torch.eye(N_LATENTS, dtype=torch.bool)].abs()
max_latent_cos = results.metric("max_latent_cos", off_diagonal.max().item())
fig, ax = plt.subplots(figsize=(3.4, 3.0))
cosine_heatmap(ax, latent_cos, "latent against latent", column_label="latent")
plt.show()

# %% [markdown]
# The largest $|\cos|$ between two latents is {glue:text}`max_latent_cos:.3f`. In a tied SAE a
# latent's activation is its direction's dot product with the input, so the only way to stop one
# latent firing on another's feature is orthogonality; the broken latents found an orthogonal
# arrangement, so a penalty on latent-latent cosines would have nothing to push against.
#
# ### Broken latents have several activation peaks

# %%
with torch.no_grad():
    h = sae.encode(broken.x)[best].cpu()
activation_histograms(h, "tied SAE, 5 and 7 children of 12: activation histograms (log counts)")
plt.show()
peaks = broken.kept_table["peaks"]
broken_latents = set(latent_of.values())
clean_latents = [latent for latent in range(N_LATENTS) if latent not in broken_latents]
broken_min_peaks = results.metric("broken_min_peaks", min(peaks[latent] for latent in broken_latents))
clean_max_peaks = results.metric("clean_max_peaks", max(peaks[latent] for latent in clean_latents))

# %% [markdown]
# The latents of features 5 and 7 have at least {glue:text}`broken_min_peaks` peaks each; the
# other latents at most {glue:text}`clean_max_peaks`. A broken latent fires strongly when its
# own feature is present and weakly when feature 12 fires without it, and the negative part of
# the other child splits each of those in two when the other child fires as well.
#
# ## Claims

# %%
seeds = training.seeds
for name in ("tied", "untied"):
    results.claim(
        f"{name}_keeps_top_mse",
        f"A 5-latent {name} SAE learns exactly the 5 features of largest expected MSE.",
        "features 4-8, one clean latent each",
        f"kept seed: clean latents for features {sorted(picks[name])}, matching score {scores[name]:.3f}; "
        f"{results.metrics[f'{name}_seeds_top']} of {seeds} seeds exact",
        "yes" if picks_top[name] else ("partly" if picks[name] & set(top) else "no"),
    )
takes_parent = min(parent_share.values())
results.claim(
    "children_absorb_parent",
    "With 5 and 7 children of 12, the tied latents for 5 and 7 take in part of feature 12.",
    "both include a portion of feature 12",
    f"cosine with feature 12: {parent_share[first]:.2f} (latent for 5), {parent_share[second]:.2f} (for 7)",
    "yes" if takes_parent > 0.1 else "no",
)
negatives = sum(value < -0.05 for value in cross.values())
results.claim(
    "children_negative_each_other",
    "Each of those latents has a negative component of the other child.",
    "both negative",
    f"cosine with the other child: {cross[first]:.2f} (latent for 5), {cross[second]:.2f} (for 7); "
    "together they cancel the overlap through feature 12",
    "yes" if negatives == 2 else ("partly" if negatives == 1 else "no"),
)
results.claim(
    "latents_orthogonal",
    "The tied SAE's latents stay mutually orthogonal.",
    "all latent-latent cosines near 0",
    f"largest |cos| between latents: {max_latent_cos:.3f}",
    "yes" if max_latent_cos < 0.1 else "no",
)
results.claim(
    "broken_latents_multi_peak",
    "Broken latents have several activation peaks, clean latents one.",
    "4 peaks on the broken latents, 1 on the others",
    f"broken latents: at least {broken_min_peaks} peaks; clean latents: at most {clean_max_peaks}",
    "yes"
    if broken_min_peaks >= 2 and clean_max_peaks == 1
    else ("partly" if broken_min_peaks >= 2 else "no"),
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# A narrow SAE keeps the features that would cost it most to drop, and with independent features
# it learns them cleanly. Co-occurrence with a feature it does not keep breaks that: the children's
# latents soak up the parent, compensate for each other, and stay orthogonal while doing it, so
# the damage is invisible to any test of the latents' geometry but plain in their activation
# histograms. The {doc}`next section <activation_orthogonality>` turns that signature into a loss.
