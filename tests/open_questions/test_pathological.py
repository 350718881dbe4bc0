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
    activation_differences,
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
def test_each_twin_moves_each_token_by_the_part_s_norm_in_its_own_direction():
    sae, probe = tiny_sae_and_probe()
    x = torch.randn(50, 12)
    x[0] *= 100  # an outlier above max_norm keeps its own activation in every splice
    pool = torch.zeros(3, 12)
    pool[:, :3] = torch.eye(3)  # activation differences along the first three axes only
    for part in ERROR_PARTS:
        splices = part_splices(sae, probe, part, pool, seed=3, max_norm=50.0)
        taken = x - splices["taken away"](x)
        norms = taken.norm(dim=-1)
        assert norms[0] == 0 and norms[1:].min() > 0
        for twin in ("random", "activation difference"):
            moved = splices[twin](x) - x
            torch.testing.assert_close(moved.norm(dim=-1), norms, rtol=1e-5, atol=1e-5)
            cosine = torch.nn.functional.cosine_similarity(moved[1:], taken[1:])
            assert cosine.abs().mean() < 0.5, f"{twin}: the twin's direction is not the part's"
        along = splices["activation difference"](x)[1:] - x[1:]
        assert not along[:, 3:].any(), "each direction is one of the pool's rows"
        assert (along[:, :3] != 0).sum(-1).eq(1).all()


def test_activation_differences_pair_random_rows_and_drop_equal_pairs():
    activations = np.repeat(np.arange(10, dtype=np.float32)[:, None], 4, axis=1)
    differences = activation_differences(activations, np.arange(10), n_pairs=2000, seed=0)
    assert 0.8 * 2000 < len(differences) < 2000, "about one pair in ten draws the same row twice"
    values = differences[:, 0]
    assert (differences == values[:, None]).all() and values.abs().min() >= 1
    assert values.mean().abs() < 0.5 and values.std() > 3, "pairs are not sorted into neighbours"
    with pytest.raises(ValueError, match="non-zero rows"):
        part_splices(*tiny_sae_and_probe(), "SaeError", torch.zeros(2, 12), seed=0)


def test_ratios_are_weighted_means_over_contexts():
    part = SplicedCosts(loss=np.array([3.0, 5.0]), divergence=np.array([1.0, 3.0]))
    twin = SplicedCosts(loss=np.array([2.5, 4.0]), divergence=np.array([2.0, 2.0]))
    clean = np.array([2.0, 3.0])
    weights = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(divergence_ratio_rows(part, twin, weights), [1.0, 0.5, 1.5])
    np.testing.assert_allclose(loss_ratio_rows(part, twin, clean, weights), [3.0 / 1.5, 2.0, 2.0])
