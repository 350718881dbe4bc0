"""Measuring an SAE on a site: the position buckets of the FVU-by-position figure, FVU resampled."""

from __future__ import annotations

import numpy as np

from helpers.lm.evaluation import Reconstruction, position_buckets


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
