"""SAEs trained on the parts of an SAE's error, and the token-detection proxy for their latents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.book.intervals import resample_counts
from helpers.dark_matter.component_saes import (
    ComponentRun,
    component_fvu,
    error_component,
    fvu_gap_rows,
    most_balanced,
    nonlinear_norm_margin,
    predicted_loss_shares,
    train_component_sae,
    with_component,
)
from helpers.dark_matter.decomposition import (
    NORMS,
    AffineMap,
    ErrorDecomposition,
    fvu,
    split_by_context,
    split_tokens,
)
from helpers.dark_matter.token_detection import (
    DetectionScores,
    Firings,
    decile_accuracy_gap,
    sae_firings,
    token_detection_scores,
)
from helpers.lm.topk_training import Plateau, TopKTraining


class ArrayStore:
    """The one method of an activation store that component training reads, over an array."""

    def __init__(self, data: np.ndarray):
        self.data = data

    def activations(self, site):
        return self.data


def sparse_sums(n=20_000, d=16, n_features=8, seed=0):
    rng = np.random.default_rng(seed)
    features = np.linalg.qr(rng.normal(size=(d, d)))[0][:n_features]
    codes = rng.exponential(size=(n, n_features)) * (rng.random((n, n_features)) < 0.2)
    return (codes @ features + 5.0).astype(np.float32)


def test_the_two_components_add_up_to_the_sae_error():
    x = torch.from_numpy(sparse_sums(n=50))
    sae = lambda v: 0.5 * v  # noqa: E731 - a stand-in SAE
    probe = AffineMap(torch.eye(16, dtype=torch.float64) * 0.3, torch.ones(16, dtype=torch.float64))
    linear, nonlinear = (error_component(sae, probe, name)(x) for name in ("LinearError", "NonlinearError"))
    torch.testing.assert_close(linear + nonlinear, x - sae(x))
    torch.testing.assert_close(linear, 0.3 * x + 1)
    with pytest.raises(ValueError, match="not one of"):
        error_component(sae, probe, "SaeError")


def test_splicing_a_component_back_adds_it_to_the_reconstruction():
    x = torch.from_numpy(sparse_sums(n=50))
    sae = lambda v: 0.5 * v  # noqa: E731 - a stand-in SAE
    probe = AffineMap(torch.eye(16, dtype=torch.float64) * 0.3, torch.ones(16, dtype=torch.float64))
    for name in ("LinearError", "NonlinearError"):
        torch.testing.assert_close(
            with_component(sae, probe, name)(x), sae(x) + error_component(sae, probe, name)(x)
        )
    with pytest.raises(ValueError, match="not one of"):
        with_component(sae, probe, "SaeError")


def test_component_fvu_streams_the_same_fvu_as_one_pass():
    data = sparse_sums(n=20_000)
    rows = np.arange(3_000, 20_000, 3)
    identity = AffineMap(torch.eye(16, dtype=torch.float64), torch.zeros(16, dtype=torch.float64))
    component = error_component(lambda v: v, identity, "LinearError")  # LinearError = x itself
    halving = lambda v: 0.5 * v  # noqa: E731 - a stand-in SAE
    split = split_by_context(rows, rows // 500, 0.5, seed=0)
    x = torch.from_numpy(data[split.test])
    expected = fvu(x, halving(x))
    score = component_fvu(halving, component, data, split, torch.device("cpu"))
    assert score.fvu == pytest.approx(expected, rel=1e-9)
    assert score.groups == split.test_groups()[1]
    assert component_fvu(lambda v: v, component, data, split, torch.device("cpu")).fvu == 0.0


def norms_only(split, error, linear, nonlinear, fvu_sae=0.0, fvu_nonlinear=0.0) -> ErrorDecomposition:
    """An `ErrorDecomposition` holding only its error norms and FVUs."""
    zeros = np.zeros_like(error)
    return ErrorDecomposition(
        split,
        None,
        None,
        fvu_sae,
        fvu_nonlinear,
        0.0,
        0.0,
        zeros,
        zeros,
        error,
        linear,
        nonlinear,
        zeros,
        zeros,
    )


def test_loss_share_predictions_of_orthogonal_components_add_up_to_one():
    """With the two parts orthogonal on every token, ‖SaeError‖² = ‖LinearError‖² + ‖NonlinearError‖²,
    so the variance shares (each one minus the other's share of ‖SaeError‖²) sum to 1."""
    rng = np.random.default_rng(0)
    split = split_tokens(np.arange(1000), 0.6, seed=0)
    linear, nonlinear = rng.exponential(size=1000), rng.exponential(size=1000)
    d = norms_only(split, np.hypot(linear, nonlinear), linear, nonlinear)
    test = ~split.is_train
    groups = np.arange(int(test.sum())) % 7
    counts = np.vstack([np.ones(7), resample_counts(7, resamples=50)])
    shares = predicted_loss_shares(d, test, groups, counts)
    np.testing.assert_allclose(
        shares["LinearError"]["variance share"] + shares["NonlinearError"]["variance share"], 1
    )
    expected = linear[test].mean() / np.hypot(linear, nonlinear)[test].mean()
    assert shares["LinearError"]["norm share"][0] == pytest.approx(expected)
    alone = linear[test][groups == 2].mean() / np.hypot(linear, nonlinear)[test][groups == 2].mean()
    one_unit = np.eye(7)[[2]]
    assert predicted_loss_shares(d, test, groups, one_unit)["LinearError"]["norm share"][0] == pytest.approx(
        alone
    )


def test_the_nonlinear_norm_margin_is_the_gap_between_medians():
    columns = pd.MultiIndex.from_tuples([(sae, v) for sae in "ab" for v in NORMS])
    values = {"x": 0.99, "Sae(x)": 0.9, "Sae(x) + NonlinearError": 0.8, "SaeError": 0.85}
    values |= {"LinearError": 0.7, "NonlinearError": 0.5}
    row = [values[v] + (0.02 if sae == "b" else 0.0) for sae, v in columns]
    margin = nonlinear_norm_margin(pd.DataFrame([row], columns=columns))
    assert margin.iloc[0] == pytest.approx(0.2)


def test_the_most_balanced_sae_has_its_linear_and_nonlinear_fvu_closest_in_ratio():
    split = split_tokens(np.arange(10), 0.6, seed=0)
    zeros = np.zeros(10)
    fvus = {"a": (0.30, 0.10), "b": (0.30, 0.16), "c": (0.30, 0.20), "d": (0.2, 0.2)}  # (FVU, nonlinear FVU)
    decompositions = {name: norms_only(split, zeros, zeros, zeros, *pair) for name, pair in fvus.items()}
    assert most_balanced(decompositions) == "b", "linear 0.14 against nonlinear 0.16; d has no linear error"


def test_a_component_sae_learns_a_sparse_component_and_reads_it_in_raw_units():
    data = sparse_sums()
    identity = AffineMap(torch.eye(16, dtype=torch.float64), torch.zeros(16, dtype=torch.float64))
    component = error_component(lambda v: v, identity, "LinearError")  # LinearError = x itself
    training = TopKTraining(width=32, k=4, samples=60_000, batch_size=256, lr=3e-3)
    held_out_rows = np.arange(12_000, 15_000)
    sae, log, curve = train_component_sae(
        ArrayStore(data),
        "site",
        np.arange(12_000),
        held_out_rows,
        component,
        training,
        Plateau(every=5_120, tolerance=0.01),
        torch.device("cpu"),
    )
    held_out = torch.from_numpy(data[held_out_rows])
    with torch.no_grad():
        raw_fvu = float(fvu(held_out, sae(held_out)))
    assert raw_fvu < 0.1, "off-centre raw inputs: the normalisation is folded in"
    assert curve.fvu[-1] == pytest.approx(raw_fvu, rel=1e-3), "the curve reads the held-out rows"
    assert log.fvu[-1] < log.fvu[0]


def planted_firings(n_tokens=4000, seed=0):
    """Latent 0 fires on every token 7 and nothing else; latent 1 on random tokens."""
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(0, 50, size=n_tokens)
    on_seven = np.flatnonzero(token_ids == 7)
    at_random = rng.choice(n_tokens, len(on_seven), replace=False)
    token = np.concatenate([on_seven, at_random])
    latent = np.repeat([0, 1], len(on_seven))
    value = rng.exponential(size=len(token)) + 0.1
    return Firings(token, latent, value, n_tokens), token_ids


def test_token_detection_separates_a_token_latent_from_a_random_one():
    firings, token_ids = planted_firings()
    scores = token_detection_scores(firings, token_ids, n_latents=2, min_firings=20, seed=0)
    np.testing.assert_array_equal(scores.latents, [0, 1])
    assert 7 in scores.explanations[0]
    np.testing.assert_allclose(scores.decile_hit_rate[0], 1.0)
    assert scores.negative_accuracy[0] == 1.0
    assert scores.decile_hit_rate[1].mean() < 0.2 and scores.balanced_accuracy[1] < 0.65
    assert scores.balanced_accuracy[0] == 1.0


def test_token_detection_refuses_bad_inputs():
    firings, token_ids = planted_firings()
    with pytest.raises(ValueError, match="token ids"):
        token_detection_scores(firings, token_ids[:-1], 2, 20, 0)
    with pytest.raises(ValueError, match="at least 20"):
        token_detection_scores(firings, token_ids, 2, 10, 0)
    with pytest.raises(ValueError, match="no latent fires"):
        token_detection_scores(firings, token_ids, 2, 10**6, 0)


def test_sae_firings_number_tokens_across_chunks():
    from sae_lens import TopKSAE, TopKSAEConfig

    sae = TopKSAE(TopKSAEConfig(d_in=16, d_sae=32, k=3))
    torch.nn.init.normal_(sae.W_enc)
    x = torch.from_numpy(sparse_sums(n=100))
    other = TopKSAE(TopKSAEConfig(d_in=16, d_sae=32, k=5))
    torch.nn.init.normal_(other.W_enc)
    for model, firings in zip((sae, other), sae_firings([sae, other], [x[:40], x[40:]]), strict=True):
        assert firings.n_tokens == 100
        np.testing.assert_array_equal(np.bincount(firings.token, minlength=100), model.cfg.k)
        code = model.encode(x).detach()
        np.testing.assert_allclose(firings.value, code[firings.token, firings.latent].numpy())


def test_the_decile_gap_and_its_bootstrap_over_latents():
    """Two SAEs whose latents differ by a known amount in one decile: the gap is that amount there
    and zero elsewhere, and its resamples vary only where the latents do."""
    hits = np.full((40, 10), 0.6)
    shifted = hits.copy()
    shifted[:, 9] = np.linspace(0.0, 0.4, 40)  # decile 10: mean 0.2 where the first SAE has 0.6
    first, second = (DetectionScores(np.arange(40), [], h, np.full(40, 0.9)) for h in (hits, shifted))
    rows = decile_accuracy_gap([first], [second], resamples=500, seed=0)
    value, replicates = rows[0], rows[1:]
    np.testing.assert_allclose(value, [0.0] * 9 + [0.2])
    assert replicates.shape == (500, 10)
    np.testing.assert_allclose(replicates[:, :9], 0.0, atol=1e-12)
    standard_error = shifted[:, 9].std() / 2 / np.sqrt(40)  # the decile's accuracy halves the hit rate
    assert replicates[:, 9].std() == pytest.approx(standard_error, rel=0.15)


def test_the_decile_gap_draws_the_seeds_with_replacement():
    """Two seeds whose gaps are 0 and 0.2 in every decile, with no spread over latents: the gap is
    their mean, and a resample is 0, 0.1 or 0.2 with the binomial probabilities 1/4, 1/2, 1/4."""
    flat = DetectionScores(np.arange(20), [], np.full((20, 10), 0.5), np.full(20, 0.9))
    lower = DetectionScores(np.arange(20), [], np.full((20, 10), 0.1), np.full(20, 0.9))
    rows = decile_accuracy_gap([flat, flat], [flat, lower], resamples=4000, seed=0)
    np.testing.assert_allclose(rows[0], 0.1)
    np.testing.assert_allclose(rows[1:], rows[1:, :1] * np.ones(10), atol=1e-12)
    levels, counts = np.unique(rows[1:, 0].round(6), return_counts=True)
    np.testing.assert_allclose(levels, [0.0, 0.1, 0.2])
    np.testing.assert_allclose(counts / 4000, [0.25, 0.5, 0.25], atol=0.03)


def test_pooled_scores_stack_the_seeds_latents():
    first, second = (
        DetectionScores(np.arange(n), [np.array([n])] * n, np.ones((n, 10)), np.ones(n)) for n in (3, 5)
    )
    pooled = DetectionScores.pooled([first, second])
    assert len(pooled.latents) == 8 and len(pooled.explanations) == 8
    assert pooled.decile_hit_rate.shape == (8, 10)


class FixedScore:
    """A component SAE's test FVU, and fixed values under each resample of the test contexts."""

    def __init__(self, fvu: float, replicates: list[float]):
        self.fvu, self.replicates = fvu, np.asarray(replicates)

    def fvu_replicates(self, counts):
        assert len(counts) == len(self.replicates)
        return self.replicates


def runs_with(scores):
    return [ComponentRun(None, None, None, FixedScore(*score)) for score in scores]


def test_the_fvu_gap_is_the_mean_gap_over_seeds_resampled_with_the_contexts():
    counts = np.ones((4, 3))
    one = fvu_gap_rows(
        {
            "LinearError": runs_with([(0.4, [0.4, 0.5, 0.3, 0.4])]),
            "NonlinearError": runs_with([(0.5, [0.7] * 4)]),
        },
        counts,
    )
    np.testing.assert_allclose(one, [0.1, 0.3, 0.2, 0.4, 0.3], err_msg="one seed: the gap itself")
    linear = runs_with([(0.4, [0.4] * 4)] * 3)
    nonlinear = runs_with([(0.4 + gap, [0.4 + gap] * 4) for gap in (0.0, 0.1, 0.5)])
    rows = fvu_gap_rows({"LinearError": linear, "NonlinearError": nonlinear}, counts)
    assert rows[0] == pytest.approx(0.2), "row 0 takes each seed once"
    assert np.all((rows[1:] >= 0.0 - 1e-12) & (rows[1:] <= 0.5 + 1e-12)) and len(set(rows[1:].round(9))) > 1
    with pytest.raises(ValueError):
        fvu_gap_rows({"LinearError": linear, "NonlinearError": nonlinear[:2]}, counts)
