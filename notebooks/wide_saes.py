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
# # Wide SAEs: more latents than true features
#
# We never know how many true features a model has, so an SAE may well have more latents than
# there are features to find. *Broken Latents* {cite}`chanin2024broken` asks what an SAE does
# with the spare capacity.
#
# **The claim.** Four independent, mutually orthogonal features in 20 dimensions, each firing
# with probability 0.2 and magnitude 1; SAEs with 8 latents. A perfect SAE learns the four
# features and lets the other four latents die. The *untied* SAE misuses the spare latents: some
# die, but it also learns duplicates and a *combo* latent for two features firing together,
# which fires alone on that combination, so its L1 is less than the true features' sum. The
# *tied* SAE learns exactly one latent per feature and kills the rest, and stays perfect when
# feature 0 becomes the parent of features 1 and 2.
#
# **The setting.** As in the {doc}`previous section <absorption_recap>`: orthonormal feature
# vectors, sae_lens's standard SAE (tied: $W_{enc} = W_{dec}^\top$, $b_{enc} = 0$), MSE plus L1,
# several seeds trained at once on the same batches. The claims are judged on the seed with the
# lowest held-out loss, the run one would keep; the tally over all seeds is given beside it.

# %% tags=["parameters"]
PROFILE = "cpu"  # smoke | cpu | paper (see helpers/profiles.py)
SEED = 0  # everything random in this run derives from it
RESULTS_DIR = None  # where results.json goes; None: the cache's interactive folder
OVERRIDES = {}  # e.g. {"toy_sae.samples": 5_000_000}

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from helpers.book.results import verdict
from helpers.book.section import scale_table, start_section
from helpers.toy_saes.broken_latents import combo_firing, combo_latents
from helpers.toy_saes.figures import latent_cosine_figure
from helpers.toy_saes.runs import SAETrainer, exact_rule
from helpers.toy_saes.true_features import TrueFeatures, orthogonal_vectors

config, device, results, data_source, init_generator = start_section(
    "wide_saes", PROFILE, SEED, RESULTS_DIR, OVERRIDES
)

# %% [markdown]
# ## Our scale
#
# Below the `paper` profile our SAEs see a fraction of the post's $10^8$ samples at a larger
# learning rate, and every profile trains several seeds of each SAE where the post shows one run.

# %% tags=["hide-input"]
display(scale_table(config, "wide_saes"))

# %% [markdown]
# ## Training
#
# The four features, independent and then with feature 0 the parent of features 1 and 2, and four
# SAEs of 8 latents: untied, tied, tied on the hierarchy, and tied with sae_lens's decoder-norm
# weighting of the L1 (discussed at the end).

# %%
training = config.toy_sae
N_FEATURES, D_MODEL, N_LATENTS, PROBABILITY = 4, 20, 8, 0.2
ALL_FEATURES = set(range(N_FEATURES))
vectors = orthogonal_vectors(N_FEATURES, D_MODEL, init_generator)
independent = TrueFeatures(vectors, PROBABILITY, device=device)
hierarchy = TrueFeatures(vectors, PROBABILITY, conditional_children={1: 0, 2: 0}, device=device)
forced = TrueFeatures(vectors, PROBABILITY, forced_parents={1: 0, 2: 0}, device=device)  # the post's
saes = SAETrainer(training, init_generator, d_sae=N_LATENTS, l1_coefficient=training.wide_l1_coefficient)
runs = {
    "untied": saes.train(independent, tied=False),
    "tied": saes.train(independent, tied=True),
    "tied, hierarchy": saes.train(hierarchy, tied=True),
    "tied, decoder-norm L1": saes.train(independent, tied=True, weight_l1_by_decoder_norm=True),
    "tied, forced parents": saes.train(forced, tied=True),
}

# %%
results.metric("samples", training.samples)
results.metric("lr", training.lr)
results.metric("seeds", training.seeds)
results.metric("l1_coefficient", training.wide_l1_coefficient)
train_seconds = results.metric("train_seconds", sum(run.seconds for run in runs.values()))

# %% [markdown]
# Each SAE sees {glue:text}`samples:,.0f` samples at learning rate {glue:text}`lr` and L1
# coefficient {glue:text}`l1_coefficient`, {glue:text}`seeds` seeds of each; all of this
# section's training took {glue:text}`train_seconds:.0f` seconds.
#
# ## The untied SAE
#
# Cosines of each latent's encoder row and decoder column with the four true features, for the
# lowest-loss seed:

# %%
untied = runs["untied"]
latent_cosine_figure(untied, "untied SAE")
plt.show()

# %%
display(untied.kept_table[["live", "firing_rate", "decoder", "encoder", "decoder_cos"]])
display(untied.tally())

# %%
untied_best = untied.kept
results.metric("untied_dead", untied_best.dead)
results.metric("untied_duplicates", untied_best.duplicates)
results.metric("untied_broken", len(untied_best.broken))
untied_misused = results.metric("untied_seeds_misusing", untied.seeds_with_extras())

