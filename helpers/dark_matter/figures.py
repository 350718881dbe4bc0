"""Part IV's figures."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np


def token_heatmap(ax: plt.Axes, tokens: list[str], rows: dict[str, np.ndarray], label: str, vmax=None):
    """A passage of text along x (one column per token, its text as the tick label) and one row per
    entry of `rows`, each token's cell coloured by its value (NaN: grey, a token left out)."""
    values = np.ma.masked_invalid(np.vstack(list(rows.values())))
    cmap = mpl.colormaps["magma_r"].with_extremes(bad="0.85")
    image = ax.imshow(values, aspect="auto", cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_xticks(range(len(tokens)), [repr(t)[1:-1] for t in tokens], rotation=90, fontsize=7)
    ax.set_yticks(range(len(rows)), list(rows), fontsize=8)
    ax.grid(False)
    plt.colorbar(image, ax=ax, label=label, fraction=0.03, pad=0.01)
    return image
