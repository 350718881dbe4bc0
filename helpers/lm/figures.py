"""Part III's figures: the site's activation norms, SAE error by position, and the suite's FVU
against L0 and against width."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

from helpers.lm.scaling_law import PowerLawWithConstant


def plain_log_ticks(axis) -> None:
    """Label a log axis (`ax.xaxis` or `ax.yaxis`, after plotting) in plain numbers such as 0.3 or 200,
    at fewer multiples of the powers of ten the more decades it spans, so that neighbouring labels
    stay apart: every multiple below a factor of 3, then 1, 2, 3 and 5, then 1, 2 and 5, and past
    three decades the powers of ten alone."""
    low, high = axis.get_view_interval()
    span = high / low
    if span < 3:
        subs = np.arange(1.0, 10.0)
    elif span < 10:
        subs = (1.0, 2.0, 3.0, 5.0)
    else:
        subs = (1.0, 2.0, 5.0) if span < 1e3 else (1.0,)
    axis.set_major_locator(LogLocator(subs=subs))
    axis.set_major_formatter(StrMethodFormatter("{x:g}"))
    axis.set_minor_formatter(NullFormatter())


def width_ticks(ax: plt.Axes, widths) -> None:
    """Tick a log width axis at the SAE widths themselves, labelled as plain integers."""
    measured = sorted({int(w) for w in widths})
    ax.set_xticks(measured, [str(w) for w in measured])
    ax.xaxis.set_minor_formatter(NullFormatter())


def norm_histogram(ax: plt.Axes, norms: np.ndarray, threshold: float, ratio: float) -> None:
    """Tokens by activation norm on log axes, with the outlier threshold (`ratio` × the median)
    dashed."""
    ax.hist(norms, bins=np.geomspace(norms.min(), norms.max(), 80), color="0.45")
    ax.axvline(threshold, color="C3", ls="--", label=f"{ratio:g} × median")
    ax.set(xscale="log", yscale="log", xlabel="‖x‖ at the site", ylabel="tokens")
    plain_log_ticks(ax.xaxis)
    ax.legend()


def norm_by_position(ax: plt.Axes, labels: list[str], median_norms: list[float]) -> None:
    """The median activation norm in each bucket of positions."""
    ax.bar(labels, median_norms, color="0.5")
    ax.set(yscale="log", xlabel="position in context", ylabel="median ‖x‖")
    plain_log_ticks(ax.yaxis)
    ax.tick_params(axis="x", rotation=45)


def fvu_by_position(ax: plt.Axes, labels: list[str], fvu: dict[str, list[float]], first_kept: float) -> None:
    """Each SAE's FVU in each bucket of positions (one line per SAE, by name), with a dashed line
    at `first_kept`, the bucket position of the first position that measurements keep."""
    for name, values in fvu.items():
        ax.plot(labels, values, marker="o", label=name.split("@")[0])
    ax.axvline(first_kept, color="0.3", ls="--", lw=1, label="first kept position")
    ax.set(yscale="log", xlabel="position in context", ylabel="FVU at these positions")
    plain_log_ticks(ax.yaxis)
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=8)


def l0_fvu_frontier(ax: plt.Axes, suite: pd.DataFrame) -> None:
    """FVU against L0 for each architecture and width of `suite` (columns architecture, width, L0,
    FVU): TopK solid, JumpReLU dashed."""
    for (architecture, width), group in suite.groupby(["architecture", "width"]):
        style = "o-" if architecture == "topk" else "s--"
        ax.plot(group["L0"], group["FVU"], style, label=f"{architecture}, width {width}")
    ax.set(xscale="log", yscale="log", xlabel="L0 (mean active latents)", ylabel="FVU")
    plain_log_ticks(ax.xaxis)
    plain_log_ticks(ax.yaxis)
    ax.legend(fontsize=8)


def fvu_against_width(
    ax: plt.Axes, lines: dict[int, pd.DataFrame], fits: dict[int, PowerLawWithConstant], widths: np.ndarray
) -> None:
    """FVU against width, one colour per k (`lines`: rows with width and FVU), each fit
    $c + a W^{-m}$ drawn over `widths` with its constant $c$ dotted; the width axis is ticked at the
    measured widths."""
    for k, group in lines.items():
        (line,) = ax.plot(group.width, group.FVU, "o", label=f"k = {k}")
        if k in fits:
            ax.plot(widths, fits[k](widths), color=line.get_color(), lw=1)
            ax.axhline(fits[k].c, color=line.get_color(), ls=":", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="width (latents)", ylabel="FVU")
    width_ticks(ax, [w for group in lines.values() for w in group.width])
    plain_log_ticks(ax.yaxis)
    ax.legend(fontsize=8)