# %% [markdown]
# The kept untied SAE has {glue:text}`untied_dead` dead latents, {glue:text}`untied_duplicates`
# duplicate(s) and {glue:text}`untied_broken` latent(s) that match no single feature; in
# {glue:text}`untied_seeds_misusing` of {glue:text}`seeds` seeds it uses a spare latent for
# something other than dying.
#
# ### A combo latent
#
# A broken latent whose encoder fires on two features *together* is a combo latent. Feeding it
# each feature alone and both together shows how it cheats: on the pair, the combo latent fires
# instead of the two single-feature latents, so the SAE's L1 (activation times decoder norm,
# summed) is less than the two features' true magnitudes.

# %%
combos = combo_latents(untied)
results.metric("untied_combo_latents", len(combos))
if combos:
    shown = combo_firing(untied, *next((c for c in combos if c[0] == untied.best), combos[0]))
    display(Markdown(f"Seed {shown.seed}, combo latent {shown.latent} (encoder: {shown.encoder})"))
    display(shown.table.round(3).style.hide(axis="index"))
    results.metric("combo_pair_sae_l1", shown.pair_l1)
    results.sentence(
        "combo_reading",
        f"The shown one costs the pair an L1 of {shown.pair_l1:.2f}, against 2 for the true features.",
    )
else:
    display(Markdown("No seed of this run learned a combo latent."))
    results.sentence("combo_reading", "None found, so there is no combo latent's L1 to read.")

# %% [markdown]
# {glue:text}`untied_combo_latents` combo latent(s) appeared over all seeds (the kept seed's is
# shown where it has one). {glue:md}`combo_reading`
#
# ## The tied SAE
#
# With $W_{enc} = W_{dec}^\top$ the encoder cannot carve exceptions out of a latent's firing, so a
# combo latent would fire on each single feature too, and reconstruct it wrongly:

# %%
tied = runs["tied"]
latent_cosine_figure(tied, "tied SAE")
plt.show()

# %%
display(tied.tally())

# %%
tied_best = tied.kept
tied_min_cos = results.metric(
    "tied_min_clean_cos",
    min(tied.kept_table.loc[latent, "decoder_cos"] for latent in tied_best.clean.values()),
)
tied_exact_seeds = results.metric("tied_seeds_exact", tied.seeds_exact(ALL_FEATURES))
tied_dead = results.metric("tied_dead", tied_best.dead)
tied_score = results.metric("tied_matching_score", tied.kept_matching_score)

# %% [markdown]
# The kept tied SAE's clean latents have a smallest cosine of {glue:text}`tied_min_clean_cos:.3f`
# with their features; the optimal one-to-one matching of its live latents to the features has a
# mean cosine, the *matching score*, of {glue:text}`tied_matching_score:.3f`, and it has
# {glue:text}`tied_dead` dead latents. {glue:text}`tied_seeds_exact` of {glue:text}`seeds` seeds
# have exactly one clean latent per feature and no other live latent.
#
# ## The tied SAE with a parent and two children
#
# Now feature 0 is the parent of features 1 and 2: a child fires only when the parent does, with
# probability 0.2 given the parent (so on {glue:text}`hierarchy_child_probability:.0%` of all
# samples), and the parent also fires alone. As in the {doc}`absorption recap <absorption_recap>`,
# a tied SAE has rotated solutions that reconstruct parent and child exactly; they are the sparser
# ones when the parent fires alone less than $\sqrt 2$ times as often as with a given child. Here
# it fires alone {glue:text}`hierarchy_alone_over_with_child:.1f` times as often, so the clean
# latents are the sparsest exact solution.

# %%
marginal = hierarchy.marginal_probability()
results.metric("hierarchy_child_probability", marginal[1].item())
results.metric(
    "hierarchy_alone_over_with_child",
    (marginal[0] * (1 - PROBABILITY) ** 2 / marginal[1]).item(),
)
tied_hierarchy = runs["tied, hierarchy"]

# %%
latent_cosine_figure(tied_hierarchy, "tied SAE, hierarchy")
plt.show()

# %%
display(tied_hierarchy.tally())

# %%
hierarchy_exact = tied_hierarchy.kept.is_exactly(ALL_FEATURES)
hierarchy_exact_seeds = results.metric("hierarchy_seeds_exact", tied_hierarchy.seeds_exact(ALL_FEATURES))

# %% [markdown]
# {glue:text}`hierarchy_seeds_exact` of {glue:text}`seeds` seeds learn exactly one clean latent
# per feature despite the co-occurrence.
#
# **The post's hierarchy.** The post makes each child force its parent on: a child fires with its
# own probability 0.2 and turns feature 0 on with it, so the parent fires alone only
# {glue:text}`forced_alone_over_with_child:.2f` times as often as with a given child, below
# $\sqrt 2$, where the rotated pairs are the sparser exact solution. That is why this page uses
# conditional children; the same tied SAE trained on the post's version:

# %%
forced_marginal = forced.marginal_probability()
results.metric(  # the parent's own draw with neither child, against a given child (which forces it)
    "forced_alone_over_with_child",
    (forced.probability[0] * (1 - PROBABILITY) ** 2 / forced_marginal[1]).item(),
)
tied_forced = runs["tied, forced parents"]
display(tied_forced.tally())
forced_exact = tied_forced.kept.is_exactly(ALL_FEATURES)
forced_exact_seeds = results.metric("forced_seeds_exact", tied_forced.seeds_exact(ALL_FEATURES))

