"""Synthetic activations of known make-up (dark matter §5, Apps. B-C) against closed forms and direct fits."""

import numpy as np
import pytest
import torch

from helpers.dark_matter.decomposition import fit_affine, fvu, split_tokens
from helpers.dark_matter.synthetic_activations import (
    SeedStreams,
    bernoulli_activations,
    decoder_probe_alignment,
    fit_norm_probe,
    masked_reconstructions,
    noise_levels,
    orthonormal_features,
    planted_noise_sweep,
    poisson_activations,
    poisson_norm_probe_r2,
    poisson_probe_weights,
    power_law_activations,
    power_law_frequencies,
    random_unit_vectors,
    rarest_first_keep_masks,
)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def halves(n: int, seed: int = 0):
    return split_tokens(np.arange(n), 0.5, seed)


def test_orthonormal_features_are_orthonormal_and_must_fit():
    features = orthonormal_features(12, 20, generator(0))
    torch.testing.assert_close(features @ features.T, torch.eye(12, dtype=torch.float64))
    with pytest.raises(ValueError, match="do not fit"):
        orthonormal_features(21, 20, generator(0))


def test_bernoulli_sums_of_orthogonal_features_have_a_perfect_norm_probe_along_the_scales():
    features = orthonormal_features(16, 24, generator(1))
    scales = torch.linspace(0.5, 3.0, 16, dtype=torch.float64)
    x = bernoulli_activations(6000, scales, 0.1, generator(2)) @ features
    probe = fit_norm_probe(x, halves(len(x)))
    assert probe.r2 == pytest.approx(1.0, abs=1e-9)
    torch.testing.assert_close(features @ probe.direction, scales, atol=1e-6, rtol=0)


@pytest.mark.parametrize("rates", [[0.5] * 12, [0.05, 0.2, 0.5, 1.0, 2.0, 4.0]])
def test_poisson_norm_probe_matches_the_closed_form(rates):
    rates = torch.tensor(rates, dtype=torch.float64)
    features = orthonormal_features(len(rates), 20, generator(3))
    x = poisson_activations(60_000, rates, generator(4)) @ features
    probe = fit_norm_probe(x, halves(len(x)))
    assert probe.r2 == pytest.approx(poisson_norm_probe_r2(rates), abs=0.01)
    weights = features @ probe.direction
    torch.testing.assert_close(weights, poisson_probe_weights(rates), atol=0.15, rtol=0.05)


def test_poisson_closed_form_for_equal_rates_is_a_squared_correlation():
    for rate in (0.1, 1.0, 10.0):
        expected = (2 * rate + 1) ** 2 / (4 * rate**2 + 6 * rate + 1)
        assert poisson_norm_probe_r2(torch.full((7,), rate, dtype=torch.float64)) == pytest.approx(
            expected, rel=1e-12
        )
    with pytest.raises(ValueError, match="positive"):
        poisson_activations(10, torch.tensor([1.0, 0.0]), generator(0))


def test_decoder_alignment_reads_mean_active_activation_along_orthogonal_rows_of_any_norm():
    width, d, n = 10, 16, 8000
    row_norms = torch.linspace(0.5, 4.0, width, dtype=torch.float64)
    decoder = orthonormal_features(width, d, generator(5)) * row_norms[:, None]
    amplitudes = torch.linspace(1.0, 5.0, width, dtype=torch.float64)
    latents = bernoulli_activations(n, amplitudes, 0.2, generator(6))
    latents[:, -1] = 0  # a latent that never fires
    alignment = decoder_probe_alignment(latents, decoder, halves(n))
    assert alignment.r2 == pytest.approx(1.0, abs=1e-9)
    assert not alignment.fired[-1] and np.isnan(alignment.mean_active_activation[-1])
    expected = (amplitudes * row_norms)[:-1].numpy()
    np.testing.assert_allclose(alignment.mean_active_activation[:-1], expected, rtol=1e-12)
    np.testing.assert_allclose(alignment.probe_along_decoder[:-1], expected, rtol=1e-6)
    assert alignment.median_ratio == pytest.approx(1.0, abs=1e-6)
    assert alignment.correlation == pytest.approx(1.0, abs=1e-9)
    assert alignment.summed_probe_r2 == pytest.approx(1.0, abs=1e-9)
    assert alignment.summed_probe_scale == pytest.approx(1.0, abs=1e-9)
    assert alignment.own_square_share == pytest.approx(1.0, abs=1e-9)


