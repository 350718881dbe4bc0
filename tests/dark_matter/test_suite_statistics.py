"""Headline statistics over a suite's decompositions, against direct computation."""

import numpy as np
import pytest
import torch

from helpers.book.intervals import resample_counts
from helpers.dark_matter.decomposition import decompose, split_by_context
from helpers.dark_matter.suite_statistics import asymptote_margin, headlines
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
    assert h.fvu_mean.value == pytest.approx(np.mean([decompositions[n].fvu_sae for n in widths]))
    assert h.nonlinear_fvu_mean.value == pytest.approx(
        np.mean([decompositions[n].fvu_nonlinear for n in widths])
    )
    for estimate in (h.norm_r2_min, h.vector_r2_mean, h.linear_slope, h.nonlinear_slope, h.slope_ratio):
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
