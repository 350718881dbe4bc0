import pytest
import torch

from helpers import profiles
from helpers.bench import lm as lm_bench
from helpers.bench.autograd_topk import train_topk_sae_with_autograd
from helpers.bench.framework import BenchSettings
from helpers.lm.precision import dtype_name, resolve_dtype
from helpers.lm.topk_training import TopKTraining, train_topk_sae


def test_the_suite_row_s_baseline_trains_the_same_sae_as_our_path():
    torch.manual_seed(0)
    data = [torch.randn(32, 16) for _ in range(8)]
    config = TopKTraining(width=48, k=4, samples=256, batch_size=32, dead_after=64)
    ours, ours_log = train_topk_sae(iter(data), 16, config)
    before, before_log = train_topk_sae_with_autograd(iter(data), 16, config)
    for name, tensor in before.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[name], tensor, rtol=1e-4, atol=1e-5)
    assert ours_log.fvu[-1] == pytest.approx(before_log.fvu[-1], rel=1e-4)


def test_flops_per_token_count_two_per_weight_plus_attention(smollm2):
    layer = smollm2.decoder_layers[0]
    weights = sum(p.numel() for p in layer.parameters() if p.dim() == 2)
    attention = 2 * 2 * smollm2.d_model * 100 / 2  # 9 heads of 64 = d_model for SmolLM2
    assert lm_bench.forward_flops_per_token(smollm2, 0, 100) == 2 * weights + attention
    assert lm_bench.forward_flops_per_token(smollm2, 1, 100) == 2 * (2 * weights + attention)


@pytest.mark.slow
def test_the_language_model_rows_run_at_smoke_and_beat_the_obvious_way():
    settings = BenchSettings(profiles.load("smoke"), steps=4)
    harvest = lm_bench.activation_harvest(settings)
    native = resolve_dtype("auto", settings.device)
    assert harvest.ratio > 1, (
        "stopping after the site's layer, in bf16 where native, beats a full fp32 forward"
    )
    assert harvest.details["dtype"] == dtype_name(native) and harvest.details["achieved_gflops"] > 0
    training = lm_bench.topk_sae_training(settings)
    assert training.details["samples"] == 4 * settings.profile.sae_suite.batch_size
    assert 0 < training.details["fvu"] < 2 and 0 < training.details["baseline_fvu"] < 2
    suite = lm_bench.suite_training(settings)
    topk = [
        e for e in lm_bench.LmData(settings.profile, 0, settings.device).entries if e.architecture == "topk"
    ]
    assert suite.details["saes"] == len(topk) and suite.details["largest_fvu_relative_difference"] < 0.01
