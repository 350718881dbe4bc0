import pytest

from helpers import profiles
from helpers.bench import open_questions
from helpers.bench.framework import BenchSettings
from helpers.lm.data import LmData


@pytest.mark.slow
def test_the_splice_row_agrees_with_the_whole_model_and_beats_it():
    settings = BenchSettings(profiles.load("smoke"), steps=1)
    row = open_questions.splice_costs(settings)
    line = LmData(settings.profile, 0, settings.device).reference_line
    assert row.details["splices"] == open_questions.SPLICE_CONTEXTS * len(line)
    assert row.details["largest_kl_difference"] < 1e-3, "both ways measure the same divergences"
    assert row.ratio > 1, "skipping the layers below the site and sharing the clean distribution pays"


@pytest.mark.slow
def test_the_synthetic_draw_row_draws_the_same_activations_in_distribution():
    settings = BenchSettings(profiles.load("smoke"), steps=40)
    row = open_questions.synthetic_draws(settings)
    assert row.details["tokens"] == 40 * settings.profile.sae_suite.batch_size
    assert row.details["mean_squared_norm_ratio"] == pytest.approx(1, abs=0.05), "same law, other draws"