def test_overlapping_decoder_rows_share_the_squared_norm():
    decoder = torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=torch.float64)  # cosine 0.6
    latents = torch.ones(40, 2, dtype=torch.float64)
    latents[::2, 1] = 0  # every other token, the second latent fires with the first
    alignment = decoder_probe_alignment(latents, decoder, halves(40))
    # tokens with both: ‖y‖² = 1 + 1 + 2·0.6, own squares 2; tokens with one: 1 and 1
    assert alignment.own_square_share == pytest.approx((20 * 2 + 20 * 1) / (20 * 3.2 + 20 * 1))


def test_rarest_latents_are_masked_first_and_shares_must_be_below_one():
    mean_activation = torch.tensor([0.5, 0.1, 0.9, 0.0, 0.3])
    keep = rarest_first_keep_masks(mean_activation, [0.0, 0.4, 0.8])
    assert keep[0].all()
    assert keep[1].tolist() == [True, False, True, False, True]
    assert keep[2].tolist() == [False, False, True, False, False]
    for shares in ([1.0], [0.2, 1.5], [-0.1], []):
        with pytest.raises(ValueError, match=r"in \[0, 1\)"):
            rarest_first_keep_masks(mean_activation, shares)


def test_masked_reconstructions_zero_the_masked_latents_before_decoding():
    latents = torch.tensor([[1.0, 2.0, 3.0]])
    keep = torch.tensor([[True, True, True], [True, False, True]])
    decoded = masked_reconstructions(latents, lambda a: a.sum(-1, keepdim=True), keep)
    assert decoded.squeeze().tolist() == [6.0, 4.0]


def test_noise_levels_reach_the_asked_share_of_variance():
    clean = torch.randn(5000, 8, generator=generator(7)) * torch.arange(1, 9)
    levels = noise_levels(clean, 5, 0.25)
    assert levels[0] == 0 and len(levels) == 5 and np.allclose(np.diff(levels), levels[1])
    assert levels[-1] ** 2 * 8 == pytest.approx(0.25 * clean.double().var(0).sum().item())
    with pytest.raises(ValueError, match="at least two"):
        noise_levels(clean, 1, 0.25)


def sparse_dictionary_data(n=3000, d=24, width=48, seed=8):
    """Non-negative sparse sums of `width` random unit directions in `d` dimensions."""
    decoder = random_unit_vectors(width, d, generator(seed))
    frequencies = power_law_frequencies(width, 4.0, 0.5)
    latents = power_law_activations(n, frequencies, generator(seed + 1))
    return latents, decoder


def test_sweep_equals_one_least_squares_fit_per_grid_point():
    latents, decoder = sparse_dictionary_data(n=800, d=10, width=20)
    clean = latents @ decoder
    shares = [0.0, 0.5]
    reconstructions = masked_reconstructions(
        latents, lambda a: torch.relu(a @ decoder - 0.1), torch.ones(2, 20, dtype=torch.bool)
    )
    reconstructions[1] *= 0.8
    levels = np.array([0.0, 0.3, 0.7])
    split = split_tokens(np.arange(800), 0.6, 1)
    sweep = planted_noise_sweep(clean, reconstructions, levels, shares, split, generator(9))
    draws = generator(9)
    input_noise, reconstruction_noise = (
        torch.randn(800, 10, generator=draws),
        torch.randn(800, 10, generator=draws),
    )
    train, test = torch.from_numpy(split.train), torch.from_numpy(split.test)
    for i, sigma_in in enumerate(levels):
        for j, sigma_rec in enumerate(levels):
            for m in range(2):
                noised = (clean + sigma_in * input_noise).double()
                noised_reconstruction = (reconstructions[m] + sigma_rec * reconstruction_noise).double()
                probe = fit_affine(noised[train], (noised - noised_reconstruction)[train])
                plain = fvu(noised[test], noised_reconstruction[test])
                with_probe = fvu(noised[test], noised_reconstruction[test] + probe(noised[test]))
                assert sweep.fvu_reconstruction[i, j, m] == pytest.approx(plain, rel=1e-6)
                assert sweep.fvu_nonlinear[i, j, m] == pytest.approx(with_probe, rel=1e-6)


