"""Part II's figures: cosine heatmaps of latents against true features, activation histograms, the
costs of the narrow SAEs' features and a single latent's cosines."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from helpers.toy_saes.latent_metrics import cosines, count_peaks
from helpers.toy_saes.runs import SAERun, expected_mse
from helpers.toy_saes.true_features import TrueFeatures

ANNOTATED_CELLS = 64  # heatmaps up to this size print their values


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
        annot=values.size <= ANNOTATED_CELLS,
        fmt=".2f",
        annot_kws={"fontsize": 7},
        cbar=False,
        square=values.shape[1] <= 24,
    )
    ax.tick_params(axis="y", labelrotation=0)
    ax.set_title(title, fontsize="small")
    ax.set_xlabel(column_label)
    ax.set_ylabel(row_label)


def cosine_figure(table: torch.Tensor, title: str, **labels: str) -> plt.Figure:
    """One `cosine_heatmap` in a figure sized to the table (`labels`: `row_label`, `column_label`)."""
    cell = 0.45 if table.numel() <= ANNOTATED_CELLS else 0.24
    fig, ax = plt.subplots(figsize=(1.2 + cell * table.shape[1], 0.9 + cell * table.shape[0]))
    cosine_heatmap(ax, table, title, **labels)
    return fig


def latent_cosine_figure(run: SAERun, title: str) -> plt.Figure:
    """Heatmaps of the kept seed's latents against the true features: encoder and decoder for an
    untied SAE (side by side, or stacked when there are many features), the shared weights once
    for a tied one."""
    sae, instance, data = run.sae, run.best, run.data
    panels = [("decoder", sae.W_dec[instance])]
    if not sae.tied:
        panels.insert(0, ("encoder", sae.W_enc[instance].T))
    width, height = 1.2 + 0.32 * data.n_features, 0.9 + 0.32 * sae.d_sae
    stacked = data.n_features > 8
    shape = (len(panels), 1) if stacked else (1, len(panels))
    fig, axes = plt.subplots(*shape, figsize=(width * shape[1], height * shape[0]))
    for ax, (name, directions) in zip(np.atleast_1d(axes), panels, strict=True):
        label = "tied weights" if sae.tied else name
        cosine_heatmap(ax, cosines(directions, data.vectors), f"{title}: {label}")
    return fig


def activation_histograms(run: SAERun, title: str) -> plt.Figure:
    """One panel per latent of the kept seed: the histogram of its non-zero activations on the
    run's held-out samples, with the peak count of `latent_metrics.count_peaks` in the title."""
    with torch.no_grad():
        h = run.sae.encode(run.x)[run.best].cpu()
    n = h.shape[1]
    fig, axes = plt.subplots(1, n, figsize=(1.9 * n, 2.2), squeeze=False)
    for j, ax in enumerate(axes[0]):
        values = h[:, j][h[:, j] > 0].numpy()
        ax.hist(values, bins=80, color="C0", linewidth=0)  # no edges: narrow bars stay visible
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.5)  # every bar from a count of 1 up, on the log scale
        ax.use_sticky_edges = False  # margins, so that bars at either end clear the axes' frame
        ax.set_title(f"latent {j}: {count_peaks(h[:, j])} peak(s)", fontsize="small")
        ax.set_xlabel("activation")
    fig.suptitle(title, fontsize="medium")
    return fig


def feature_costs_figure(data: TrueFeatures, kept: list[int]) -> plt.Figure:
    """Each feature's magnitude, firing probability and expected MSE if dropped, `kept` in red."""
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.6))
    panels = (
        (data.magnitude, "magnitude $m_i$"),
        (data.marginal_probability(), "firing probability $p_i$"),
        (expected_mse(data), "expected MSE $p_i m_i^2$"),
    )
    for ax, (values, label) in zip(axes, panels, strict=True):
        values = values.cpu()
        ax.bar(range(len(values)), values, color=["C3" if i in kept else "C0" for i in range(len(values))])
        ax.set_title(label, fontsize="medium")
        ax.set_xlabel("feature")
    fig.suptitle(f"The {data.n_features} features (red: the {len(kept)} of largest expected MSE)")
    return fig


def direction_bars(table: pd.DataFrame, title: str) -> plt.Figure:
    """Grouped bars of a `latent_metrics.direction_table`: each direction's cosine with each feature."""
    fig, ax = plt.subplots(figsize=(7, 2.8))
    table.plot.bar(ax=ax, rot=0)
    ax.legend(loc="center left", bbox_to_anchor=(1, 0.5))
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("cosine with the feature")
    ax.set_title(title)
    return fig