# %% [markdown]
# {glue:text}`forced_seeds_exact` of {glue:text}`seeds` seeds are exact on the post's hierarchy.
#
# ## Why the tied SAE's L1 is not weighted by decoder norm
#
# sae_lens weights each latent's L1 by its decoder norm, which stops an untied SAE from shrinking
# activations and growing decoders. In a tied SAE the weighting makes copies free: two copies of
# a direction with norms $n_1, n_2$ reconstruct what one latent of norm
# $\sqrt{n_1^2 + n_2^2}$ does at the same weighted L1, so nothing pushes the spare copy to die.
# The same tied SAE trained with the weighted L1:

# %%
weighted = runs["tied, decoder-norm L1"]
display(weighted.tally())

# %%
weighted_spare = results.metric("weighted_seeds_with_spares", weighted.seeds_with_extras())

# %% [markdown]
# In {glue:text}`weighted_seeds_with_spares` of {glue:text}`seeds` seeds the weighted L1 leaves
# spare latents alive (duplicates or mixtures), which is why our tied SAEs use the plain L1.
#
# ## Claims

# %%
seeds = training.seeds
results.claim(
    "untied_misuses_capacity",
    "An untied SAE with spare latents learns broken ones: duplicates or combo latents, not only dead ones.",
    "2 dead, 1 duplicate pair, 1 combo latent (one run)",
    f"kept seed: {untied_best.dead} dead, {untied_best.duplicates} duplicate(s), {len(untied_best.broken)} "
    f"broken; {untied_misused} of {seeds} seeds misuse spare latents; {len(combos)} combo latent(s) in all",
    criterion="yes if the kept seed has at least one duplicate or broken live latent; no otherwise",
    holds=verdict(untied_best.extras > 0),
    estimate=untied_best.extras,
)
results.claim(
    "tied_exact",
    "A tied SAE with 8 latents learns exactly one latent per true feature and kills the rest.",
    "4 clean latents, 4 dead",
    f"kept seed: {len(tied_best.clean)} clean (min cos {tied_min_cos:.3f}, matching score "
    f"{tied_score:.3f}), {tied_best.dead} dead; {tied_exact_seeds} of {seeds} seeds exact",
    criterion=(f"yes if {exact_rule('the 4 features')}; no otherwise"),
    holds=verdict(tied_best.is_exactly(ALL_FEATURES)),
)
results.claim(
    "tied_hierarchy_exact",
    "With feature 0 the parent of features 1 and 2, the tied SAE is still exact.",
    "still perfect",
    f"kept seed {'is' if hierarchy_exact else 'is not'} exact; {hierarchy_exact_seeds} of {seeds} seeds are",
    criterion=(f"yes if {exact_rule('the 4 features')}; no otherwise"),
    holds=verdict(hierarchy_exact),
)
results.claim(
    "tied_hierarchy_exact_forced_parents",
    "With feature 0 the parent of features 1 and 2, the tied SAE is still exact (the post's forced parents).",
    "still perfect",
    f"kept seed {'is' if forced_exact else 'is not'} exact; {forced_exact_seeds} of {seeds} seeds are "
    "(each child forces the parent on; this page's other rows use conditional children, since forced "
    "parents put the parent-alone ratio below √2)",
    criterion="as tied_hierarchy_exact, on the post's forced parents",
    holds=verdict(forced_exact),
)
weighted_exact = weighted.kept.is_exactly(ALL_FEATURES)
results.claim(
    "tied_exact_decoder_norm_l1",
    "A tied SAE with 8 latents learns exactly one latent per true feature and kills the rest "
    "(sae_lens's decoder-norm-weighted L1).",
    "4 clean latents, 4 dead",
    f"kept seed {'is' if weighted_exact else 'is not'} exact; {weighted.seeds_exact(ALL_FEATURES)} of "
    f"{seeds} seeds are; {weighted_spare} keep spare latents alive (the other tied rows use the plain L1)",
    criterion=(f"yes if {exact_rule('the 4 features')}; no otherwise"),
    holds=verdict(weighted_exact),
)
display(Markdown(results.claim_table()))

# %% [markdown]
# ## Summary
#
# An untied encoder, free to differ from its decoder, can fire a latent on a *combination* of
# features and stay silent on its parts, which pays less L1 than the truth. Here
# {glue:text}`untied_seeds_misusing` of {glue:text}`seeds` untied seeds kept a duplicate or broken
# latent alive, with {glue:text}`untied_combo_latents` combo latent(s) in all. Tying the weights
# removes that freedom: with the plain L1, {glue:text}`tied_seeds_exact` of {glue:text}`seeds` tied
# seeds are exact on independent features and {glue:text}`hierarchy_seeds_exact` with the
# hierarchy; the claim table gives the verdicts. The {doc}`next section <narrow_saes>`
# turns to the case that matters for language models, where the SAE has fewer latents than the
# model has features.
