"""One figure style for the whole book, and the plots that several sections draw."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

IMPORTANCE_CMAP = "viridis"


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


def feature_arrows(ax: plt.Axes, W: torch.Tensor, importance: torch.Tensor, title: str = "") -> None:
    """Draw each feature's 2-d embedding column `W[:, i]` as an arrow, coloured by importance."""
    if W.shape[0] != 2:
        raise ValueError(f"feature_arrows draws 2-d embeddings; W has {W.shape[0]} rows.")
    colours = mpl.colormaps[IMPORTANCE_CMAP](torch.linspace(0.0, 0.9, W.shape[1]).tolist())
    order = torch.argsort(importance, descending=True).tolist()
    for rank, feature in enumerate(order):
        x, y = W[:, feature].tolist()
        ax.annotate(
            "", xy=(x, y), xytext=(0, 0), arrowprops={"arrowstyle": "-|>", "color": colours[rank], "lw": 2}
        )
        ax.plot([x], [y], "o", color=colours[rank], ms=3)
    ax.set_xlim(-1.5, 1.5)
    ax.set_ylim(-1.5, 1.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)


def importance_colorbar(fig: plt.Figure, axes, n_features: int) -> None:
    """A colour bar from most (feature 0) to least important feature, matching `feature_arrows`."""
    cmap = mpl.colors.ListedColormap(
        mpl.colormaps[IMPORTANCE_CMAP](torch.linspace(0.0, 0.9, n_features).tolist())
    )
    norm = mpl.colors.BoundaryNorm(torch.arange(n_features + 1).tolist(), n_features)
    bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, shrink=0.8, pad=0.01)
    bar.set_ticks([i + 0.5 for i in range(n_features)], labels=[str(i) for i in range(n_features)])
    bar.set_label("importance rank (0 = most important)")


SUPERPOSITION_CMAP = "plasma"


def superposition_bars(
    ax: plt.Axes, W: torch.Tensor, title: str = "", vmax: float = 1.0
) -> mpl.cm.ScalarMappable:
    """One horizontal bar per feature (feature 0 on top): length `‖W_i‖`, colour its superposition
    `Σ_{j≠i} (Ŵ_i · W_j)²` (dark: a dimension of its own). `W` is one instance's `[hidden, features]`.

    Returns the colour scale, for `fig.colorbar`."""
    from helpers.toy_geometry import feature_norms, superposition

    norms, shared = feature_norms(W[None])[0], superposition(W[None])[0]
    scale = mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(0.0, vmax), cmap=SUPERPOSITION_CMAP)
    features = torch.arange(W.shape[1])
    ax.barh(
        features.tolist(), norms.tolist(), height=0.8, color=scale.to_rgba(shared.clamp(max=vmax).tolist())
    )
    ax.set_ylim(W.shape[1] - 0.5, -0.5)
    ax.set_xlim(0, max(1.2, norms.max().item() * 1.05))
    ax.set_title(title)
    return scale


def neuron_feature_heatmap(ax: plt.Axes, W: torch.Tensor, title: str = "", vmax: float | None = None):
    """Draw one model's neuron-by-feature weights `W` (`[neurons, features]`) as a red-blue heatmap.

    Rows are neurons in the given order, columns features; returns the image for a colour bar."""
    limit = vmax if vmax is not None else max(W.abs().max().item(), 1e-6)
    image = ax.imshow(W.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", interpolation="none")
    ax.set_xlabel("feature (importance order)")
    ax.set_ylabel("neuron (sorted)")
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    ax.grid(False)
    ax.set_title(title)
    return image


def _log_cell_edges(centres: torch.Tensor) -> torch.Tensor:
    """Edges of cells centred at log-spaced `centres`: geometric midpoints, extended at both ends."""
    logs = centres.double().log10()
    inner = (logs[1:] + logs[:-1]) / 2
    edges = torch.cat([logs[:1] - (inner[0] - logs[0]), inner, logs[-1:] + (logs[-1] - inner[-1])])
    return 10**edges


def category_map(
    ax: plt.Axes,
    categories: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    colours: tuple[str, ...],
    title: str = "",
) -> None:
    """Draw integer `categories` (`[len(y), len(x)]`) as coloured cells on log-scaled `x` and `y` axes."""
    if categories.shape != (len(y), len(x)):
        raise ValueError(f"categories has shape {tuple(categories.shape)}; expected ({len(y)}, {len(x)}).")
    cmap = mpl.colors.ListedColormap(list(colours))
    ax.pcolormesh(
        _log_cell_edges(x).numpy(),
        _log_cell_edges(y).numpy(),
        categories.numpy(),
        cmap=cmap,
        vmin=-0.5,
        vmax=len(colours) - 0.5,
        shading="flat",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.grid(False)
    ax.set_title(title)


def cosine_heatmap(
    ax: plt.Axes,
    table: torch.Tensor,
    title: str,
    row_label: str = "latent",
    column_label: str = "true feature",
) -> None:
    """A `[rows, columns]` table of cosines on a -1..1 diverging scale, annotated when small."""
    values = table.detach().cpu().numpy()
    sns.heatmap(
        values,
        ax=ax,
        cmap="RdBu_r",
        vmin=-1,
        vmax=1,
        center=0,
        annot=values.size <= 64,
        fmt=".2f",
        annot_kws={"fontsize": 7},
        cbar=False,
        square=values.shape[1] <= 24,
    )
    ax.set_title(title, fontsize="small")
    ax.set_xlabel(column_label)
    ax.set_ylabel(row_label)


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
