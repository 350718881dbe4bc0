import pytest
import torch

from helpers.toys.computation import (
    computed_features,
    neuron_order,
    neuron_reads,
    polysemantic_fraction,
    polysemantic_neurons,
    single_feature_error,
    single_feature_probes,
    used_neurons,
)
from helpers.toys.models import AbsoluteValueModel, ToyModel

SIGNED = torch.linspace(-1, 1, 21)


def exact_absolute_value_model(n_features: int, computed: int) -> AbsoluteValueModel:
    """`|x| = ReLU(x) + ReLU(-x)` for the first `computed` features (two neurons each), nothing else."""
    model = AbsoluteValueModel(1, n_features, 2 * computed)
    with torch.no_grad():
        model.W_in.zero_()
        model.W_out.zero_()
        model.b.zero_()
        for f in range(computed):
            model.W_in[0, 2 * f, f], model.W_in[0, 2 * f + 1, f] = 1.0, -1.0
            model.W_out[0, f, 2 * f] = model.W_out[0, f, 2 * f + 1] = 1.0
    return model


def test_probes_switch_on_one_feature_at_a_time():
    probes = single_feature_probes(3, torch.tensor([-1.0, 0.5]))
    assert probes.tolist() == [[-1, 0, 0], [0.5, 0, 0], [0, -1, 0], [0, 0.5, 0], [0, 0, -1], [0, 0, 0.5]]
    with pytest.raises(ValueError, match="non-empty 1-d grid"):
        single_feature_probes(3, torch.zeros(2, 2))


def test_exact_absolute_value_construction_has_zero_error_and_missing_features_error_one():
    model = exact_absolute_value_model(n_features=4, computed=3)
    error = single_feature_error(model, model.target, 1, 4, SIGNED)
    assert error.shape == (1, 4)
    assert torch.allclose(error[0, :3], torch.zeros(3), atol=1e-7)
    assert error[0, 3].item() == pytest.approx(1.0)  # output stays 0: no better than predicting zero
    assert computed_features(error).tolist() == [[True, True, True, False]]


def test_one_sided_feature_has_error_one_half():
    """Only ReLU(x) and no ReLU(-x): half of |x|'s energy on a symmetric grid is missed."""
    model = exact_absolute_value_model(n_features=2, computed=2)
    with torch.no_grad():
        model.W_out[0, 1, 3] = 0.0
    error = single_feature_error(model, model.target, 1, 2, SIGNED)
    assert error[0, 0].item() == pytest.approx(0.0, abs=1e-7)
    assert error[0, 1].item() == pytest.approx(0.5)


def test_error_is_per_instance_and_uses_only_the_features_own_output():
    model = ToyModel(2, 3, 3, hidden_relu=True)
    with torch.no_grad():
        model.W.copy_(torch.stack([torch.eye(3), torch.eye(3)]))
        model.W[1, 0, 1] = 1.0  # instance 1: feature 1 also writes into output 0 (interference only)
        model.W[1, 2, 2] = 0.0  # ... and feature 2 is lost
        model.b.zero_()
    error = single_feature_error(model, model.target, 2, 3, torch.linspace(0.1, 1, 10))
    assert torch.allclose(error[0], torch.zeros(3), atol=1e-6)
    assert error[1, 0].item() == pytest.approx(0.0, abs=1e-6)
    assert error[1, 2].item() == pytest.approx(1.0)
    assert error[1, 1].item() > 0  # feature 1's own output is now W[:,1]·W[:,1] x = 2x: overshoot
    with pytest.raises(ValueError, match="target is zero"):
        single_feature_error(model, model.target, 2, 3, torch.zeros(4))


def test_neuron_reading_two_features_is_polysemantic():
    W_in = torch.tensor(
        [
            [
                [1.0, 0.0, 0.1],  # monosemantic: the 0.1 is below half of its largest weight
                [0.0, -0.8, 0.6],  # reads features 1 and 2 (sign does not matter)
                [0.05, 0.04, 0.0],  # unused: tiny next to the model's largest weight
            ]
        ]
    )
    assert neuron_reads(W_in)[0].tolist() == [[True, False, False], [False, True, True], [False] * 3]
    assert polysemantic_neurons(W_in).tolist() == [[False, True, False]]
    assert used_neurons(W_in).tolist() == [[True, True, False]]
    assert polysemantic_fraction(W_in).tolist() == [0.5]
    assert polysemantic_neurons(W_in, fraction=0.8).tolist() == [[False, False, False]]
    with pytest.raises(ValueError, match="must be in \\(0, 1\\)"):
        neuron_reads(W_in, fraction=1.5)


def test_trained_like_dense_solution_is_monosemantic_and_sparse_one_polysemantic():
    dense = exact_absolute_value_model(n_features=3, computed=3).W_in.detach()
    assert polysemantic_fraction(dense).item() == 0.0
    mixed = dense + 0.9 * dense.roll(1, dims=-1)
    assert polysemantic_fraction(mixed).item() == 1.0


def test_neuron_order_groups_neurons_by_their_strongest_feature():
    W = torch.tensor([[0.0, 0.2, -1.0], [1.0, 0.0, 0.0], [0.0, 0.9, 0.7], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    order = neuron_order(W).tolist()
    assert order == [1, 3, 4, 2, 0]  # feature 0 (+ then -), feature 1 (mono then poly), feature 2
    assert sorted(order) == list(range(5))
    with pytest.raises(ValueError, match="one model's"):
        neuron_order(W[None])
