"""Measuring an SAE on a site: the position buckets of the FVU-by-position figure, FVU resampled."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.lm.evaluation import Reconstruction, position_buckets, spliced_context_costs
from helpers.lm.model import Site, losses_from_residual, run_model


def test_position_buckets_double_and_cover_every_position_once():
    edges, labels = position_buckets(10)
    assert edges == [0, 1, 2, 4, 8, 10]
    assert labels == ["0", "1", "2–3", "4–7", "8–9"]
    bucket = np.digitize(np.arange(10), edges) - 1
    np.testing.assert_array_equal(np.bincount(bucket), [1, 1, 2, 4, 2])
    edges, labels = position_buckets(1024)
    assert edges[-1] == 1024 and len(labels) == len(edges) - 1 == 11


def test_fvu_rows_resample_the_rows_units_together():
    quality = Reconstruction(
        squared_error=np.array([1.0, 2, 3, 4]),
        squared_deviation=np.array([2.0, 2, 4, 4]),
        l0=np.zeros(4),
        fired=np.zeros(3),
    )
    rows = quality.fvu_rows(np.array([0, 0, 1, 1]), np.array([[2.0, 0], [0, 2], [1, 1]]))
    np.testing.assert_allclose(rows, [10 / 12, 3 / 4, 7 / 8, 10 / 12])
    assert rows[0] == quality.fvu
    where = np.array([True, False, True, True])  # unit 0 keeps row 0 only
    weights = np.array([[1.0, 1], [2, 0], [0, 2]])
    np.testing.assert_allclose(
        quality.fvu_rows_where(where, np.array([0, 0, 1, 1]), weights), [8 / 10, 1 / 2, 7 / 8]
    )
    assert quality.fvu_rows_where(where, np.array([0, 0, 1, 1]), weights)[0] == quality.fvu_where(where)


def test_spliced_costs_per_context_match_a_splice_run_alone(smollm2):
    """Three contexts in batches of two: the identity costs nothing, and zero-ablation's loss is
    the per-context mean of the model run on from the zeroed residual."""
    ids = smollm2.tokenizer(["The cat sat on the mat and looked at the door for a while."] * 3)["input_ids"]
    tokens = np.array(ids)
    tokens[1, 4] = tokens[0, 5]  # three different contexts
    tokens[2, 6] = tokens[0, 2]
    site = Site(smollm2.n_layers // 2, "resid_post")
    replacements = {"same": lambda x: x, "zero": torch.zeros_like}
    clean, costs = spliced_context_costs(smollm2, tokens, site, replacements, keep_from=3, batch_contexts=2)
    assert clean.shape == (3,) and costs["zero"].loss.shape == (3,)
    np.testing.assert_allclose(costs["same"].loss, clean, rtol=1e-5)  # two float32 roundings
    np.testing.assert_allclose(costs["same"].divergence, 0, atol=1e-4)
    batch = torch.from_numpy(tokens.astype(np.int64))
    residual = run_model(smollm2, batch, read=[site]).activations[site].clone()
    residual[:, 3:] = 0
    expected = losses_from_residual(smollm2, site, residual, batch, loss_from=3)[:, 3:-1].double().mean(-1)
    np.testing.assert_allclose(costs["zero"].loss, expected.numpy(), rtol=1e-4)
    assert (costs["zero"].divergence > 0.1).all()
    with pytest.raises(ValueError, match="resid_post"):
        spliced_context_costs(smollm2, tokens, Site(1, "mlp_out"), replacements, 3, 2)
    with pytest.raises(ValueError, match="at least one context"):
        spliced_context_costs(smollm2, tokens[:0], site, replacements, 3, 2)
