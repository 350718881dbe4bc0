"""Pathological errors (Part V): each splice takes away the part it names, its random twin moves
each token by that part's norm, and the ratios read weighted means over contexts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sae_lens import TopKSAE, TopKSAEConfig

from helpers.dark_matter.decomposition import AffineMap
from helpers.lm.evaluation import SplicedCosts
from helpers.open_questions.pathological import (
    ERROR_PARTS,
    divergence_ratio_rows,
    loss_ratio_rows,
    part_splices,
    without_part,
)


def tiny_sae_and_probe(d: int = 12):
    torch.manual_seed(0)
    sae = TopKSAE(TopKSAEConfig(d_in=d, d_sae=24, k=3))
    torch.nn.init.normal_(sae.W_enc)
    probe = AffineMap(
        0.1 * torch.randn(d, d, dtype=torch.float64), 0.05 * torch.randn(d, dtype=torch.float64)
    )
    return sae, probe


@torch.no_grad()
def test_each_splice_takes_away_its_part_and_the_parts_add_up():
    sae, probe = tiny_sae_and_probe()
    x = torch.randn(50, 12)
    taken = {part: x - without_part(sae, probe, part)(x) for part in ERROR_PARTS}
    sae_error = x - sae(x)
    torch.testing.assert_close(taken["SaeError"], sae_error)
    torch.testing.assert_close(taken["LinearError"], probe(x).float())
    torch.testing.assert_close(taken["LinearError"] + taken["NonlinearError"], sae_error)
    with pytest.raises(ValueError, match="not one of"):
        without_part(sae, probe, "DenseNoise")


@torch.no_grad()
def test_the_random_twin_moves_each_token_by_the_part_s_norm():
    sae, probe = tiny_sae_and_probe()
    x = torch.randn(50, 12)
    x[0] *= 100  # an outlier above max_norm keeps its own activation in both splices
    for part in ERROR_PARTS:
        splice, twin = part_splices(sae, probe, part, seed=3, max_norm=50.0)
        norms = (x - splice(x)).norm(dim=-1)
        torch.testing.assert_close((twin(x) - x).norm(dim=-1), norms, rtol=1e-5, atol=1e-5)
        assert norms[0] == 0 and norms[1:].min() > 0
        direction = torch.nn.functional.cosine_similarity(twin(x)[1:] - x[1:], splice(x)[1:] - x[1:])
        assert direction.abs().mean() < 0.5, "the twin's direction is not the part's"


def test_ratios_are_weighted_means_over_contexts():
    part = SplicedCosts(loss=np.array([3.0, 5.0]), divergence=np.array([1.0, 3.0]))
    twin = SplicedCosts(loss=np.array([2.5, 4.0]), divergence=np.array([2.0, 2.0]))
    clean = np.array([2.0, 3.0])
    weights = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(divergence_ratio_rows(part, twin, weights), [1.0, 0.5, 1.5])
    np.testing.assert_allclose(loss_ratio_rows(part, twin, clean, weights), [3.0 / 1.5, 2.0, 2.0])
