import math

import pytest
import torch

from helpers.toys.geometry import (
    dimensions_per_feature,
    feature_dimensionality,
    feature_norms,
    mean_superposition,
    planar_angle_gaps,
    represented,
    superposition,
)


def polygon(k: int) -> torch.Tensor:
    angles = torch.arange(k) * 2 * math.pi / k
    return torch.stack([torch.cos(angles), torch.sin(angles)])


def test_norms_and_represented():
    W = torch.tensor([[[1.0, 0.3, 0.0], [0.0, 0.3, 0.0]]])
    assert torch.allclose(feature_norms(W), torch.tensor([[1.0, 0.3 * math.sqrt(2), 0.0]]))
    assert represented(W).tolist() == [[True, False, False]]


@pytest.mark.parametrize(
    ("W", "dimensionality"),
    [
        (torch.eye(3), 1.0),  # dedicated dimensions
        (torch.tensor([[1.0, -1.0]]), 1 / 2),  # antipodal pair
        (polygon(3), 2 / 3),  # triangle
        (polygon(5), 2 / 5),  # pentagon
    ],
)
def test_dimensionality_of_known_polytopes(W, dimensionality):
    D = feature_dimensionality(W[None])
    assert torch.allclose(D, torch.full_like(D, dimensionality), atol=1e-5)
    assert torch.allclose(dimensions_per_feature(W[None]), torch.tensor([W.shape[0] / W.shape[1]]), atol=1e-6)


def test_tetrahedron_has_dimensionality_three_quarters():
    tetra = torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]).T / math.sqrt(3)
    assert torch.allclose(feature_dimensionality(tetra[None]), torch.full((1, 4), 0.75), atol=1e-5)


def test_superposition_is_zero_for_orthogonal_features_and_counts_overlaps():
    assert torch.allclose(superposition(torch.eye(4)[None]), torch.zeros(1, 4))
    W = torch.tensor([[[1.0, 0.5], [0.0, 0.0]]])  # feature 1 lies along feature 0
    assert torch.allclose(superposition(W), torch.tensor([[0.25, 1.0]]))


def test_planar_gaps():
    assert torch.allclose(planar_angle_gaps(polygon(5), torch.arange(5)), torch.full((5,), 72.0), atol=1e-3)
    antipodal = torch.tensor([[1.0, -1.0], [0.0, 0.0]])
    assert torch.allclose(planar_angle_gaps(antipodal, torch.arange(2)), torch.tensor([180.0, 180.0]))
    with pytest.raises(ValueError, match="2-d embedding"):
        planar_angle_gaps(torch.ones(3, 2), torch.arange(2))


def test_mean_superposition_averages_over_represented_features_only():
    antipodal = torch.tensor(
        [[[1.0, -1.0, 0.0], [0.0, 0.0, 0.1]]]
    )  # a pair, and a feature too short to count
    orthogonal = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    nothing = torch.full((1, 2, 3), 0.1)
    W = torch.cat([antipodal, orthogonal, nothing])
    assert torch.allclose(mean_superposition(W), torch.tensor([1.0, 0.0, 0.0]))
