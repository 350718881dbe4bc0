"""Intervals and the verdicts decided on them, against closed forms."""

import math

import numpy as np
import pytest

from helpers.book.intervals import (
    Band,
    combined,
    group_totals,
    interval_text,
    percentile_interval,
    rank_correlation,
    ratio_replicates,
    resample_counts,
    seed_weights,
    slope,
    with_whole_sample,
)


def test_a_band_decides_yes_partly_no_on_the_interval():
    band = Band(0.3, 0.7)
    assert band.verdict((0.35, 0.6)) == "yes"
    assert band.verdict((0.2, 0.4)) == "partly"
    assert band.verdict((0.6, 0.8)) == "partly"
    assert band.verdict((0.1, 0.9)) == "partly"  # wider than the band: it cannot say
    assert band.verdict((0.71, 0.8)) == "no"
    assert band.verdict((0.0, 0.29)) == "no"
    above = Band(low=0.9)
    assert above.verdict((0.91, 0.99)) == "yes" and above.verdict((0.8, 0.85)) == "no"
    assert above.words() == "above 0.90" and Band(high=0.0).words(1) == "below 0.0"
    assert band.words() == "in [0.30, 0.70]" and "straddles" in band.rule()
    assert interval_text((0.12345, 0.5)) == "[0.123, 0.500]"


def test_a_claim_of_difference_is_decided_outside_the_band():
    same = Band(-0.05, 0.05)
    assert same.outside_verdict((0.06, 0.2)) == "yes" and same.outside_verdict((-0.3, -0.1)) == "yes"
    assert same.outside_verdict((-0.02, 0.03)) == "no"
    assert same.outside_verdict((0.01, 0.2)) == "partly" and same.outside_verdict((-0.2, 0.2)) == "partly"
    assert "wholly outside [-0.05, 0.05]" in same.outside_rule()


def test_bad_bands_and_intervals_are_refused():
    with pytest.raises(ValueError, match="low <= high"):
        Band(0.7, 0.3)
    with pytest.raises(ValueError, match="finite end"):
        Band()
    with pytest.raises(ValueError, match="low above high"):
        Band(0.3, 0.7).verdict((0.6, 0.4))
    with pytest.raises(ValueError, match="at least two units"):
        resample_counts(1)
    with pytest.raises(ValueError, match="finite replicates"):
        percentile_interval(np.array([0.1, np.nan, 0.3]))
    with pytest.raises(ValueError, match="group labels"):
        group_totals(np.ones(3), np.array([0, 1, 3]), 3)


def test_each_resample_draws_every_unit_count_once_on_average():
    counts = resample_counts(40, resamples=5000, seed=3)
    assert counts.shape == (5000, 40) and (counts.sum(1) == 40).all()
    np.testing.assert_allclose(counts.mean(0), 1.0, atol=0.06)
    np.testing.assert_array_equal(counts, resample_counts(40, resamples=5000, seed=3))


def test_the_bootstrap_interval_of_a_clustered_mean_matches_the_normal_theory_one():
    """Groups of 20 items whose group means vary with sd 1 and items around them with sd 3: the
    mean's standard error is sqrt(1 + 9/20) / sqrt(groups), whatever the items' count."""
    rng = np.random.default_rng(0)
    n_groups, size = 400, 20
    groups = np.repeat(np.arange(n_groups), size)
    values = rng.normal(size=n_groups)[groups] + rng.normal(scale=3.0, size=len(groups))
    counts = resample_counts(n_groups, resamples=4000, seed=1)
    means = ratio_replicates(values, np.ones(len(values)), groups, counts)
    low, high = percentile_interval(means)
    assert low < values.mean() < high
    closed_form = 1.959964 * math.sqrt(1 + 9 / size) / math.sqrt(n_groups)
    assert (high - low) / 2 == pytest.approx(closed_form, rel=0.1)
    # treating the items as independent would claim an interval 1.7x too narrow
    item_wise = 1.959964 * values.std() / math.sqrt(len(values))
    assert (high - low) / 2 > 1.5 * item_wise
    np.testing.assert_allclose(
        ratio_replicates(values, np.ones(len(values)), groups, np.ones((1, n_groups))), values.mean()
    )


def test_combined_verdicts_and_slopes():
    assert combined("yes", "yes") == "yes" and combined("yes", "partly") == "partly"
    assert combined("partly", "no", "yes") == "no"
    x = np.log2([512, 1024, 2048, 4096])
    y = np.array([[0.3, 0.25, 0.2, 0.15], [1.0, 1.0, 1.0, 1.0]])
    np.testing.assert_allclose(slope(x, y), [-0.05, 0.0], atol=1e-12)
    np.testing.assert_allclose(slope(x, y[0]), np.polyfit(x, y[0], 1)[0])
    with pytest.raises(ValueError, match="two distinct x"):
        slope(np.ones(3), np.ones(3))


def test_rank_correlations_match_scipy_per_resample():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(4)
    x = np.repeat([512, 1024, 2048, 4096], 3)  # tied, as a grid's widths are
    y = rng.normal(size=(5, 12))
    expected = [spearmanr(x, row).statistic for row in y]
    np.testing.assert_allclose(rank_correlation(x, y), expected, rtol=1e-12)
    assert rank_correlation(x, y[0]) == pytest.approx(expected[0])
    xs = rng.normal(size=(5, 12))  # both sides resampled
    both = [spearmanr(a, b).statistic for a, b in zip(xs, y, strict=True)]
    np.testing.assert_allclose(rank_correlation(xs, y), both, rtol=1e-12)


def test_an_interval_reaches_the_estimate_it_is_given():
    replicates = np.linspace(0.0, 1.0, 101)
    assert percentile_interval(replicates) == pytest.approx((0.025, 0.975))
    assert percentile_interval(replicates, estimate=1.5) == pytest.approx((0.025, 1.5))
    assert percentile_interval(replicates, estimate=0.5) == pytest.approx((0.025, 0.975))


def test_ratio_replicates_weigh_each_unit_by_its_count():
    numerator, denominator = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 1.0, 2.0, 2.0])
    groups = np.array([0, 0, 1, 1])
    counts = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(ratio_replicates(numerator, denominator, groups, counts), [10 / 6, 1.5, 7 / 4])


def test_seed_weights_take_every_seed_once_then_draw_with_replacement():
    weights = seed_weights(3, 200, stream=0)
    assert (weights[0] == 1).all() and (weights.sum(1) == 3).all()
    assert (weights[1:] != 1).any(axis=1).mean() > 0.5  # most resamples repeat a seed
    assert (seed_weights(1, 5, stream=0) == 1).all()
    assert np.array_equal(seed_weights(3, 50, stream=2), seed_weights(3, 50, stream=2))


def test_the_whole_sample_row_comes_first_and_the_resamples_follow():
    counts = resample_counts(4, resamples=3, seed=1)
    weights = with_whole_sample(counts)
    assert weights.shape == (4, 4) and (weights[0] == 1).all()
    np.testing.assert_array_equal(weights[1:], counts)
