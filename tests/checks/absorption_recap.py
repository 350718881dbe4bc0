"""What `absorption_recap` must show at `smoke`: its probabilities, counts and cosines agree."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    holds = {row["id"]: row["holds"] for row in results["claims"]}
    # P(parent alone) / P(child) with the parent at 1/4 and the child at 1/10
    assert abs(metrics["parent_alone_over_both"] - 0.25 * 0.9 / 0.1) < 1e-6
    for name in ("untied_seeds_as_post", "tied_seeds_clean"):
        assert 0 <= metrics[name] <= metrics["seeds"], name
    # a verdict is "no" exactly when no seed shows what the claim says
    assert (holds["untied_absorbs"] == "no") == (metrics["untied_seeds_as_post"] == 0)
    assert (holds["tied_clean"] == "no") == (metrics["tied_seeds_clean"] == 0)
    assert -1 <= metrics["untied_parent_encoder_cos_child"] <= 1
    assert max(metrics["tied_min_decoder_cos"], metrics["tied_matching_score"]) <= 1 + 1e-6
    if holds["tied_clean"] == "yes":
        # four clean latents on four features: the matching pairs each latent with its own feature,
        # so its mean cosine is at least the smallest
        assert metrics["tied_min_decoder_cos"] > metrics["clean_cosine"]
        assert metrics["tied_matching_score"] >= metrics["tied_min_decoder_cos"] - 1e-6
    # the post's own probabilities, all 1/4: P(parent alone) / P(child) = 1/4 * 3/4 / (1/4)
    assert abs(metrics["post_parent_alone_over_both"] - 0.75) < 1e-12
    for name, claim_id in (
        ("post_untied_seeds_as_post", "untied_absorbs_post_probabilities"),
        ("post_tied_seeds_clean", "tied_clean_post_probabilities"),
    ):
        assert 0 <= metrics[name] <= metrics["seeds"], name
        assert (holds[claim_id] == "no") == (metrics[name] == 0)
