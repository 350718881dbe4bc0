"""Part IV's figures."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.lm.figures import plain_log_ticks, width_ticks


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


def fvu_breakdown(ax: plt.Axes, widths: np.ndarray, fvu: Sequence[float], nonlinear: Sequence[float]) -> None:
    """Fig. 1's stacked bands along a line of SAE widths: the nonlinear FVU from zero, the linear
    FVU from there up to the FVU (drawn as a line), on a log width axis ticked at the widths."""
    ax.fill_between(widths, 0, nonlinear, color="C3", alpha=0.6, label="nonlinear error")
    ax.fill_between(widths, nonlinear, fvu, color="C0", alpha=0.5, label="linear error")
    ax.plot(widths, fvu, "o-", color="0.2", lw=1, label="FVU")
    ax.set(xscale="log", xlabel="width")
    width_ticks(ax, widths)


def nonlinear_fvu_by_width(ax: plt.Axes, lines: dict[str, pd.DataFrame]) -> None:
    """Fig. 5 left: nonlinear FVU against width, one line per sparsity or architecture (`lines`, by
    label: rows with width, FVU and nonlinear FVU), each SAE's whole FVU dashed in the same colour;
    ticked at the widths."""
    for label, rows in lines.items():
        (line,) = ax.plot(rows.width, rows["nonlinear FVU"], "o-", label=f"{label}: nonlinear")
        ax.plot(rows.width, rows.FVU, "o--", color=line.get_color(), alpha=0.5, lw=1)
    ax.set(xscale="log", yscale="log", xlabel="width", ylabel="FVU")
    width_ticks(ax, [w for rows in lines.values() for w in rows.width])
    plain_log_ticks(ax.yaxis)
    ax.legend(fontsize=8)


def wider_pair_matrix(
    ax: plt.Axes, matrix: pd.DataFrame, labels: list[str], title: str, label: str, **imshow
) -> None:
    """A value for each pair of SAEs where the row's SAE is wider than the column's (NaN elsewhere,
    left blank), both axes in the same order and labelled `labels` (width/sparsity)."""
    image = ax.imshow(matrix.to_numpy(), cmap="viridis", **imshow)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set(xlabel="smaller SAE (width/sparsity)", ylabel="larger SAE", title=title)
    ax.grid(False)
    plt.colorbar(image, ax=ax, label=label)


def probe_r2_map(ax: plt.Axes, widths: np.ndarray, l0: np.ndarray, r2: np.ndarray, title: str) -> None:
    """Fig. 3: a probe's R² over the grid of SAE width and L0 (log₂ axes), filled contours between
    the SAEs and each SAE a dot labelled with its R², with room around them for the labels."""
    log_width, log_l0 = np.log2(np.asarray(widths, float)), np.log2(np.asarray(l0, float))
    filled = ax.tricontourf(log_width, log_l0, r2, levels=12, cmap="viridis")
    ax.scatter(log_width, log_l0, color="white", edgecolor="black", s=18)
    for w, l0_here, value in zip(log_width, log_l0, r2, strict=True):
        ax.annotate(f"{value:.3f}", (w, l0_here), xytext=(4, 4), textcoords="offset points", fontsize=7)
    for values, set_limits in ((log_width, ax.set_xlim), (log_l0, ax.set_ylim)):
        pad = 0.15 * (np.ptp(values) or 2)  # the contours' sticky edges would ignore `ax.margins`
        set_limits(values.min() - pad, values.max() + pad)
    ax.set(xlabel="log₂ width", ylabel="log₂ L0", title=title)
    plt.colorbar(filled, ax=ax, label="R² (test tokens)")


def detection_by_decile(ax: plt.Axes, scores: dict) -> None:
    """The token-detection proxy's accuracy by activation decile, and on non-firing examples (at 0),
    for each SAE in `scores` (`helpers.dark_matter.token_detection.DetectionScores`), with 95%
    intervals over latents."""
    for offset, (name, s) in zip((-0.1, 0.1), scores.items(), strict=True):
        hits = s.decile_hit_rate
        half_width = 1.96 * hits.std(0) / np.sqrt(len(hits))
        deciles = np.arange(1, hits.shape[1] + 1) + offset
        (line, *_) = ax.errorbar(deciles, hits.mean(0), half_width, fmt="o-", capsize=2, label=name)
        negatives = 1.96 * s.negative_accuracy.std() / np.sqrt(len(hits))
        ax.errorbar(
            [offset], [s.negative_accuracy.mean()], [negatives], fmt="s", capsize=2, color=line.get_color()
        )
    ax.set_xticks(range(0, 11), ["not firing", *[str(d) for d in range(1, 11)]], fontsize=8)
    ax.set(xlabel="activation decile (10: strongest)", ylabel="detection accuracy")
    ax.legend(fontsize=8)


def noise_grid_heatmap(ax: plt.Axes, values: np.ndarray, levels: np.ndarray, title: str) -> None:
    """An estimate over the grid of planted noise (rows: σ on the input, columns: σ on the
    reconstruction), each cell labelled with its value."""
    image = ax.imshow(values, origin="lower", cmap="magma")
    for (i, j), value in np.ndenumerate(values):
        colour = "w" if value < 0.6 * values.max() else "k"
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8, color=colour)
    tick_labels = [f"{level:.2g}" for level in levels]
    ax.set(
        xticks=range(len(levels)),
        yticks=range(len(levels)),
        xticklabels=tick_labels,
        yticklabels=tick_labels,
        xlabel="σ_rec (noise on the reconstruction)",
        ylabel="σ_in (noise on the input)",
        title=title,
    )
    ax.grid(False)
    plt.colorbar(image, ax=ax, shrink=0.85, label="share of variance")


def masking_curves(ax: plt.Axes, masked_percent: np.ndarray, sweep, varied: str) -> None:
    """Fig. 15: FVU(x̃, r̃) (solid) and FVU(x̃, r̃ + b(x̃)) (dashed) against the share of latents
    masked, one colour per level of the noise `varied` ("input" or "reconstruction"), the other
    noise at zero (`sweep`: a `helpers.dark_matter.synthetic_activations.NoiseSweep`)."""
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(sweep.levels)))
    for index, (level, colour) in enumerate(zip(sweep.levels, colours, strict=True)):
        at = (index, 0) if varied == "input" else (0, index)
        ax.plot(
            masked_percent, sweep.fvu_reconstruction[at], "-o", ms=3, color=colour, label=f"σ = {level:.2g}"
        )
        ax.plot(masked_percent, sweep.fvu_nonlinear[at], "--", color=colour)
    ax.axvline(50, color="0.5", ls=":", lw=1)
    ax.set(yscale="log", xlabel="% of latents masked (rarest first)", title=f"noise on the {varied} only")
    plain_log_ticks(ax.yaxis)
