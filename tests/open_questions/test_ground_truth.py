"""Dark matter with a known answer (Part V): the synthetic activations fire with the statistics
they were given and plant the share they were asked for, and the true parts of an error are
scored against an independent least-squares fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sae_lens import TopKSAE, TopKSAEConfig

from helpers.book.intervals import resample_counts, with_whole_sample
from helpers.dark_matter.decomposition import fit_affine, split_by_context
from helpers.dark_matter.synthetic_activations import random_unit_vectors
from helpers.open_questions.ground_truth import (
    NOTHING_PLANTED,
    PLANTED_KINDS,
    Firings,
    FiringStatistics,
    Plant,
    SyntheticActivations,
    bernoulli_firings,
    learned_dictionary,
    per_unit_planted,
    plant_dark_matter,
    true_parts,
)


def toy_statistics(n: int = 60, seed: int = 0) -> FiringStatistics:
    """Latents firing with frequencies in [0.01, 0.2], each with three recorded magnitudes."""
    rng = torch.Generator().manual_seed(seed)
    counts = torch.full((n,), 3)
    return FiringStatistics(
        frequencies=0.01 + 0.19 * torch.rand(n, generator=rng, dtype=torch.float64),
        values=0.5 + torch.rand(3 * n, generator=rng, dtype=torch.float64),
        starts=torch.arange(0, 3 * n, 3),
        counts=counts,
    )


def test_bernoulli_firings_are_distinct_and_fire_at_their_frequencies():
    frequencies = torch.tensor([0.0, 0.02, 0.2, 0.3, 0.9, 1.0], dtype=torch.float64)
    n_tokens = 20_000
    tokens, latents = bernoulli_firings(frequencies, n_tokens, torch.Generator().manual_seed(1))
    keys = latents * n_tokens + tokens
    assert len(torch.unique(keys)) == len(keys), "a latent fires at most once per token"
    counts = torch.bincount(latents, minlength=6).double()
    assert counts[0] == 0 and counts[5] == n_tokens
    spread = (n_tokens * frequencies * (1 - frequencies)).sqrt()
    assert ((counts - n_tokens * frequencies).abs() <= 5 * spread + 1e-9).all()


def test_firings_sum_and_columns_match_dense_codes():
    stats = toy_statistics()
    firings = stats.draw(500, torch.Generator().manual_seed(2))
    dense = torch.zeros(500, 60)
    dense[firings.tokens, firings.latents] = firings.magnitudes
    directions = torch.randn(60, 7)
    torch.testing.assert_close(firings.sum_of(directions), dense @ directions, rtol=1e-5, atol=1e-5)
    chosen = torch.tensor([5, 2, 40])
    torch.testing.assert_close(firings.columns(chosen), dense[:, chosen])
    empty = Firings(3, torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), torch.zeros(0))
    assert empty.sum_of(directions).abs().sum() == 0


def test_drawn_magnitudes_come_from_each_latents_own_firings():
    stats = toy_statistics()
    firings = stats.draw(2000, torch.Generator().manual_seed(3))
    for latent in (0, 17, 59):
        own = stats.values[3 * latent : 3 * latent + 3].float()
        drawn = firings.magnitudes[firings.latents == latent]
        assert torch.isin(drawn, own).all()


def test_statistics_refuse_latents_without_firings_or_miscounted_values():
    with pytest.raises(ValueError, match="at least one recorded firing"):
        FiringStatistics(torch.tensor([0.1]), torch.zeros(0), torch.tensor([0]), torch.tensor([0]))
    with pytest.raises(ValueError, match="counts sum to 2"):
        FiringStatistics(torch.tensor([0.1]), torch.ones(3), torch.tensor([0]), torch.tensor([2]))


@pytest.mark.parametrize("kind", PLANTED_KINDS)
def test_each_kind_is_planted_at_the_share_asked_for(kind):
    stats = toy_statistics()
    generator = torch.Generator().manual_seed(4)
    dictionary = random_unit_vectors(60, 40, generator)
    planted = plant_dark_matter(dictionary, stats, 400, 0.01, 10, generator)
    synthetic = SyntheticActivations(dictionary, stats, planted, Plant(kind, 0.25))
    x, part = synthetic.sample(60_000, generator)
    features = x - part
    share = part.var(0).sum() / x.var(0).sum()
    assert share == pytest.approx(0.25, abs=0.02)
    assert features.var(0).sum() == pytest.approx(synthetic.dictionary_variance, rel=0.03)


def test_nothing_planted_is_the_dictionary_alone_and_plants_are_checked():
    stats = toy_statistics()
    generator = torch.Generator().manual_seed(5)
    dictionary = random_unit_vectors(60, 40, generator)
    planted = plant_dark_matter(dictionary, stats, 100, 0.01, 4, generator)
    _, part = SyntheticActivations(dictionary, stats, planted, Plant(NOTHING_PLANTED, 0.0)).sample(
        100, generator
    )
    assert not part.any()
    with pytest.raises(ValueError, match="planted kind"):
        Plant("gravity", 0.1)
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        Plant("dense noise", 1.0)
    with pytest.raises(ValueError, match="nothing planted has share 0"):
        Plant(NOTHING_PLANTED, 0.1)
    with pytest.raises(ValueError, match="the dictionary has 59 features"):
        SyntheticActivations(dictionary[:59], stats, planted, Plant("dense noise", 0.1))
    with pytest.raises(ValueError, match="nonlinear_pairs = 31"):
        plant_dark_matter(dictionary, stats, 100, 0.01, 31, generator)
    with pytest.raises(ValueError, match="absent_frequency"):
        plant_dark_matter(dictionary, stats, 100, 1.5, 4, generator)


def test_true_parts_against_an_independent_fit():
    """x Gaussian; the planted part a linear map of x plus a little independent noise; the SAE's
    own error a square of one coordinate (nonlinear in x). The scores must match numpy's lstsq."""
    rng = np.random.default_rng(6)
    n, d = 3000, 6
    x = rng.normal(size=(n, d))
    planted = x @ rng.normal(size=(d, d)) * 0.3 + 0.05 * rng.normal(size=(n, d))
    own = np.outer(x[:, 0] ** 2, rng.normal(size=d))
    reconstruction = x - planted - own
    rows = np.arange(n)
    split = split_by_context(rows, rows // 50, 0.6, 0)
    train, test = split.is_train, ~split.is_train
    error = torch.from_numpy(x - reconstruction)
    probe = fit_affine(torch.from_numpy(x[train]), error[train])
    weights = with_whole_sample(resample_counts(split.test_groups()[1], 50, seed=0))
    parts = true_parts(x, planted, reconstruction, probe, split, weights)

    def centred_total(a):
        return ((a - a.mean(0)) ** 2).sum()

    design = np.hstack([x[train], np.ones((train.sum(), 1))])
    coefficients = np.linalg.lstsq(design, planted[train], rcond=None)[0]
    planted_hat = np.hstack([x[test], np.ones((test.sum(), 1))]) @ coefficients
    variance = centred_total(x[test])
    assert parts.planted_share[0] == pytest.approx(centred_total(planted[test]) / variance, rel=1e-9)
    assert parts.introduced_share[0] == pytest.approx((own[test] ** 2).sum() / variance, rel=1e-9)
    r2 = 1 - ((planted[test] - planted_hat) ** 2).sum() / centred_total(planted[test])
    assert parts.planted_linear_share[0] == pytest.approx(r2, rel=1e-9)
    nonlinear = (x - reconstruction)[test] - probe(torch.from_numpy(x[test])).numpy()
    own_hat = (x - reconstruction)[test] - nonlinear - planted_hat
    expected = ((own[test] - own_hat) * nonlinear).sum() / (nonlinear**2).sum()
    assert parts.nonlinear_from_sae[0] == pytest.approx(expected, rel=1e-9)
    assert parts.nonlinear_from_sae[0] > 0.9, "the nonlinear error is the square, not the linear plant"
    assert parts.planted_share.shape == (51,)


def test_with_nothing_planted_all_nonlinear_error_is_the_saes_own():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1000, 4))
    reconstruction = x - np.outer(np.abs(x[:, 1]), np.ones(4))
    rows = np.arange(1000)
    split = split_by_context(rows, rows // 50, 0.6, 0)
    error = torch.from_numpy(x - reconstruction)
    probe = fit_affine(torch.from_numpy(x[split.is_train]), error[split.is_train])
    weights = with_whole_sample(resample_counts(split.test_groups()[1], 20, seed=0))
    parts = true_parts(x, np.zeros_like(x), reconstruction, probe, split, weights)
    assert parts.planted_linear_share is None
    np.testing.assert_allclose(parts.nonlinear_from_sae, 1.0)
    np.testing.assert_allclose(parts.planted_share, 0.0)
    with pytest.raises(ValueError, match="differ"):
        true_parts(x, np.zeros((1000, 3)), reconstruction, probe, split, weights)


def test_per_unit_planted_and_its_refusal():
    assert per_unit_planted(np.array([0.4]), np.array([0.2]), np.array([0.5]))[0] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="positive"):
        per_unit_planted(np.array([0.4]), np.array([0.2]), np.array([0.0]))


