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
# # A single latent still breaks
#
# Matryoshka SAEs {cite}`nabeshima2024matryoshka,bussmann2025matryoshka` train nested prefixes of
# their latents to reconstruct the input on their own, so that the narrowest prefixes, too narrow
# to hold child features, learn the parents cleanly. *Broken Latents* {cite}`chanin2024broken`
# tests the assumption underneath: does an SAE too narrow for the children learn the parent?
#
# **The claim.** Four features in a hierarchy: feature 0 fires with probability 0.3; features 1
# and 2 are its children, each firing with probability 0.4 when feature 0 fires; feature 3 fires
# independently with probability 0.2; all with magnitude 1. A one-latent SAE, untied or tied, does
# not learn feature 0: its single latent merges the parent with both children, and leaves feature
# 3 out. The untied encoder is nearly identical to its decoder, so this is not the encoder-side
# exception of absorption but a different failure (later called *feature hedging*); the tied SAE
# learns nearly the same latent.

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
from helpers.toy_saes.latent_metrics import cosines
from helpers.toy_saes.runs import train_and_read
from helpers.toy_saes.true_features import TrueFeatures, orthogonal_vectors

config, device, results, data_source, init_generator = start_section(
    "single_latent", PROFILE, SEED, RESULTS_DIR, OVERRIDES
)
training = config.toy_sae
D_MODEL, PARENT, CHILDREN, INDEPENDENT = 50, 0, (1, 2), 3
data = TrueFeatures(
    orthogonal_vectors(4, D_MODEL, init_generator),
    probability=torch.tensor([0.3, 0.4, 0.4, 0.2]),
    conditional_children={child: PARENT for child in CHILDREN},
    device=device,
)
runs = {
    name: train_and_read(data, 1, tied, training, training.l1_coefficient, init_generator)
    for name, tied in (("untied", False), ("tied", True))
}
results.metric("samples", training.samples)
results.metric("lr", training.lr)
results.metric("seeds", training.seeds)
results.metric("l1_coefficient", training.l1_coefficient)
train_seconds = results.metric("train_seconds", sum(run.seconds for run in runs.values()))

# %% [markdown]
# The post does not give the dimension; ours is 50, with orthonormal features. Each SAE sees
# {glue:text}`samples:,.0f` samples at learning rate {glue:text}`lr` and L1 coefficient
# {glue:text}`l1_coefficient`, {glue:text}`seeds` seeds each, and we keep the seed of lowest
# held-out loss ({glue:text}`train_seconds:.0f` seconds of training).
#
# ## What the single latent points at
#
# Cosine of the latent's decoder (and, untied, encoder) with each true feature:

# %%
untied, tied = runs["untied"], runs["tied"]
directions = {
    "untied encoder": untied.sae.W_enc[untied.best, :, 0],
    "untied decoder": untied.sae.W_dec[untied.best, 0],
    "tied": tied.sae.W_dec[tied.best, 0],
}
table = pd.DataFrame(
    {name: cosines(d[None], data.vectors)[0].cpu().numpy() for name, d in directions.items()},
    index=[f"feat{f}" for f in range(data.n_features)],
)
fig, ax = plt.subplots(figsize=(6, 2.6))
table.plot.bar(ax=ax, rot=0)
ax.axhline(0, color="black", linewidth=0.8)
ax.set_ylabel("cosine with the feature")
ax.set_title("The one latent against the four true features")
plt.show()
display(table.round(3))

decoder = table["untied decoder"]
for name, column in (("untied", "untied decoder"), ("tied", "tied")):
    results.metric(f"{name}_cos_parent", table.loc[f"feat{PARENT}", column])
    results.metric(f"{name}_min_cos_children", min(table.loc[f"feat{c}", column] for c in CHILDREN))
    results.metric(f"{name}_abs_cos_independent", abs(table.loc[f"feat{INDEPENDENT}", column]))
in_span = {name: data.vectors @ d for name, d in directions.items()}  # coordinates along the features
encoder_vs_decoder = results.metric(
    "untied_encoder_decoder_cos",
    cosines(in_span["untied encoder"][None], in_span["untied decoder"][None]).item(),
)
results.metric(
    "untied_encoder_off_span_share",
    1 - (in_span["untied encoder"].norm() / directions["untied encoder"].norm()).item() ** 2,
)
tied_vs_untied = results.metric(
    "tied_untied_cos", cosines(directions["tied"][None], directions["untied decoder"][None]).item()
)

