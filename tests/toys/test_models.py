import pytest
import torch

from helpers.book.random_source import RandomSource
from helpers.toys.geometry import represented
from helpers.toys.models import (
    AbsoluteValueModel,
    SparseFeatures,
    ToyModel,
    evaluate_loss,
    lowest_loss_instances,
    repeat_per_seed,
    train_toy_model,
    weighted_mse_per_instance,
)


def test_sparse_features_have_the_asked_probability_and_uniform_magnitudes():
    probability = torch.tensor([[1.0, 0.3, 0.05], [0.5, 0.5, 0.5]])
    x = SparseFeatures(probability).sample(200_000, RandomSource(0))
    assert x.shape == (2, 200_000, 3)
    present = x > 0
    assert torch.allclose(present.float().mean(dim=1), probability, atol=4e-3)
    magnitudes = x[present]
    assert magnitudes.max() <= 1 and magnitudes.min() > 0
    assert abs(magnitudes.mean().item() - 0.5) < 3e-3  # uniform on (0, 1]
    assert abs(magnitudes.var().item() - 1 / 12) < 2e-3


def test_random_source_is_reproducible_from_its_seed():
    assert torch.equal(RandomSource(3).uniform(4, 5), RandomSource(3).uniform(4, 5))
    assert not torch.equal(RandomSource(3).uniform(4, 5), RandomSource(4).uniform(4, 5))


def test_forward_matches_the_per_instance_formula():
    model = ToyModel(3, 5, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.b.normal_()
    x = torch.randn(3, 7, 5)
    out = model(x)
    for i in range(3):
        expected = torch.relu(x[i] @ model.W[i].T @ model.W[i] + model.b[i])
        assert torch.allclose(out[i], expected, atol=1e-6)
    linear = ToyModel(3, 5, 2, activation="linear", generator=torch.Generator().manual_seed(0))
    assert (linear(-x.abs() * 10) < 0).any()


@pytest.mark.parametrize(
    "make_model",
    [
        lambda g: ToyModel(3, 6, 2, generator=g),
        lambda g: ToyModel(3, 6, 2, activation="linear", generator=g),
        lambda g: ToyModel(3, 6, 4, hidden_relu=True, generator=g),
        lambda g: AbsoluteValueModel(3, 6, 4, generator=g),
    ],
    ids=["relu", "linear", "privileged-basis", "absolute-value"],
)
@pytest.mark.parametrize("per_instance_importance", [False, True])
def test_closed_form_gradients_match_autograd(make_model, per_instance_importance):
    model = make_model(torch.Generator().manual_seed(1))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))  # a non-zero bias, some ReLUs off
    x = torch.randn(3, 50, 6)
    importance = torch.rand(3, 6) if per_instance_importance else torch.rand(6)
    expected_loss = weighted_mse_per_instance(model.target(x), model(x), importance)
    expected_loss.sum().backward()
    expected = [parameter.grad.clone() for parameter in model.parameters()]
    loss = model.set_gradients(x, importance, with_loss=True)
    assert torch.allclose(loss, expected_loss.detach(), atol=1e-6)
    for got, want in zip((parameter.grad for parameter in model.parameters()), expected, strict=True):
        assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()
    assert model.set_gradients(x, importance, with_loss=False) is None


def test_random_source_draws_do_not_depend_on_threading(monkeypatch):
    import helpers.book.random_source as random_source

    size = random_source.PARALLEL_FROM
    threaded = RandomSource(5).uniform(3, size)
    monkeypatch.setattr(random_source, "PARALLEL_FROM", 10**12)
    assert torch.equal(threaded, RandomSource(5).uniform(3, size))
    assert 0 <= threaded.min() and threaded.max() < 1 and abs(threaded.mean().item() - 0.5) < 0.01


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="activation = 'tanh'"):
        ToyModel(1, 2, 1, activation="tanh")


def test_weighted_loss_is_importance_weighted_mean():
    target = torch.ones(2, 4, 3)
    output = torch.zeros(2, 4, 3)
    importance = torch.tensor([1.0, 0.5, 0.0])
    assert torch.allclose(weighted_mse_per_instance(target, output, importance), torch.full((2,), 0.5))
    per_instance = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 3.0]])
    assert torch.allclose(weighted_mse_per_instance(target, output, per_instance), torch.tensor([1.0, 1.0]))


