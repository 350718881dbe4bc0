"""Part IV's figures draw from small made-up inputs without a warning (a warning shows on the page)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers.dark_matter import figures
from helpers.dark_matter.synthetic_activations import NoiseSweep
from helpers.dark_matter.token_detection import DetectionScores

pytestmark = pytest.mark.usefixtures("strict_figures")


def test_fig1_bands_and_the_pair_matrix():
    widths = np.array([256.0, 512.0, 1024.0])
    fig, (ax_bands, ax_pairs) = plt.subplots(1, 2)
    figures.fvu_breakdown(ax_bands, widths, [0.3, 0.25, 0.22], [0.1, 0.1, 0.1])
    assert [t.get_text() for t in ax_bands.get_xticklabels()] == ["256", "512", "1024"]
    matrix = pd.DataFrame([[np.nan, np.nan], [0.9, np.nan]], index=["a", "b"], columns=["a", "b"])
    figures.wider_pair_matrix(ax_pairs, matrix, ["256/8", "512/8"], "Eq. 5", "R²", vmax=1)
    fig.canvas.draw()


def test_fig3_labels_stay_inside_the_axes():
    fig, ax = plt.subplots(figsize=(5.5, 4.4))
    widths, l0 = np.array([256, 256, 512, 512, 1024, 1024]), np.array([8, 32, 8, 32, 8, 32])
    figures.probe_r2_map(ax, widths, l0, np.linspace(0.8, 0.95, 6), "Eq. 2: R² of ‖SaeError(x)‖² from x")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    for label in ax.texts:
        extent = label.get_window_extent(renderer)
        assert extent.y1 <= box.y1 and extent.x1 <= box.x1, f"{label.get_text()} leaves the axes"


def test_the_other_part_iv_figures_draw():
    fig, axes = plt.subplots(2, 3)
    rows = pd.DataFrame({"width": [256, 512], "FVU": [0.3, 0.25], "nonlinear FVU": [0.1, 0.1]})
    figures.nonlinear_fvu_by_width(axes[0, 0], {"k 8": rows, "JumpReLU": rows})
    scores = DetectionScores(np.arange(3), [np.array([1])] * 3, np.full((3, 10), 0.5), np.full(3, 0.9))
    figures.detection_by_decile(axes[0, 1], {"SAE on LinearError": scores, "SAE on NonlinearError": scores})
    sweep = NoiseSweep(
        np.array([0.0, 1.0]), np.array([0.0, 0.5]), np.full((2, 2, 2), 0.2), np.full((2, 2, 2), 0.1)
    )
    figures.noise_grid_heatmap(axes[0, 2], sweep.estimated_dense[..., 0], sweep.levels, "Estimated Dense")
    figures.masking_curves(axes[1, 0], 100 * sweep.mask_shares, sweep, "input")
    figures.token_heatmap(axes[1, 1], ["a", "b"], {"width 256": np.array([1.0, np.nan])}, "norm")
    fig.canvas.draw()
