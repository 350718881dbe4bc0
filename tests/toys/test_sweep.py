import pytest
import torch

from helpers.book.random_source import RandomSource
from helpers.profiles import ToyTraining
from helpers.toys.models import ToyModel
from helpers.toys.sweep import Sweep, sweep_features, train_pair_sweep, train_sweep

TINY = ToyTraining(steps=30, batch_size=64, lr=1e-2, seeds_per_setting=3, eval_samples=512, log_every=10)


def test_sweep_features_lay_out_every_setting_once_per_seed():
    features = sweep_features(torch.tensor([0.5, 0.25]), 3, 4, signed=True)
    assert features.probability.tolist() == [[0.5] * 4] * 3 + [[0.25] * 4] * 3
    assert features.signed and features.n_instances == 6


def kept_at(best: list[int], seeds: int) -> Sweep:
    return Sweep(model=None, loss=torch.zeros(len(best) * seeds), best=torch.tensor(best), seconds=0.0)


def test_seeds_that_differ_from_the_kept_one():
    sweep = kept_at([1, 3], seeds=3)  # setting 0 keeps its second seed, setting 1 its first
    counts = torch.tensor([2, 2, 3, 5, 5, 5])
    assert sweep.per_setting(counts).tolist() == [[2, 2, 3], [5, 5, 5]]
    assert sweep.differs_from_kept(counts).tolist() == [[False, False, True], [False, False, False]]
    assert sweep.seed_miss_rate(counts) == pytest.approx(100 / 6)


def test_vector_values_miss_when_any_entry_is_beyond_the_tolerance():
    sweep = kept_at([0], seeds=3)
    cosines = torch.tensor([[0.0, -1.0], [0.1, -1.0], [0.0, -0.5]])
    assert sweep.differs_from_kept(cosines, tolerance=0.2).tolist() == [[False, False, True]]
    assert sweep.seed_miss_rate(cosines, tolerance=0.05) == pytest.approx(200 / 3)


def test_train_sweep_keeps_the_lowest_loss_seed_of_each_setting():
    seeds = TINY.seeds_per_setting
    model = ToyModel(2 * seeds, 4, 2, generator=torch.Generator().manual_seed(0))
    features = sweep_features(torch.tensor([1.0, 0.1]), seeds, 4)
    sweep = train_sweep(model, features, torch.ones(4), seeds, TINY, RandomSource(0), progress=False)
    assert sweep.loss.shape == (2 * seeds,) and sweep.seeds == seeds
    for setting, instance in enumerate(sweep.best.tolist()):
        group = sweep.per_setting(sweep.loss)[setting]
        assert instance // seeds == setting and sweep.loss[instance] == group.min()
    assert sweep.W.shape == (2 * seeds, 2, 4) and sweep.seconds > 0


def test_a_given_loss_picks_the_kept_seeds_and_draws_no_evaluation_samples():
    losses = torch.tensor([3.0, 1.0, 2.0, 0.5, 4.0, 0.7])
    model = ToyModel(6, 3, 1, generator=torch.Generator().manual_seed(0))
    features, source = sweep_features(torch.tensor([0.5, 0.2]), 3, 3), RandomSource(0)
    sweep = train_sweep(
        model, features, torch.ones(3), 3, TINY, source, progress=False, loss=lambda _: losses
    )
    assert sweep.best.tolist() == [1, 3]
    reference = RandomSource(0)  # the same training draws and nothing after them
    for _ in range(TINY.steps):
        features.sample(TINY.batch_size, reference)
    assert torch.equal(source.uniform(1, 5), reference.uniform(1, 5))


def test_pair_sweep_trains_paired_features_in_two_dimensions():
    sweep = train_pair_sweep(
        1, 1, torch.tensor([0.3, 0.1]), 2, TINY, torch.Generator().manual_seed(0), RandomSource(0)
    )
    assert (
        sweep.W.shape == (4, 2, 4) and sweep.best.tolist()[0] in (0, 1) and sweep.best.tolist()[1] in (2, 3)
    )
