"""What `single_latent` must show at `smoke`: cosines that are consistent with one another, and
verdicts that follow from them."""

import math

from helpers.book.results import verdict


def line_angle(cos: float) -> float:
    """The angle between two lines whose directions have cosine `cos`."""
    return math.acos(min(1.0, abs(cos)))


def check(results: dict) -> None:
    metrics = results["metrics"]
    holds = {row["id"]: row["holds"] for row in results["claims"]}
    for name in ("untied", "tied"):
        parent, children = metrics[f"{name}_cos_parent"], metrics[f"{name}_min_cos_children"]
        independent = metrics[f"{name}_abs_cos_independent"]
        if children >= 0:
            # cosines with orthonormal features: their squares add up to at most 1
            assert parent**2 + 2 * children**2 + independent**2 <= 1 + 1e-5, name
        assert 0 <= metrics[f"{name}_cos_top_component"] <= 1 + 1e-6
    assert 0 <= metrics["untied_encoder_off_span_share"] <= 1
    assert abs(metrics["untied_encoder_decoder_cos"]) <= 1 + 1e-6
    # angles between lines obey the triangle inequality, through the top principal component
    through_component = sum(line_angle(metrics[f"{name}_cos_top_component"]) for name in ("untied", "tied"))
    assert line_angle(metrics["tied_untied_cos"]) <= through_component + 1e-3
    # the verdicts follow from the recorded cosines by their criteria
    excluded = max(metrics["untied_abs_cos_independent"], metrics["tied_abs_cos_independent"])
    assert holds["excludes_independent"] == verdict(excluded < 0.05)
    encoder, tied = metrics["untied_encoder_decoder_cos"], metrics["tied_untied_cos"]
    assert holds["untied_encoder_is_decoder"] == verdict(encoder > 0.99, encoder > 0.9)
    assert holds["tied_like_untied"] == verdict(tied > 0.95, tied > 0.8)
    merges = min(metrics["untied_min_cos_children"], metrics["tied_min_cos_children"])
    assert (holds["merges_children"] == "no") == (merges <= 0.1)
