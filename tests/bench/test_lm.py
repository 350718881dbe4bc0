import pytest

from helpers import profiles
from helpers.bench import lm as lm_bench
from helpers.bench.framework import BenchSettings


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
    assert harvest.ratio > 1, "stopping after the site's layer in bf16 beats a full fp32 forward"
    assert harvest.details["dtype"] == "bfloat16" and harvest.details["achieved_gflops"] > 0
    training = lm_bench.topk_sae_training(settings)
    assert training.details["samples"] == 4 * settings.profile.sae_suite.batch_size
    assert 0 < training.details["fvu"] < 2 and 0 < training.details["baseline_fvu"] < 2
