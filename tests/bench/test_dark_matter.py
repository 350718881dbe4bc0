import torch

from helpers.bench import dark_matter as dark_matter_bench


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
