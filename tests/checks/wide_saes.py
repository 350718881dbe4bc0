"""What `wide_saes` must show at `smoke`: its censuses add up and its probabilities are the setting's."""

from helpers.book.results import verdict

N_LATENTS, N_FEATURES = 8, 4


def check(results: dict) -> None:
    metrics = results["metrics"]
    holds = {row["id"]: row["holds"] for row in results["claims"]}
    # the census splits the kept seed's latents into clean (at most one per feature), duplicate,
    # broken and dead ones
    clean = N_LATENTS - metrics["untied_dead"] - metrics["untied_duplicates"] - metrics["untied_broken"]
    assert 0 <= clean <= N_FEATURES
    if holds["tied_exact"] == "yes":
        assert metrics["tied_dead"] == N_LATENTS - N_FEATURES and metrics["tied_seeds_exact"] >= 1
    misused = metrics["untied_duplicates"] + metrics["untied_broken"] > 0
    assert holds["untied_misuses_capacity"] == verdict(misused)
    if misused:
        assert metrics["untied_seeds_misusing"] >= 1, "the kept seed is one of the seeds counted"
    assert metrics["tied_min_clean_cos"] > 0.95, "a clean latent's cosine is above the threshold"
    for name in ("untied_seeds_misusing", "tied_seeds_exact", "hierarchy_seeds_exact"):
        assert 0 <= metrics[name] <= metrics["seeds"], name
    assert 0 <= metrics["weighted_seeds_with_spares"] <= metrics["seeds"]
    # a child fires with probability 0.2 given its parent (0.2); the parent alone with 0.2 * 0.8^2
    assert abs(metrics["hierarchy_child_probability"] - 0.04) < 1e-6
    assert abs(metrics["hierarchy_alone_over_with_child"] - 0.2 * 0.8**2 / 0.04) < 1e-5
    if metrics["untied_combo_latents"] == 0:
        assert "combo_pair_sae_l1" not in metrics, "no combo latent: no L1 recorded as if measured"
    else:
        assert metrics["combo_pair_sae_l1"] > 0
    # the post's forced parents: the parent alone (0.2 * 0.8^2) against a given child (0.2)
    assert abs(metrics["forced_alone_over_with_child"] - 0.8**2) < 1e-6
    assert 0 <= metrics["forced_seeds_exact"] <= metrics["seeds"]
    assert {"tied_hierarchy_exact_forced_parents", "tied_exact_decoder_norm_l1"} <= set(holds)
