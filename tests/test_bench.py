import dataclasses
import json

import pytest
import torch

from helpers import bench, profiles


def tiny_settings() -> bench.BenchSettings:
    profile = profiles.load("smoke", {"toy.seeds_per_setting": 1, "toy.batch_size": 8})
    section = dataclasses.replace(profile.tms_sparsity, n_features=4, n_hidden=2, sparsities=(0.0, 0.9))
    return bench.BenchSettings(dataclasses.replace(profile, tms_sparsity=section), steps=2)


def test_the_sweep_comparison_runs_at_tiny_sizes_and_gives_a_well_formed_row():
    row = bench.tms_sparsity_training(tiny_settings())
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
        bench.toy_training_flops(n_instances=3, batch_size=4, n_features=5, n_hidden=2)
        == 6 * 2 * 3 * 4 * 5 * 2
    )


def test_table_and_json_hold_every_row(tmp_path):
    rows = [
        bench.Comparison("fast one", "a", 1.0, "b", 8.0, 5.0, {"achieved_gflops": 17.0}),
        bench.Comparison("slow one", "a", 2.0, "b", 3.0, 5.0),
    ]
    table = bench.markdown_table(rows, ceiling_gflops=170.0)
    assert "| fast one |" in table and "8.0×" in table and "17.0 (10.0%)" in table
    assert "| slow one |" in table and "1.5×" in table and "| no |" in table
    path = tmp_path / "bench" / "results.json"
    bench.write_results(rows, 170.0, tiny_settings(), path)
    record = json.loads(path.read_text())
    assert [r["name"] for r in record["rows"]] == ["fast one", "slow one"]
    assert [r["meets_target"] for r in record["rows"]] == [True, False]
    assert record["matmul_fp32_gflops"] == 170.0


def test_matmul_ceiling_is_a_positive_rate():
    assert bench.matmul_gflops(torch.device("cpu"), size=64, repeats=1) > 0


def test_unknown_benchmark_names_the_choices():
    with pytest.raises(ValueError, match="unknown benchmark.*nope.*tms_sparsity sweep training"):
        bench.run_benchmarks(tiny_settings(), ["nope"])


def test_a_name_registers_once():
    with pytest.raises(ValueError, match="registered twice"):
        bench.benchmark("tms_sparsity sweep training")(lambda settings: None)


def test_settings_refuse_zero_steps():
    with pytest.raises(ValueError, match="steps = 0"):
        bench.BenchSettings(profiles.load("smoke"), steps=0)


def test_the_toy_sae_comparison_runs_at_tiny_sizes():
    profile = profiles.load("smoke", {"toy_sae.batch_size": 64, "toy_sae.samples": 64, "toy_sae.seeds": 2})
    row = bench.toy_sae_training(bench.BenchSettings(profile, steps=2))
    assert row.ours_seconds > 0 and row.baseline_seconds > 0 and row.target_ratio == 2
    assert row.details["seeds"] == 2 and row.details["batch_size"] == 64
    assert row.details["samples_x_seeds_per_s"] == pytest.approx(2 * 64 * 2 / row.ours_seconds)