@torch.no_grad()
def test_learned_dictionary_reads_live_latents_as_unit_directions():
    torch.manual_seed(8)
    sae = TopKSAE(TopKSAEConfig(d_in=10, d_sae=30, k=3, rescale_acts_by_decoder_norm=False))
    torch.nn.init.normal_(sae.W_enc)
    sae.b_enc[0] = -1e4  # latent 0 never wins the top-k
    sae.W_dec.mul_(torch.linspace(0.5, 2.0, 30).unsqueeze(1))
    activations = np.random.default_rng(8).normal(size=(400, 10)).astype(np.float32)
    directions, stats = learned_dictionary(sae, activations, np.arange(400), torch.device("cpu"))
    codes = sae.encode(torch.from_numpy(activations))
    live = (codes > 0).any(0)
    assert not live[0] and len(directions) == int(live.sum())
    torch.testing.assert_close(directions.norm(dim=1), torch.ones(len(directions), dtype=torch.float64))
    assert float(stats.frequencies.sum()) == pytest.approx(float((codes > 0).sum()) / 400)
    first = int(torch.nonzero(live)[0])
    expected = codes[:, first][codes[:, first] > 0] * sae.W_dec[first].norm()
    torch.testing.assert_close(stats.values[: int(stats.counts[0])].float(), expected)
