"""What `single_latent` must show at `smoke` (EXPERIMENTS.md: narrow SAEs still break)."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    verdicts = {row["id"]: row["holds"] for row in results["claims"]}
    assert verdicts["merges_children"] == "yes", "the one latent mixes the parent with its children"
    assert verdicts["excludes_independent"] == "yes"
    assert verdicts["tied_like_untied"] == "yes"
    assert verdicts["untied_encoder_is_decoder"] == "yes", "in the features' span, encoder = decoder"
    assert metrics["untied_cos_top_component"] > 0.95, "the latent is the top principal component"