def test_instances_train_independently():
    """Training a batch of instances gives each the same result as training it alone."""

    def trained(n_instances: int) -> ToyModel:
        model = ToyModel(n_instances, 4, 2)
        start = torch.randn(1, 2, 4, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():  # every instance starts from the same weights
            model.W.copy_(start.expand_as(model.W))
        features = SparseFeatures(torch.full((n_instances, 4), 0.2))
        source = _SharedDraws(RandomSource(0))  # every instance sees the same samples
        train_toy_model(
            model, features, torch.ones(4), steps=50, batch_size=64, lr=1e-2, source=source, progress=False
        )
        return model

    alone, batched = trained(1), trained(3)
    for i in range(3):
        assert torch.allclose(batched.W[i], alone.W[0], atol=1e-5)


class _SharedDraws:
    """A random source that gives every instance the same draws."""

    def __init__(self, source: RandomSource) -> None:
        self.source = source

    def uniform(self, n_instances: int, *shape: int) -> torch.Tensor:
        return self.source.uniform(1, *shape).expand(n_instances, *shape).clone()


def test_training_reduces_loss_and_learns_the_dense_pca_solution():
    """Dense, 3 features in 2 dims, importance decaying: the top two are kept, orthogonally."""
    model = ToyModel(2, 3, 2, generator=torch.Generator().manual_seed(1))
    features = SparseFeatures(torch.ones(2, 3))
    importance = torch.tensor([1.0, 0.7, 0.1])
    source = RandomSource(1)
    before = evaluate_loss(model, features, importance, 4096, source)
    log = train_toy_model(
        model, features, importance, steps=1500, batch_size=256, lr=1e-2, source=source, progress=False
    )
    after = evaluate_loss(model, features, importance, 4096, source)
    assert (after < before).all() and log.losses.shape == (len(log.steps), 2)
    W = model.W.detach()
    assert represented(W).tolist() == [[True, True, False]] * 2
    cos = torch.nn.functional.cosine_similarity(W[:, :, 0], W[:, :, 1], dim=1)
    assert cos.abs().max() < 0.05


def test_seed_layout_and_lowest_loss_pick():
    assert repeat_per_seed(torch.tensor([1.0, 2.0]), 3).tolist() == [1, 1, 1, 2, 2, 2]
    losses = torch.tensor([3.0, 1.0, 2.0, 0.5, 4.0, 0.7])
    assert lowest_loss_instances(losses, 3).tolist() == [1, 3]
    with pytest.raises(ValueError, match="do not split into groups of 4"):
        lowest_loss_instances(losses, 4)


def test_correlated_pairs_fire_together_and_anticorrelated_pairs_never():
    probability = torch.full((1, 6), 0.2)
    x = SparseFeatures(probability, correlated_pairs=1, anticorrelated_pairs=1).sample(
        100_000, RandomSource(2)
    )[0]
    fires = x > 0
    assert torch.equal(fires[:, 0], fires[:, 1])
    assert not (fires[:, 2] & fires[:, 3]).any()
    assert torch.allclose(fires.float().mean(dim=0), torch.full((6,), 0.2), atol=5e-3)
    # independent features co-occur at p², pairs' magnitudes are drawn separately
    assert abs((fires[:, 4] & fires[:, 5]).float().mean().item() - 0.04) < 3e-3
    assert not torch.equal(x[:, 0], x[:, 1])


def test_signed_features_are_uniform_on_minus_one_to_one():
    x = SparseFeatures(torch.full((1, 3), 0.5), signed=True).sample(100_000, RandomSource(3))
    nonzero = x[x != 0]
    assert nonzero.min() > -1 and nonzero.max() <= 1 and abs(nonzero.mean().item()) < 0.01
    assert abs((x != 0).float().mean().item() - 0.5) < 5e-3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"probability": torch.ones(3)}, "must be \\[instances, features\\]"),
        ({"probability": torch.zeros(1, 2)}, "in \\(0, 1\\]"),
        ({"probability": torch.full((1, 2), 0.1), "correlated_pairs": 2}, "do not fit"),
        ({"probability": torch.full((1, 2), 0.6), "anticorrelated_pairs": 1}, "probability <= 0.5"),
    ],
)
def test_impossible_feature_data_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SparseFeatures(**kwargs)


def test_privileged_basis_and_absolute_value_models():
    g = torch.Generator().manual_seed(0)
    model = ToyModel(2, 4, 3, hidden_relu=True, generator=g)
    x = torch.rand(2, 5, 4)
    hidden = torch.relu(torch.einsum("ihf,ibf->ibh", model.W, x))
    expected = torch.relu(torch.einsum("ihf,ibh->ibf", model.W, hidden) + model.b[:, None])
    assert torch.allclose(model(x), expected, atol=1e-6)

    absolute = AbsoluteValueModel(2, 4, 3, generator=g)
    signed = torch.rand(2, 5, 4) * 2 - 1
    neurons = torch.relu(torch.einsum("inf,ibf->ibn", absolute.W_in, signed))
    expected = torch.relu(torch.einsum("ifn,ibn->ibf", absolute.W_out, neurons) + absolute.b[:, None])
    assert torch.allclose(absolute(signed), expected, atol=1e-6)
    assert torch.equal(absolute.target(signed), signed.abs())


def test_absolute_value_model_learns_abs_with_enough_neurons():
    """|x| = ReLU(x) + ReLU(-x) needs two neurons per feature; with 6 neurons for 2 features the
    best of 8 initialisations finds it (single ones can lose neurons to dead ReLUs)."""
    model = AbsoluteValueModel(8, 2, 6, generator=torch.Generator().manual_seed(0))
    features = SparseFeatures(torch.ones(8, 2), signed=True)
    source = RandomSource(0)
    train_toy_model(
        model, features, torch.ones(2), steps=1500, batch_size=256, lr=1e-2, source=source, progress=False
    )
    assert evaluate_loss(model, features, torch.ones(2), 4096, source).min().item() < 1e-4


def test_data_and_model_must_have_the_same_instances():
    with pytest.raises(ValueError, match="the data has 2 instances, the model 3"):
        train_toy_model(
            ToyModel(3, 2, 1),
            SparseFeatures(torch.ones(2, 2)),
            torch.ones(2),
            steps=1,
            batch_size=1,
            lr=1e-3,
            source=RandomSource(0),
            progress=False,
        )
