"""What `activation_orthogonality` must show at `smoke`: the geometry of superposition, counts that
add up, and a verdict that follows from them."""

N_LATENTS = 5


def check(results: dict) -> None:
    metrics = results["metrics"]
    holds = {row["id"]: row["holds"] for row in results["claims"]}
    # the Welch bound: 20 unit vectors in 19 dimensions have some pair with |cos| >= 1/19
    assert metrics["superposition_max_abs_cos"] >= 1 / 19 - 1e-6
    assert 0 < metrics["superposition_mean_abs_cos"] <= metrics["superposition_max_abs_cos"]
    assert metrics["parent6_fixed_broken"] + metrics["parent6_fixed_dead"] <= N_LATENTS
    assert metrics["parent6_plain_broken"] <= N_LATENTS
    for name in ("parent12_plain_seeds_exact", "parent12_fixed_seeds_exact"):
        assert 0 <= metrics[name] <= metrics["seeds"], name
    assert metrics["fixed_max_peaks"] >= 1 and metrics["plain_max_peaks"] >= 1, "a live latent has a peak"
    if holds["fixes_parent12"] == "yes":
        assert metrics["parent12_fixed_seeds_exact"] >= 1, "the kept seed is one of the exact seeds"
    else:
        fewer_peaks = metrics["fixed_max_peaks"] < metrics["plain_max_peaks"]
        assert holds["fixes_parent12"] == ("partly" if fewer_peaks else "no")
    ids = {row["id"] for row in results["claims"]}
    assert {"superposition_plain_post_l1", "superposition_fixed_post_l1"} <= ids, "the post's L1 has its rows"
    assert metrics["post_superposition_l1_coefficient"] == 1e-2
