"""Part III's figures draw from small made-up inputs without a warning (a warning shows on the page)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers.lm import figures
from helpers.lm.scaling_law import PowerLawWithConstant

pytestmark = pytest.mark.usefixtures("strict_figures")


def test_the_norm_histogram_labels_stay_apart():
    """Norms within a decade, as at the `smoke` site: a log axis would label its minor ticks too."""
    norms = np.random.default_rng(0).uniform(135, 231, size=5000)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    figures.norm_histogram(ax, norms, 500.0, 3)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    labels = [t for t in ax.get_xticklabels() + ax.get_xminorticklabels() if t.get_visible() and t.get_text()]
    boxes = sorted(
        (box for box in (t.get_window_extent(renderer) for t in labels) if inside.x0 <= box.x0 <= inside.x1),
        key=lambda box: box.x0,
    )
    assert len(boxes) >= 2
    assert all(a.x1 < b.x0 for a, b in zip(boxes[:-1], boxes[1:], strict=True)), "tick labels overlap"


def test_the_suite_figures_draw():
    fig, axes = plt.subplots(2, 2)
    figures.norm_by_position(axes[0, 0], ["0", "1", "2–3"], [30.0, 5.0, 4.0])
    figures.fvu_by_position(axes[0, 1], ["1", "2–3"], {"topk-256-k8@resid_post.3": [0.2, 0.1]}, 0.5)
    suite = pd.DataFrame(
        {
            "architecture": ["topk", "topk", "jumprelu"],
            "width": [256, 256, 512],
            "L0": [8, 32, 16],
            "FVU": [0.3, 0.2, 0.25],
        }
    )
    figures.l0_fvu_frontier(axes[1, 0], suite)
    line = pd.DataFrame({"width": [256, 512, 1024], "FVU": [0.3, 0.25, 0.22]})
    fit = PowerLawWithConstant(0.1, 5.0, 0.5)
    figures.fvu_against_width(axes[1, 1], {8: line}, {8: fit}, np.geomspace(256, 4096, 20))
    fig.canvas.draw()
