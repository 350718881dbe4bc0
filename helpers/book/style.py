"""One figure style for the whole book."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns


def use_book_style() -> None:
    """Seaborn's white grid, sizes that read well in the rendered book, compact PNGs."""
    sns.set_theme(context="notebook", style="whitegrid", palette="deep")
    plt.rcParams.update(
        {
            "figure.dpi": 90,
            "savefig.dpi": 90,
            "figure.constrained_layout.use": True,
            "axes.titlesize": "medium",
            "axes.labelsize": "medium",
        }
    )
