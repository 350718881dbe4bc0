"""The data choice every Part IV measurement makes: with or without the norm filter."""

import numpy as np
import pytest
import torch

from helpers.lm.data import DataChoice, LmData
from helpers.profiles import load

NORMS = np.array([1.0, 1.1, 0.9, 10.0, 1.0, 1.05, 4.0])  # median 1.05: rows 3 and 6 exceed 3x it


class NormsOnly:
    """A store that knows only its rows' norms."""

    def __init__(self, norms: np.ndarray):
        self._norms = norms
        self.n_tokens = len(norms)

    def norms(self, site) -> np.ndarray:
        return self._norms


def data_with(norm_filter: bool) -> LmData:
    data = LmData(load("smoke", {"lm.norm_filter": norm_filter}), 0, torch.device("cpu"))
    data.__dict__["analysis_store"] = NormsOnly(NORMS)
    data.__dict__["train_store"] = NormsOnly(NORMS[::-1].copy())
    return data


def test_a_choice_names_its_claims_and_its_other():
    ours = DataChoice(True, 3.0)
    assert ours.other == DataChoice(False, 3.0) and ours.other.other == ours
    assert (ours.suffix, ours.other.suffix) == ("", "_no_norm_filter")
    assert "3×" in ours.label and "3×" in ours.note
    assert "no norm filter" in ours.other.label and "paper" in ours.other.note
    assert "leaves out" in ours.description and "keeps every" in ours.other.description


@pytest.mark.parametrize("norm_filter", [True, False])
def test_rows_and_splices_follow_the_profile_s_choice(norm_filter):
    data = data_with(norm_filter)
    threshold = 3.0 * np.median(NORMS)
    assert data.outlier_threshold == pytest.approx(threshold)
    np.testing.assert_array_equal(data.outlier_rows, [3, 6])  # whichever the choice
    filtered, everything = [0, 1, 2, 4, 5], np.arange(len(NORMS))
    np.testing.assert_array_equal(data.analysis_rows, filtered if norm_filter else everything)
    np.testing.assert_array_equal(data.rows_with(data.choice.other), everything if norm_filter else filtered)
    np.testing.assert_array_equal(data.train_rows, [1, 2, 4, 5, 6] if norm_filter else everything)
    assert data.splice_threshold == (pytest.approx(threshold) if norm_filter else float("inf"))


def test_the_paper_keeps_every_token_and_our_profiles_filter():
    assert not load("paper").lm.norm_filter
    assert load("cpu").lm.norm_filter and load("smoke").lm.norm_filter


def test_depth_sites_are_the_residual_layers_not_already_harvested():
    data = LmData(load("smoke", {"lm.layer": 15, "lm.depth_layers": (5, 14, 15, 25)}), 0, torch.device("cpu"))
    assert [str(s) for s in data.depth_sites] == ["resid_post.5", "resid_post.25"]  # 14 and 15 are sites
    assert [e.name for e in data.depth_entries] == ["topk-256-k16@resid_post.5", "topk-256-k16@resid_post.25"]
    assert LmData(load("smoke", {"lm.depth_layers": ()}), 0, torch.device("cpu")).depth_entries == []


def test_the_reference_line_has_its_seed_replicas():
    data = LmData(load("smoke", {"sae_suite.seeds": 3}), 0, torch.device("cpu"))
    line = {e.width for e in data.replica_entries}
    assert len(data.replica_entries) == 2 * len(line) and {e.replica for e in data.replica_entries} == {1, 2}
    assert all(e.sparsity == 32 for e in data.replica_entries)  # smoke's reference_l0, a k of its grid


def test_a_pretrained_family_without_a_depth_layer_is_refused_at_once():
    with pytest.raises(
        ValueError, match=r"no 16k residual SAE at layer\(s\) \[2\]; it has layers \[5, 9, 12, 15\]"
    ):
        LmData(load("cpu", {"sae_suite.source": "gemma-scope-2-270m"}), 0, torch.device("cpu"))
