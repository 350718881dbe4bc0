"""Part I's figures: feature arrows in the plane, superposition bars, neuron heatmaps, phase maps."""

from __future__ import annotations

from collections.abc import Callable

import matplotlib as mpl
import matplotlib.pyplot as plt
import torch

from helpers.toys.geometry import feature_norms, superposition

IMPORTANCE_CMAP = "viridis"


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
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(nbins=5, integer=True))  # legible in narrow panels
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


def norm_bar_grid(rows: dict[str, torch.Tensor], titles: list[str], height: float) -> plt.Figure:
    """`superposition_bars` of kept models: one row per entry of `rows` (a label and its `[settings,
    hidden, features]` embeddings), one column per setting, titled by `titles`."""
    n_settings = len(titles)
    fig, axes = plt.subplots(
        len(rows), n_settings, figsize=(11, height), sharex=True, sharey=True, squeeze=False
    )
    for row, (label, W) in enumerate(rows.items()):
        for column, title in enumerate(titles):
            scale = superposition_bars(axes[row, column], W[column], title)
            axes[row, column].title.set_fontsize("small")
        axes[row, 0].set_ylabel(f"{label}: feature")
    for ax in axes[-1]:
        ax.set_xlabel("$\\|W_i\\|$")
    fig.colorbar(scale, ax=axes, shrink=0.7, pad=0.01, label="superposition")
    return fig


def neuron_heatmap_row(
    weights: torch.Tensor, titles: list[str], order: Callable[[torch.Tensor], torch.Tensor], figsize
) -> plt.Figure:
    """`neuron_feature_heatmap` of each kept model (`weights` is `[settings, neurons, features]`),
    side by side on one colour scale, the neurons of each put in `order(W)`."""
    fig, axes = plt.subplots(1, len(titles), figsize=figsize, sharey=True)
    limit = weights.abs().max().item()
    for panel, (ax, W, title) in enumerate(zip(axes, weights, titles, strict=True)):
        image = neuron_feature_heatmap(ax, W[order(W)], title, vmax=limit)
        if panel:
            ax.set_ylabel("")
        ax.set_xlabel("feature")
    fig.colorbar(image, ax=axes, shrink=0.8, pad=0.01, label="weight")
    return fig


def polytope_drawing(ax: plt.Axes, coordinates: torch.Tensor, title: str) -> None:
    """Draw a group's projected feature vectors (`[2 or 3, features]`) as spokes from the origin,
    joined round the hull in 2-d and pairwise in 3-d (`ax` a 3-d axes then)."""
    points = coordinates.T.tolist()
    for point in points:
        ax.plot(*zip([0.0] * len(point), point, strict=True), color="C0", lw=2)
        ax.scatter(*[[c] for c in point], color="C0", s=15)
    if coordinates.shape[0] == 2:
        order = torch.argsort(torch.atan2(coordinates[1], coordinates[0]))
        ring = coordinates[:, torch.cat([order, order[:1]])]
        ax.plot(ring[0], ring[1], color="C1", lw=1, ls=":")
        ax.set_aspect("equal")
    else:
        for i in range(len(points)):
            for j in range(i + 1, len(points)):
                ax.plot(*zip(points[i], points[j], strict=True), color="C1", lw=0.6, ls=":")
        ax.set_zticks([])
    ax.set_title(title, fontsize="small")
    ax.set_xticks([])
    ax.set_yticks([])
