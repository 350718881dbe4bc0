"""The power law with a constant that Part III fits to FVU against width."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from helpers.lm.scaling_law import PowerLawWithConstant, fit_power_law_with_constant


def test_the_fit_recovers_a_known_law():
    truth = PowerLawWithConstant(c=0.08, a=3.0, m=0.55)
    widths = np.array([512, 1024, 2048, 4096, 8192, 16384])
    fit = fit_power_law_with_constant(widths, truth(widths))
    assert fit.c == pytest.approx(0.08, abs=1e-3)
    assert fit.m == pytest.approx(0.55, rel=1e-2)
    np.testing.assert_allclose(fit(widths), truth(widths), rtol=1e-4)


def test_a_pure_power_law_has_no_constant():
    widths = np.array([1000, 2000, 4000, 8000])
    fit = fit_power_law_with_constant(widths, 2.0 * widths**-0.3)
    assert fit.c < 1e-3 and fit.m == pytest.approx(0.3, rel=1e-2)


def test_too_few_widths_are_refused():
    with pytest.raises(ValueError, match="three or more distinct widths"):
        fit_power_law_with_constant([1024, 1024, 2048], [0.3, 0.3, 0.2])


def test_three_widths_fit_exactly_and_without_warnings():
    """Three points fit three parameters exactly, where a covariance of the fit is undefined."""
    widths = np.array([256, 512, 1024])
    fvus = np.array([0.30, 0.22, 0.18])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_power_law_with_constant(widths, fvus)
    np.testing.assert_allclose(fit(widths), fvus, atol=1e-6)
