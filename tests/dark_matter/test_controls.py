"""Part IV's controls: the Gaussian twin against numpy's moments, SAEs trained on it that read raw
samples, paired differences, and clear refusals."""

import numpy as np
import pytest
import torch

from helpers.book.intervals import resample_counts
from helpers.dark_matter.controls import (
    GaussianTwin,
    gaussian_activations,
    paired_differences,
    same_test_contexts,
    table1_statistics,
    train_on_gaussian,
)
from helpers.dark_matter.decomposition import TokenSplit, fvu, split_by_context
from helpers.dark_matter.synthetic_activations import sae_noise_sweep
from helpers.lm.suite import SaeEntry, SuiteTraining
from tests.dark_matter.test_synthetic_activations import ToySae, sparse_dictionary_data

CPU = torch.device("cpu")


def correlated_rows(n=4000, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d) * 20).astype(np.float32)


def test_the_twin_has_the_mean_and_covariance_of_the_rows_it_was_fitted_on():
    x = correlated_rows()
    rows = np.arange(0, len(x), 3)
    twin = GaussianTwin.fit(x, rows, CPU)
    np.testing.assert_allclose(twin.mean.numpy(), x[rows].astype(np.float64).mean(0), rtol=1e-9, atol=1e-9)
    covariance = (twin.root @ twin.root.T).numpy()
    np.testing.assert_allclose(covariance, np.cov(x[rows].T.astype(np.float64), bias=True), atol=1e-6)
    assert twin.scale == pytest.approx(np.sqrt(np.trace(covariance)))


def test_draws_follow_the_twin_and_batches_are_normalised_like_the_suite_s():
    x = correlated_rows()
    twin = GaussianTwin.fit(x, np.arange(len(x)), CPU)
    draws = twin.sample(200_000, torch.Generator().manual_seed(1)).double()
    np.testing.assert_allclose(draws.mean(0).numpy(), twin.mean.numpy(), atol=0.05 * twin.scale)
    covariance = torch.cov(draws.T).numpy()
    np.testing.assert_allclose(covariance, (twin.root @ twin.root.T).numpy(), atol=0.02 * twin.scale**2)
    batch = next(twin.batches(50_000, seed=2)).double()
    assert batch.shape == (50_000, 6)
    assert batch.pow(2).sum(-1).mean().item() == pytest.approx(6, rel=0.03)
    assert batch.mean(0).abs().max().item() < 0.05


def test_gaussian_activations_sit_at_the_store_rows_and_follow_the_seed():
    twin = GaussianTwin.fit(correlated_rows(), np.arange(4000), CPU)
    rows = np.array([1, 4, 5, 9])
    values = gaussian_activations(twin, 12, rows, seed=3)
    assert values.shape == (12, 6) and values.dtype == np.float32
    assert np.all(values[np.setdiff1d(np.arange(12), rows)] == 0) and np.all(values[rows] != 0)
    np.testing.assert_array_equal(values, gaussian_activations(twin, 12, rows, seed=3))
    assert not np.array_equal(values, gaussian_activations(twin, 12, rows, seed=4))


