"""Synthetic activations of known make-up (dark matter §5, Apps. B-C) against closed forms and direct fits."""

import numpy as np
import pytest
import torch

from helpers.book.intervals import resample_counts
from helpers.dark_matter.decomposition import TokenSplit, fit_affine, fvu, split_by_context, split_tokens
from helpers.dark_matter.synthetic_activations import (
    NoiseSweep,
    SeedStreams,
    arch_height,
    bernoulli_activations,
    decoder_alignment_replicates,
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
    rowwise_correlation,
    sae_latent_tests,
    with_filtered_tokens,
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


# --- intervals: resampling the sums kept per context or per block ---------------------------------


def by_context_split(n: int, n_contexts: int, seed: int = 0):
    """Tokens 0..n-1 in `n_contexts` contexts of consecutive tokens, split 60/40 by context."""
    return split_by_context(np.arange(n), np.arange(n) * n_contexts // n, 0.6, seed)


def test_a_resampled_sweep_is_the_sweep_of_the_resampled_test_contexts():
    latents, decoder = sparse_dictionary_data(n=900, d=10, width=20)
    clean = latents @ decoder
    keep = rarest_first_keep_masks(latents.mean(0), [0.0, 0.5])
    reconstructions = masked_reconstructions(latents, lambda a: torch.relu(a @ decoder - 0.1), keep)
    levels = np.array([0.0, 0.4])
    split = by_context_split(900, 15)
    sweep = planted_noise_sweep(clean, reconstructions, levels, [0.0, 0.5], split, generator(20))
    groups, n_groups = split.test_groups()
    counts = np.zeros((2, n_groups))
    counts[0] = 1
    counts[1, :3] = [2, 0, 3]
    counts[1, 3:] = 1
    resampled = sweep.resampled(counts)
    assert resampled.fvu_nonlinear.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(resampled.fvu_nonlinear[0], sweep.fvu_nonlinear, rtol=1e-12)
    np.testing.assert_allclose(resampled.fvu_reconstruction[0], sweep.fvu_reconstruction, rtol=1e-12)
    draws = generator(20)
    input_noise, reconstruction_noise = (torch.randn(900, 10, generator=draws) for _ in range(2))
    repeats = torch.from_numpy(np.repeat(split.test, counts[1][groups].astype(int)))
    train = torch.from_numpy(split.train)
    for i, sigma_in in enumerate(levels):
        for j, sigma_rec in enumerate(levels):
            for m in range(2):
                noised = (clean + sigma_in * input_noise).double()
                noised_reconstruction = (reconstructions[m] + sigma_rec * reconstruction_noise).double()
                probe = fit_affine(noised[train], (noised - noised_reconstruction)[train])
                x, r = noised[repeats], noised_reconstruction[repeats]
                assert resampled.fvu_reconstruction[1, i, j, m] == pytest.approx(fvu(x, r), rel=1e-6)
                assert resampled.fvu_nonlinear[1, i, j, m] == pytest.approx(fvu(x, r + probe(x)), rel=1e-6)


def test_table_1_and_the_drift_follow_a_resample_axis():
    rng = np.random.default_rng(0)
    shape = (3, 4, 4, 5)
    sweep = NoiseSweep(
        np.linspace(0, 1, 4), np.linspace(0, 0.8, 5), rng.random(shape) + 1, rng.random(shape) * 0.5
    )
    tables = sweep.noise_correlations(mask_index=2)
    assert tables.shape == (3, 2, 2)
    for r in range(3):
        single = NoiseSweep(
            sweep.levels, sweep.mask_shares, sweep.fvu_reconstruction[r], sweep.fvu_nonlinear[r]
        )
        planted = np.meshgrid(sweep.levels, sweep.levels, indexing="ij")
        estimates = (single.estimated_dense[..., 2].ravel(), single.estimated_introduced[..., 2].ravel())
        for i, p in enumerate(planted):
            for j, e in enumerate(estimates):
                assert tables[r, i, j] == pytest.approx(np.corrcoef(p.ravel(), e)[0, 1], abs=1e-12)
        np.testing.assert_allclose(sweep.nonlinear_drift()[r], single.nonlinear_drift())
    paper_range = sweep.up_to(0.5)
    np.testing.assert_allclose(paper_range.mask_shares, [0.0, 0.2, 0.4])
    np.testing.assert_array_equal(paper_range.fvu_nonlinear, sweep.fvu_nonlinear[..., :3])
    with pytest.raises(ValueError, match="fewer than two"):
        sweep.up_to(0.1)
    with pytest.raises(ValueError, match="no sums by test context"):
        sweep.resampled(np.ones((2, 3)))


def test_arch_height_is_the_fitted_quadratics_rise_above_its_chord():
    shares = np.linspace(0, 0.5, 6)
    arch = 1 - (shares - 0.25) ** 2  # c = -1 over a range of 0.5: the middle is 0.0625 above the chord
    assert arch_height(shares, arch) == pytest.approx(0.0625, rel=1e-12)
    assert arch_height(shares, 3 * shares - 1) == pytest.approx(0.0, abs=1e-12), "a line has no arch"
    noisy = np.random.default_rng(1).normal(size=(4, 6)) + shares**2
    expected = [-np.polyfit(shares, row, 2)[0] * 0.5**2 / 4 for row in noisy]
    np.testing.assert_allclose(arch_height(shares, noisy), expected, rtol=1e-9)
    with pytest.raises(ValueError, match="three distinct"):
        arch_height(np.array([0.0, 0.5, 0.5]), np.zeros(3))


def test_rowwise_correlation_skips_missing_values():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(3, 50)), rng.normal(size=(3, 50))
    b[1] += a[1]
    a[0, :5] = np.nan
    b[2, 10] = np.nan
    got = rowwise_correlation(a, b)
    for r in range(3):
        ok = np.isfinite(a[r]) & np.isfinite(b[r])
        assert got[r] == pytest.approx(np.corrcoef(a[r, ok], b[r, ok])[0, 1], abs=1e-12)


def test_alignment_replicates_refit_the_probe_on_the_resampled_training_contexts():
    n, width, d = 1500, 30, 12
    decoder = random_unit_vectors(width, d, generator(21)).double() * torch.linspace(0.5, 2, width)[:, None]
    latents = power_law_activations(n, power_law_frequencies(width, 5.0, 0.8), generator(22)).double()
    split = by_context_split(n, 20, seed=3)
    replicates = decoder_alignment_replicates(latents, decoder, split, resamples=30, seed=4)
    assert replicates.correlation.shape == replicates.median_ratio.shape == (30,)
    _, groups = np.unique(split.contexts[split.is_train], return_inverse=True)
    counts = resample_counts(groups.max() + 1, 30, 4)
    for r in (0, 17):
        rows = np.concatenate([np.repeat(split.train, counts[r][groups].astype(int)), split.test])
        is_train = np.arange(len(rows)) < len(rows) - len(split.test)
        direct = decoder_probe_alignment(latents[rows], decoder, TokenSplit(np.arange(len(rows)), is_train))
        assert replicates.correlation[r] == pytest.approx(direct.correlation, rel=1e-6)
        assert replicates.median_ratio[r] == pytest.approx(direct.median_ratio, rel=1e-6)
    with pytest.raises(ValueError, match="split by context"):
        decoder_alignment_replicates(latents, decoder, halves(n), resamples=3)


def test_orthogonal_latents_align_in_every_resample():
    width, d, n = 10, 16, 4000
    decoder = (
        orthonormal_features(width, d, generator(23))
        * torch.linspace(0.5, 4.0, width, dtype=torch.float64)[:, None]
    )
    latents = bernoulli_activations(
        n, torch.linspace(1.0, 5.0, width, dtype=torch.float64), 0.2, generator(24)
    )
    replicates = decoder_alignment_replicates(latents, decoder, by_context_split(n, 16), resamples=20)
    np.testing.assert_allclose(replicates.correlation, 1.0, atol=1e-9)
    np.testing.assert_allclose(replicates.median_ratio, 1.0, atol=1e-6)


def test_the_block_bootstrap_of_the_norm_probe_matches_fresh_test_draws():
    """The spread of the held-out R² over fresh test samples, against the spread of its bootstrap
    replicates over blocks of one test sample: independent draws make the two agree."""
    rates = torch.full((8,), 0.5, dtype=torch.float64)
    features = orthonormal_features(8, 10, generator(25))
    n = 8000
    x = poisson_activations(n, rates, generator(26)) @ features
    split = halves(n)
    probe = fit_norm_probe(x, split, blocks=100)
    assert probe.r2 == pytest.approx(fit_norm_probe(x, split).r2, abs=1e-12), "blocks leave the R² alone"
    replicates = probe.score.r2_replicates(resample_counts(100, 2000, seed=5))
    fresh = []
    for seed in range(200):
        test = poisson_activations(n // 2, rates, generator(100 + seed)) @ features
        target = test.pow(2).sum(-1)
        fresh.append(
            1 - (target - probe.probe(test).squeeze(-1)).pow(2).sum() / (target - target.mean()).pow(2).sum()
        )
    assert replicates.std() == pytest.approx(float(torch.stack(fresh).std()), rel=0.25)
    with pytest.raises(ValueError, match="cannot be cut"):
        fit_norm_probe(x, split, blocks=n)


def test_filtered_tokens_come_back_at_the_draws_rate():
    pool = np.arange(10_000)
    filtered = np.arange(0, 10_000, 10)  # a tenth of the tokens
    kept = np.setdiff1d(pool, filtered)
    chosen = np.sort(np.random.default_rng(6).choice(kept, 4500, replace=False))  # half the kept pool
    both = with_filtered_tokens(chosen, len(kept), filtered, seed=7)
    assert np.isin(chosen, both).all() and np.isin(np.setdiff1d(both, chosen), filtered).all()
    assert len(both) - len(chosen) == pytest.approx(0.5 * len(filtered), abs=60)
    np.testing.assert_array_equal(both, with_filtered_tokens(chosen, len(kept), filtered, seed=7))
    np.testing.assert_array_equal(with_filtered_tokens(kept, len(kept), filtered, seed=0), pool)
    with pytest.raises(ValueError, match="among the chosen"):
        with_filtered_tokens(chosen, len(kept), chosen[:3], seed=0)


class ToySae(torch.nn.Module):
    """A TopK SAE with a random decoder: what `sae_latent_tests` needs of a sae_lens SAE."""

    def __init__(self, d: int, width: int, k: int, seed: int):
        super().__init__()
        self.k = k
        self.W_dec = torch.nn.Parameter(random_unit_vectors(width, d, generator(seed)))
        self.b_dec = torch.nn.Parameter(torch.zeros(d))

    def encode(self, x):
        pre = torch.relu((x - self.b_dec) @ self.W_dec.T)
        top = pre.topk(self.k, dim=-1)
        return torch.zeros_like(pre).scatter(-1, top.indices, top.values)

    def decode(self, latents):
        return latents @ self.W_dec + self.b_dec

    def forward(self, x):
        return self.decode(self.encode(x))


def test_sae_latent_tests_run_both_tests_on_one_split():
    sae = ToySae(d=12, width=40, k=4, seed=27)
    latents, decoder = sparse_dictionary_data(n=1200, d=12, width=40, seed=28)
    x = latents @ decoder
    contexts = np.arange(1200) // 60
    tests = sae_latent_tests(
        sae,
        x,
        contexts,
        train_fraction=0.6,
        split_seed=1,
        mask_shares=[0.0, 0.25, 0.5],
        n_levels=3,
        max_variance_share=0.5,
        noise=generator(29),
        refit_seed=2,
        refit_resamples=10,
    )
    assert tests.n_tokens == 1200 and set(tests.split.contexts) == set(contexts)
    assert tests.clean_l0 <= 4
    assert tests.sweep.fvu_nonlinear.shape == (3, 3, 3) and tests.sweep.by_context is not None
    assert tests.sweep.by_context.tokens.sum() == len(tests.split.test)
    assert tests.alignment_replicates.correlation.shape == (10,)
    with torch.no_grad():
        clean = sae(x)
        direct = decoder_probe_alignment(sae.encode(clean), sae.W_dec, tests.split)
        assert tests.fvu_on_clean == pytest.approx(fvu(clean, sae(clean)))
    assert tests.alignment.correlation == pytest.approx(direct.correlation)
