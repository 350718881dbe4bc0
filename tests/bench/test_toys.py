import json

import pytest

from helpers import profiles
from helpers.bench import toys
from helpers.bench.framework import BenchSettings
from tests.bench.settings import tiny_settings


def test_the_sweep_comparison_runs_at_tiny_sizes_and_gives_a_well_formed_row():
    row = toys.tms_sparsity_training(tiny_settings())
    assert row.ours_seconds > 0 and row.baseline_seconds > 0
    assert row.ratio == pytest.approx(row.baseline_seconds / row.ours_seconds)
    assert row.meets_target == (row.ratio >= row.target_ratio) and row.target_ratio == 5
    assert row.details["instances"] == 2 and row.details["steps"] == 2 and row.details["batch_size"] == 8
    assert row.details["cpu_seconds"] >= 0 and row.details["baseline_cpu_seconds"] >= 0
    assert row.details["samples_x_instances_per_s"] == pytest.approx(2 * 8 * 2 / row.ours_seconds)
    assert json.loads(json.dumps(row.as_dict()))["ratio"] == pytest.approx(row.ratio)


def test_training_flops_count_six_matmuls_per_step():
    # forward: x·Wᵀ and h·W, each 2·I·B·n·m; backward twice that
    assert (
        toys.toy_training_flops(n_instances=3, batch_size=4, n_features=5, n_hidden=2)
        == 6 * 2 * 3 * 4 * 5 * 2
    )


def test_the_toy_sae_comparison_runs_at_tiny_sizes():
    profile = profiles.load("smoke", {"toy_sae.batch_size": 64, "toy_sae.samples": 64, "toy_sae.seeds": 2})
    row = toys.toy_sae_training(BenchSettings(profile, steps=2))
    assert row.ours_seconds > 0 and row.baseline_seconds > 0 and row.target_ratio == 4
    assert row.details["seeds"] == 2 and row.details["batch_size"] == 64
    assert row.details["samples_x_seeds_per_s"] == pytest.approx(2 * 64 * 2 / row.ours_seconds)