def test_sae_trained_on_the_twin_reads_raw_samples():
    twin = GaussianTwin.fit(correlated_rows(d=8), np.arange(4000), CPU)
    entry = SaeEntry("resid_post.0", "topk", 32, 4)
    training = SuiteTraining(samples=8192, batch_size=256, lr=3e-3, bf16=False, seed=0)
    sae = train_on_gaussian(twin, [entry], training, CPU)[entry.name]
    x = twin.sample(4000, torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert fvu(x, sae(x)) < 0.9  # a wrong fold of the normalisation is far off the raw samples
    with pytest.raises(ValueError, match="only TopK"):
        train_on_gaussian(twin, [SaeEntry("resid_post.0", "jumprelu", 32, 4)], training, CPU)


def test_paired_differences_subtract_row_by_row_and_splits_must_test_the_same_contexts():
    first = {"a": np.array([1.0, 1.1, 0.9, 1.2]), "b": np.array([0.0, 0.1, 0.2, 0.3])}
    second = {"a": np.array([0.5, 0.7, 0.3, 0.6])}
    difference = paired_differences(first, second)
    assert list(difference) == ["a"]
    assert difference["a"].value == pytest.approx(0.5)
    low, high = difference["a"].interval
    assert low <= 0.5 <= high and high <= 0.6 + 1e-12
    rows = np.arange(300)
    split = split_by_context(rows, rows // 10, 0.6, seed=0)
    same_test_contexts({"trained": split, "again": split_by_context(rows[5:], rows[5:] // 10, 0.6, 0)})
    with pytest.raises(ValueError, match="other contexts"):
        same_test_contexts({"trained": split, "other": split_by_context(rows, rows // 10, 0.6, seed=1)})


def test_eq5_along_a_line_is_the_smallest_pair_r2_and_resamples_hold_it():
    from helpers.book.intervals import resample_counts
    from helpers.dark_matter.controls import error_norm_transfer_rows
    from helpers.dark_matter.decomposition import decompose
    from helpers.dark_matter.larger_saes import error_norm_r2
    from tests.dark_matter.test_decomposition import sparse_activations
    from tests.dark_matter.test_suite_statistics import top

    acts = sparse_activations(n=2000)
    rows = np.arange(len(acts))
    split = split_by_context(rows, rows // 50, 0.6, seed=1)
    line = ["k2", "k4", "k8"]
    decompositions = {name: decompose(top(int(name[1:])), acts, split, CPU) for name in line}
    counts = resample_counts(split.test_groups()[1], resamples=200, seed=0)
    rows_r2 = error_norm_transfer_rows(decompositions, line, split, counts)
    expected = min(
        error_norm_r2(decompositions[a], decompositions[b], split)
        for a, b in [("k2", "k4"), ("k2", "k8"), ("k4", "k8")]
    )
    assert rows_r2.shape == (201,) and rows_r2[0] == pytest.approx(expected)
    assert rows_r2[1:].std() > 0
    with pytest.raises(ValueError, match="two or more"):
        error_norm_transfer_rows(decompositions, ["k2"], split, counts)


def test_table_1_on_a_source_reads_its_split_s_rows_and_resamples_its_test_contexts():
    sae = ToySae(d=12, width=40, k=4, seed=27)
    latents, decoder = sparse_dictionary_data(n=1200, d=12, width=40, seed=28)
    values = (latents @ decoder).numpy()
    stored = np.full((1500, 12), 1e6, dtype=np.float32)  # rows no split names hold garbage
    rows = np.arange(300, 1500)
    stored[rows] = values
    split = split_by_context(rows, rows // 60, 0.6, seed=1)
    counts = resample_counts(split.test_groups()[1], resamples=20, seed=0)
    table = table1_statistics(sae, stored, split, counts, 3, 0.5, seed=29, device=CPU)
    assert set(table) == {"table1_diagonal_min", "table1_off_diagonal_max"}
    assert all(v.shape == (21,) for v in table.values())
    with torch.no_grad():
        clean = sae(torch.from_numpy(values))
        positions = TokenSplit(np.arange(1200), split.is_train, split.contexts)
        sweep = sae_noise_sweep(
            sae, clean, sae.encode(clean), positions, (0.0,), 3, 0.5, torch.Generator().manual_seed(29)
        )
    direct = sweep.noise_correlations(0)
    assert table["table1_diagonal_min"][0] == pytest.approx(min(direct[0, 0], direct[1, 1]))
    assert table["table1_off_diagonal_max"][0] == pytest.approx(max(abs(direct[0, 1]), abs(direct[1, 0])))
    resampled = sweep.resampled(counts).noise_correlations(0)
    assert table["table1_diagonal_min"][1:] == pytest.approx(
        np.minimum(resampled[:, 0, 0], resampled[:, 1, 1])
    )
