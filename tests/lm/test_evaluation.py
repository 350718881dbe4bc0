"""Measuring an SAE on a site: the position buckets of Part III's FVU-by-position figure."""

from __future__ import annotations

import numpy as np

from helpers.lm.evaluation import position_buckets


def test_position_buckets_double_and_cover_every_position_once():
    edges, labels = position_buckets(10)
    assert edges == [0, 1, 2, 4, 8, 10]
    assert labels == ["0", "1", "2–3", "4–7", "8–9"]
    bucket = np.digitize(np.arange(10), edges) - 1
    np.testing.assert_array_equal(np.bincount(bucket), [1, 1, 2, 4, 2])
    edges, labels = position_buckets(1024)
    assert edges[-1] == 1024 and len(labels) == len(edges) - 1 == 11
