import dataclasses
import json

import pytest
import torch

from helpers import bench, dark_matter_bench, lm_bench, profiles


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
        bench.Comparison(
            "bf16 one", "a", 1.0, "b", 2.0, 1.0, {"achieved_gflops": 200.0, "dtype": "bfloat16"}
        ),
    ]
    ceilings = {"float32": 170.0, "bfloat16": 400.0}
    table = bench.markdown_table(rows, ceilings)
    assert "| fast one |" in table and "8.0×" in table and "17.0 (10.0%) float32" in table
    assert "| slow one |" in table and "1.5×" in table and "| no |" in table
    assert "200.0 (50.0%) bfloat16" in table, "each row's share is of the ceiling in its own dtype"
    path = tmp_path / "bench" / "results.json"
    bench.write_results(rows, ceilings, tiny_settings(), path)
    record = json.loads(path.read_text())
    assert [r["name"] for r in record["rows"]] == ["fast one", "slow one", "bf16 one"]
    assert [r["meets_target"] for r in record["rows"]] == [True, False, True]
    assert [r["ceiling_share"] for r in record["rows"]] == [0.1, None, 0.5]
    assert record["matmul_gflops"] == ceilings


def test_matmul_ceiling_is_a_positive_rate():
    assert bench.matmul_gflops(torch.device("cpu"), size=64, repeats=1) > 0
    assert bench.matmul_gflops(torch.device("cpu"), torch.bfloat16, size=64, repeats=1) > 0


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


def test_flops_per_token_count_two_per_weight_plus_attention():
    from helpers.language_model import load_language_model

    lm = load_language_model("smollm2-135m")
    layer = lm.decoder_layers[0]
    weights = sum(p.numel() for p in layer.parameters() if p.dim() == 2)
    attention = 2 * 2 * lm.d_model * 100 / 2  # 9 heads of 64 = d_model for SmolLM2
    assert lm_bench.forward_flops_per_token(lm, 0, 100) == 2 * weights + attention
    assert lm_bench.forward_flops_per_token(lm, 1, 100) == 2 * (2 * weights + attention)


@pytest.mark.slow
def test_the_language_model_rows_run_at_smoke_and_beat_the_obvious_way():
    settings = bench.BenchSettings(profiles.load("smoke"), steps=4)
    harvest = lm_bench.activation_harvest(settings)
    assert harvest.ratio > 1, "stopping after the site's layer in bf16 beats a full fp32 forward"
    assert harvest.details["dtype"] == "bfloat16" and harvest.details["achieved_gflops"] > 0
    training = lm_bench.topk_sae_training(settings)
    assert training.details["samples"] == 4 * settings.profile.sae_suite.batch_size
    assert 0 < training.details["fvu"] < 2 and 0 < training.details["baseline_fvu"] < 2


def test_closed_form_regression_agrees_with_scikit_learn_on_a_bench_sized_problem():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(6000, 40, generator=generator) @ torch.randn(40, 40, generator=generator)
    y = x @ torch.randn(40, 40, generator=generator) + torch.randn(6000, 40, generator=generator)
    x, y = x.numpy(), y.numpy()
    ours_seconds, sklearn_seconds, ours_r2, sklearn_r2 = dark_matter_bench.regression_comparison(
        x[:4000], y[:4000], x[4000:], y[4000:], torch.device("cpu")
    )
    assert ours_seconds > 0 and sklearn_seconds > 0
    assert 0.5 < ours_r2 < 1 and abs(ours_r2 - sklearn_r2) < 1e-6


def test_batched_gradient_pursuit_agrees_with_the_per_token_loop():
    generator = torch.Generator().manual_seed(0)
    atoms = torch.randn(512, 48, generator=generator)
    atoms = atoms / atoms.norm(dim=-1, keepdim=True)
    x = torch.randn(64, 48, generator=generator)
    bias = 0.1 * torch.randn(48, generator=generator)
    l0 = torch.randint(0, 13, (64,), generator=generator)
    ours_seconds, loop_seconds, difference, error_difference = dark_matter_bench.pursuit_comparison(
        x, atoms, bias, l0, torch.device("cpu")
    )
    assert ours_seconds > 0 and loop_seconds > 0  # the speed-up is the bench's to measure, at its size
    assert difference < 1e-4 and error_difference < 1e-5
    nothing = dark_matter_bench.per_token_pursuit(x[:1], atoms, bias, torch.zeros(1, dtype=torch.long))
    torch.testing.assert_close(nothing, bias[None], msg="an L0 of 0 reconstructs the bias alone")