def test_noise_free_unmasked_reconstruction_leaves_nothing_unexplained():
    latents = bernoulli_activations(2000, torch.ones(8, dtype=torch.float64), 0.3, generator(10)).float()
    decoder = orthonormal_features(8, 12, generator(11)).float()
    clean = latents @ decoder
    keep = rarest_first_keep_masks(latents.mean(0), [0.0, 0.5])
    sweep = planted_noise_sweep(
        clean,
        masked_reconstructions(latents, lambda a: a @ decoder, keep),
        np.array([0.0, 0.5]),
        [0.0, 0.5],
        halves(2000),
        generator(12),
    )
    assert sweep.fvu_reconstruction[0, 0, 0] == pytest.approx(0.0, abs=1e-10)
    assert sweep.fvu_nonlinear[0, 0, 0] == pytest.approx(0.0, abs=1e-10)
    # orthogonal latents masked from the reconstruction are a linear function of x: all linear error
    assert sweep.fvu_reconstruction[0, 0, 1] > 0.1
    assert sweep.fvu_nonlinear[0, 0, 1] == pytest.approx(0.0, abs=1e-8)
    assert sweep.nonlinear_drift()[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_planted_noise_is_recovered_on_the_diagonal_of_table_1():
    latents, decoder = sparse_dictionary_data()
    clean = latents @ decoder
    shares = [0.0, 0.3]
    keep = rarest_first_keep_masks(latents.mean(0), shares)
    reconstructions = masked_reconstructions(latents, lambda a: a @ decoder, keep)
    levels = noise_levels(clean, 4, 0.5)
    sweep = planted_noise_sweep(clean, reconstructions, levels, shares, halves(len(clean)), generator(13))
    table = sweep.noise_correlations(mask_index=0)
    assert min(table[0, 0], table[1, 1]) > 0.9
    assert min(table[0, 0], table[1, 1]) > max(table[0, 1], table[1, 0])
    again = planted_noise_sweep(clean, reconstructions, levels, shares, halves(len(clean)), generator(13))
    np.testing.assert_array_equal(again.fvu_nonlinear, sweep.fvu_nonlinear)


def test_sweep_rejects_mismatched_inputs():
    clean = torch.zeros(10, 3)
    with pytest.raises(ValueError, match="do not match"):
        planted_noise_sweep(
            clean, torch.zeros(2, 10, 3), np.array([0.0, 1.0]), [0.0], halves(10), generator(0)
        )
    with pytest.raises(ValueError, match="do not match"):
        planted_noise_sweep(
            clean, torch.zeros(1, 10, 4), np.array([0.0, 1.0]), [0.0], halves(10), generator(0)
        )


def test_power_law_frequencies_sum_to_the_mean_l0_and_activations_follow_them():
    frequencies = power_law_frequencies(500, 20.0, 1.0)
    assert frequencies.sum().item() == pytest.approx(20.0, rel=1e-9)
    assert (frequencies <= 1).all() and (frequencies.diff() <= 0).all() and frequencies[0] == 1
    activations = power_law_activations(20_000, frequencies, generator(14))
    assert (activations >= 0).all()
    assert (activations > 0).sum(-1).float().mean().item() == pytest.approx(20.0, rel=0.02)
    assert activations[:, :5].mean().item() == pytest.approx(frequencies[:5].mean().item(), rel=0.05)
    with pytest.raises(ValueError, match="below the 500"):
        power_law_frequencies(500, 500.0, 1.0)


def test_random_unit_vectors_have_unit_norm():
    vectors = random_unit_vectors(50, 7, generator(15))
    torch.testing.assert_close(vectors.norm(dim=-1), torch.ones(50))


def test_seed_streams_are_distinct_fixed_by_the_seed_and_restart_on_each_call():
    streams = SeedStreams(0, ("theory", "noise", "random"))
    assert len(set(streams.seeds.values())) == 3
    assert streams.seeds == SeedStreams(0, ("theory", "noise", "random")).seeds
    assert streams.seeds["theory"] == SeedStreams(0, ("theory",)).seeds["theory"], "a stream keeps its seed"
    assert streams.seeds != SeedStreams(1, ("theory", "noise", "random")).seeds
    first, again = (torch.rand(4, generator=streams.generator("noise")) for _ in range(2))
    torch.testing.assert_close(first, again)
