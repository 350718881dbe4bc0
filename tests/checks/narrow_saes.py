"""What `narrow_saes` must show at `smoke`: the predicted features, and cosines that add up."""

from helpers.book.results import verdict


def check(results: dict) -> None:
    metrics = results["metrics"]
    holds = {row["id"]: row["holds"] for row in results["claims"]}
    # the post's features: p_i = 0.3 (i + 1) / 20 and m_i = 20 - i; the five of largest p_i m_i^2
    cost = {i: 0.3 * (i + 1) / 20 * (20 - i) ** 2 for i in range(20)}
    top = sorted(sorted(cost, key=cost.get, reverse=True)[:5])
    assert (metrics["top_first"], metrics["top_last"]) == (top[0], top[-1])
    for name in ("tied_seeds_top", "untied_seeds_top"):
        assert 0 <= metrics[name] <= metrics["seeds"], name
    for child in (5, 7):
        # cosines with orthonormal features: their squares add up to at most 1
        parent, other = metrics[f"latent{child}_cos_parent"], metrics[f"latent{child}_cos_other_child"]
        assert parent**2 + other**2 <= 1 + 1e-5
    # the overlap through feature 12 is the product of the two latents' cosines with it; through the
    # children, each term has one latent's cosine with the other child and a cosine at most 1
    product = metrics["latent5_cos_parent"] * metrics["latent7_cos_parent"]
    assert abs(metrics["overlap_through_parent"] - product) < 1e-6
    bound = abs(metrics["latent5_cos_other_child"]) + abs(metrics["latent7_cos_other_child"])
    assert abs(metrics["overlap_through_children"]) <= bound + 1e-6
    assert 0 <= metrics["max_latent_cos"] <= 1 + 1e-6
    assert metrics["broken_min_peaks"] >= 0 and metrics["clean_max_peaks"] >= 0
    # the verdicts follow from the recorded numbers by their criteria
    parent = min(metrics["latent5_cos_parent"], metrics["latent7_cos_parent"])
    assert holds["children_absorb_parent"] == verdict(parent > 0.1)
    negatives = sum(metrics[f"latent{child}_cos_other_child"] < -0.05 for child in (5, 7))
    assert holds["children_negative_each_other"] == verdict(negatives == 2, negatives == 1)
    assert holds["latents_orthogonal"] == verdict(metrics["max_latent_cos"] < 0.1)
    several = metrics["broken_min_peaks"] >= 2
    assert holds["broken_latents_multi_peak"] == verdict(several and metrics["clean_max_peaks"] == 1, several)
    post = next(row for row in results["claims"] if row["id"] == "broken_latents_post_peak_count")
    assert post["estimate"] == metrics["broken_min_peaks"], "the smallest peak count of the broken latents"
