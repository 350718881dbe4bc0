"""What `absorption_recap` must show at `smoke` (EXPERIMENTS.md: the post's absorption table)."""


def check(results: dict) -> None:
    metrics = results["metrics"]
    verdicts = {row["id"]: row["holds"] for row in results["claims"]}
    assert metrics["parent_alone_over_both"] > 2**0.5, "the clean tied solution must be the sparser one"
    assert verdicts["untied_absorbs"] == "yes", "the kept untied SAE reproduces the post's table"
    assert metrics["untied_parent_encoder_cos_child"] < 0, "the parent latent's encoder avoids the child"
    assert verdicts["tied_clean"] == "yes" and metrics["tied_min_decoder_cos"] > 0.95
