"""Headline statistics over a suite's decompositions, against direct computation."""

import numpy as np
import pytest
import torch

from helpers.book.intervals import resample_counts
from helpers.dark_matter.decomposition import decompose, split_by_context
from helpers.dark_matter.suite_statistics import (
    FLAT_SHARE,
    asymptote_margin,
    headlines,
    seed_means,
)
from helpers.lm.scaling_law import fit_power_law_with_constant
from tests.dark_matter.test_decomposition import sparse_activations


def top(k):
    """A crude sparse 'SAE' of `k` latents per token: each token's k largest coordinates."""

    def reconstruct(x):
        kept = torch.topk(x.abs(), k, dim=-1).indices
        return torch.zeros_like(x).scatter(-1, kept, x.gather(-1, kept))

    return reconstruct


@pytest.fixture(scope="module")
def suite():
    acts = sparse_activations(n=3000)
    rows = np.arange(len(acts))
    split = split_by_context(rows, rows // 50, 0.6, seed=1)  # 60 contexts of 50 tokens
    widths = {"k2": 512, "k4": 1024, "k8": 2048}  # stand-ins: more latents kept, as a wider SAE
    decompositions = {
        name: decompose(top(int(name[1:])), acts, split, torch.device("cpu")) for name in widths
    }
    return decompositions, split, widths


def test_headlines_measure_what_they_name_and_hold_their_estimates(suite):
    decompositions, split, widths = suite
    counts = resample_counts(split.test_groups()[1], resamples=500, seed=0)
    h = headlines(decompositions, counts, list(widths), list(widths.values()))
    assert h.norm_r2_min.value == pytest.approx(min(d.norm_probe_r2 for d in decompositions.values()))
    assert h.vector_r2_mean.value == pytest.approx(
        np.mean([d.vector_probe_r2 for d in decompositions.values()])
    )
    doublings = np.log2(list(widths.values()))
    linear = np.polyfit(doublings, [decompositions[n].fvu_linear for n in widths], 1)[0]
    nonlinear = np.polyfit(doublings, [decompositions[n].fvu_nonlinear for n in widths], 1)[0]
    assert h.linear_slope.value == pytest.approx(linear) and h.nonlinear_slope.value == pytest.approx(
        nonlinear
    )
    assert h.slope_ratio.value == pytest.approx(nonlinear / linear)
    assert h.flat_margin.value == pytest.approx(FLAT_SHARE * abs(linear) - abs(nonlinear))
    assert (h.flat_margin.value >= 0) == (abs(h.slope_ratio.value) <= FLAT_SHARE), "the ratio's rule"
    assert h.fvu_mean.value == pytest.approx(np.mean([decompositions[n].fvu_sae for n in widths]))
    assert h.nonlinear_fvu_mean.value == pytest.approx(
        np.mean([decompositions[n].fvu_nonlinear for n in widths])
    )
    for estimate in (
        h.norm_r2_min,
        h.vector_r2_mean,
        h.linear_slope,
        h.nonlinear_slope,
        h.slope_ratio,
        h.flat_margin,
    ):
        low, high = estimate.interval
        assert low <= estimate.value <= high and low < high


def test_counts_of_one_give_back_the_estimates(suite):
    decompositions, split, widths = suite
    ones = np.ones((3, split.test_groups()[1]))
    h = headlines(decompositions, ones, list(widths), list(widths.values()))
    assert h.norm_r2_min.interval == pytest.approx((h.norm_r2_min.value,) * 2)
    assert h.slope_ratio.interval == pytest.approx((h.slope_ratio.value,) * 2)


def test_bad_lines_are_refused(suite):
    decompositions, split, widths = suite
    counts = resample_counts(split.test_groups()[1], resamples=10)
    with pytest.raises(ValueError, match="two or more SAEs"):
        headlines(decompositions, counts, ["k2"], [512])
    with pytest.raises(ValueError, match="without a decomposition: k16"):
        headlines(decompositions, counts, ["k2", "k16"], [512, 4096])


def test_the_asymptote_margin_is_the_fitted_constant_above_the_nonlinear_band(suite):
    decompositions, split, widths = suite
    counts = resample_counts(split.test_groups()[1], resamples=50, seed=0)
    margin = asymptote_margin(decompositions, counts, list(widths), list(widths.values()))
    fit = fit_power_law_with_constant(list(widths.values()), [decompositions[n].fvu_sae for n in widths])
    nonlinear = np.mean([decompositions[n].fvu_nonlinear for n in widths])
    assert margin.value == pytest.approx(fit.c - nonlinear)
    low, high = margin.interval
    assert low <= margin.value <= high and low < high
    ones = np.ones((3, split.test_groups()[1]))
    assert asymptote_margin(
        decompositions, ones, list(widths), list(widths.values())
    ).interval == pytest.approx((margin.value,) * 2)


def test_seed_replicas_enter_the_line_as_a_mean_and_widen_its_interval(suite):
    decompositions, split, widths = suite
    # stand-ins for seeds: k3 and k5 as other "seeds" of the k4 SAE
    seeded = dict(decompositions)
    for name in ("k3", "k5"):
        seeded[name] = decompose(top(int(name[1:])), sparse_activations(n=3000), split, torch.device("cpu"))
    replicas = {"k4": ["k3", "k5"]}
    ones = np.ones((400, split.test_groups()[1]))
    h = headlines(seeded, ones, list(widths), list(widths.values()), replicas)
    doublings = np.log2(list(widths.values()))
    middle = np.mean([seeded[n].fvu_nonlinear for n in ("k4", "k3", "k5")])
    nonlinear = [decompositions["k2"].fvu_nonlinear, middle, decompositions["k8"].fvu_nonlinear]
    assert h.nonlinear_slope.value == pytest.approx(np.polyfit(doublings, nonlinear, 1)[0])
    assert seed_means(seeded, list(widths), "fvu_nonlinear", replicas) == pytest.approx(nonlinear)
    # the minimum over the suite leaves the replicas out
    assert h.norm_r2_min.value == pytest.approx(min(d.norm_probe_r2 for d in decompositions.values()))
    # with the contexts fixed, the seeds alone move the line's mean (the middle width does not
    # enter a three-point slope): an interval of positive width around the estimate
    assert h.nonlinear_fvu_mean.value == pytest.approx(np.mean(nonlinear))
    low, high = h.nonlinear_fvu_mean.interval
    assert low < h.nonlinear_fvu_mean.value < high
    margin = asymptote_margin(seeded, ones, list(widths), list(widths.values()), replicas)
    fit = fit_power_law_with_constant(
        list(widths.values()),
        [
            decompositions["k2"].fvu_sae,
            np.mean([seeded[n].fvu_sae for n in ("k4", "k3", "k5")]),
            decompositions["k8"].fvu_sae,
        ],
    )
    assert margin.value == pytest.approx(fit.c - np.mean(nonlinear))
    with pytest.raises(ValueError, match="without a decomposition: k6"):
        headlines(seeded, ones, list(widths), list(widths.values()), {"k4": ["k6"]})
