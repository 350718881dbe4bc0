"""Part II's figures: cosine heatmaps of latents against true features, activation histograms."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

from helpers.toy_saes.latent_metrics import cosines, count_peaks
from helpers.toy_saes.sae import ToySAE
from helpers.toy_saes.true_features import TrueFeatures


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


def latent_cosine_figure(sae: ToySAE, instance: int, data: TrueFeatures, title: str) -> plt.Figure:
    """Heatmaps of one SAE's latents against the true features: encoder and decoder for an
    untied SAE, the shared weights once for a tied one."""
    panels = [("decoder", sae.W_dec[instance])]
    if not sae.tied:
        panels.insert(0, ("encoder", sae.W_enc[instance].T))
    width = 1.2 + 0.32 * data.n_features
    fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), 0.9 + 0.32 * sae.d_sae))
    for ax, (name, directions) in zip(np.atleast_1d(axes), panels, strict=True):
        label = "tied weights" if sae.tied else name
        cosine_heatmap(ax, cosines(directions, data.vectors), f"{title}: {label}")
    return fig


def activation_histograms(h: torch.Tensor, title: str) -> plt.Figure:
    """One panel per latent: the histogram of its non-zero activations `h[:, j]`, with the peak
    count of `latent_metrics.count_peaks` in the title."""
    n = h.shape[1]
    fig, axes = plt.subplots(1, n, figsize=(2.4 * n, 2.2), squeeze=False)
    for j, ax in enumerate(axes[0]):
        values = h[:, j][h[:, j] > 0].cpu().numpy()
        ax.hist(values, bins=80, color="C0")
        ax.set_yscale("log")
        ax.set_title(f"latent {j}: {count_peaks(h[:, j].cpu())} peak(s)", fontsize="small")
        ax.set_xlabel("activation")
    fig.suptitle(title, fontsize="medium")
    return fig