# %% [markdown]
# The untied latent's decoder has cosine {glue:text}`untied_cos_parent:.2f` with the parent and at
# least {glue:text}`untied_min_cos_children:.2f` with each child, and
# {glue:text}`untied_abs_cos_independent:.3f` (in absolute value) with feature 3. Written in the
# features' terms, its encoder and decoder have cosine {glue:text}`untied_encoder_decoder_cos:.4f`.
# (The encoder also keeps a part of its random initialisation outside the span of the features,
# {glue:text}`untied_encoder_off_span_share:.0%` of its squared norm: no input has a component
# there, so that part never gets a gradient and never matters.) The tied latent has cosine
# {glue:text}`tied_untied_cos:.3f` with the untied decoder.
#
# ## Why: the best single direction is a mixture
#
# Leave the ReLU and the L1 aside: one latent and a bias reconstructing $x$ in squared error is
# best placed along the top principal component of $x$, the top eigenvector of its covariance.
# The children only ever fire with the parent, so the covariance couples them to it, and its top
# eigenvector mixes all three; feature 3 is uncorrelated with them and varies less, so it is left
# out. That eigenvector, computed from samples, in the features' terms:

# %%
x, _ = data.sample(training.eval_samples)
covariance = torch.cov(x.T.double())
top_direction = torch.linalg.eigh(covariance).eigenvectors[:, -1].float()
eigen_cos = cosines(top_direction[None], data.vectors)[0].cpu()
eigen_cos = eigen_cos * eigen_cos[PARENT].sign()
display(pd.DataFrame({"top principal component": eigen_cos.numpy()}, index=table.index).T.round(3))
for name, column in (("untied", "untied decoder"), ("tied", "tied")):
    results.metric(
        f"{name}_cos_top_component", abs(cosines(directions[column][None], top_direction[None]).item())
    )

# %% [markdown]
# The learned latents have cosine {glue:text}`untied_cos_top_component:.3f` (untied) and
# {glue:text}`tied_cos_top_component:.3f` (tied) with it. Sparsity does not
# rescue the parent: whenever a child fires, a latent that also points along the child
# reconstructs more of the input for the same one activation.
#
# ## Claims

# %%
merges = min(results.metrics["untied_min_cos_children"], results.metrics["tied_min_cos_children"])
excluded = max(results.metrics["untied_abs_cos_independent"], results.metrics["tied_abs_cos_independent"])
parent_leads = all(
    table.loc[f"feat{PARENT}", column] == table[column].max() for column in ("untied decoder", "tied")
)
results.claim(
    "merges_children",
    "The single latent (untied and tied) represents the parent but merges in both children.",
    "feature 0 plus children 1 and 2",
    f"cosine with the parent {results.metrics['untied_cos_parent']:.2f} / "
    f"{results.metrics['tied_cos_parent']:.2f} (untied / tied); with each child at least {merges:.2f}",
    "yes" if merges > 0.1 and parent_leads else ("partly" if merges > 0.1 else "no"),
)
results.claim(
    "excludes_independent",
    "The independent feature 3 is excluded.",
    "fully excluded",
    f"|cosine| with feature 3: at most {excluded:.3f}",
    "yes" if excluded < 0.05 else "no",
)
results.claim(
    "untied_encoder_is_decoder",
    "The untied encoder is nearly identical to the decoder (unlike absorption).",
    "nearly identical",
    f"cosine between encoder and decoder, in the features' terms: {encoder_vs_decoder:.4f}",
    "yes" if encoder_vs_decoder > 0.99 else ("partly" if encoder_vs_decoder > 0.9 else "no"),
)
results.claim(
    "tied_like_untied",
    "The tied SAE learns nearly the same latent as the untied one.",
    "nearly identical representation",
    f"cosine between the tied latent and the untied decoder: {tied_vs_untied:.3f}",
    "yes" if tied_vs_untied > 0.95 else ("partly" if tied_vs_untied > 0.8 else "no"),
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## What this means for Matryoshka SAEs
#
# A Matryoshka SAE's narrowest prefix is meant to hold the parent cleanly while wider prefixes add
# the children. Here the narrowest possible SAE, one latent, does not: it *hedges*, pointing
# between the parent and its children, because that is what minimises its reconstruction error
# on its own. A Matryoshka SAE trains exactly such narrow prefixes against their own
# reconstruction loss, so its parent latents should be expected to carry some of their children,
# the more so the more often the parent fires *with* a child rather than alone. This does not make
# nested SAEs useless, but their narrow latents are not guaranteed to be true parent features.
# The post leaves a fix (projecting the high-activation peaks out of the parent latent) for
# future work.
