"""Absorption meets dark matter (Part V): first-letter labels, the letter probe, SAEBench's rule
for an absorbed token on an SAE built by hand, the letter-matched ratio, and the multi-peak share."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sae_lens import TopKSAE, TopKSAEConfig

from helpers.open_questions.absorption import (
    LETTERS,
    NO_LETTER,
    LetterProbe,
    absorption_events,
    first_letter_labels,
    fit_letter_probe,
    matched_ratio_rows,
    mean_over_saes,
    multi_peak_latents,
)


class SpelledTokenizer:
    """Decodes token i to `texts[i]`."""

    def __init__(self, texts):
        self.texts = texts

    def decode(self, ids):
        return "".join(self.texts[i] for i in ids)


def test_first_letters_only_of_whole_word_starts():
    texts = [" cat", "cat", " The", " Über", " a1", "  x", " zebra", " "]
    labels = first_letter_labels(SpelledTokenizer(texts), np.array([[0, 1, 2], [3, 4, 5], [6, 7, 0]]))
    expected = [[2, NO_LETTER, 19], [NO_LETTER, NO_LETTER, NO_LETTER], [25, NO_LETTER, 2]]
    np.testing.assert_array_equal(labels, expected)


def test_the_probe_reads_separable_letters_and_refuses_a_missing_one():
    generator = torch.Generator().manual_seed(0)
    means = 3 * torch.randn(LETTERS, 40, generator=generator)
    labels = torch.arange(LETTERS).repeat(20)
    x = 10 + means[labels] + 0.3 * torch.randn(len(labels), 40, generator=generator)
    probe = fit_letter_probe(x, labels, l2=1e-4, steps=100)
    assert (probe.predict(x) == labels).float().mean() > 0.99
    torch.testing.assert_close(probe.directions.norm(dim=1), torch.ones(LETTERS, dtype=torch.float64))
    without = (labels != 1) & (labels != 25)  # no b or z to train on: never predicted
    partial = fit_letter_probe(x[without], labels[without], l2=1e-4, steps=100)
    predicted = partial.predict(x)
    assert not torch.isin(predicted, torch.tensor([1, 25])).any()
    assert (predicted[without] == labels[without]).float().mean() > 0.99
    assert partial.directions[[1, 25]].abs().sum() == 0
    with pytest.raises(ValueError, match="two letters or more"):
        fit_letter_probe(x[labels == 3], labels[labels == 3], l2=1e-4, steps=5)


@torch.no_grad()
def hand_built():
    """d = 32: letter L's probe reads coordinate L; latent L decodes e_L (letter L's main latent);
    latent 26 decodes 0.9 e_0 + 0.436 e_30, a token-specific latent carrying letter a; latent 27
    decodes e_31, which no letter reads. k = 1."""
    d, width = 32, 28
    sae = TopKSAE(TopKSAEConfig(d_in=d, d_sae=width, k=1, rescale_acts_by_decoder_norm=False))
    decoder = torch.zeros(width, d)
    decoder[:LETTERS, :LETTERS] = torch.eye(LETTERS)
    decoder[26, 0], decoder[26, 30] = 0.9, 0.436
    decoder[27, 31] = 1.0
    decoder /= decoder.norm(dim=1, keepdim=True)
    sae.W_dec.copy_(decoder)
    sae.W_enc.copy_(decoder.T)
    for bias in (sae.b_enc, sae.b_dec):
        bias.zero_()
    weight = torch.zeros(LETTERS, d, dtype=torch.float64)
    weight[:, :LETTERS] = torch.eye(LETTERS)
    return sae, LetterProbe(weight, torch.zeros(LETTERS, dtype=torch.float64)), decoder


def test_an_absorbed_token_by_saebenchs_rule():
    sae, probe, decoder = hand_built()
    x = torch.stack(
        [
            2.0 * decoder[0],  # letter a, its main latent fires
            2.0 * decoder[26],  # letter a through the token latent: absorbed
            2.0 * decoder[26],  # the same activation, but not a word start
            3.0 * decoder[5],  # letter f, main latent fires
            2.0 * decoder[26],  # labelled b: the probe reads a, so it is not read right
        ]
    ).numpy()
    labels = np.array([0, 0, NO_LETTER, 5, 1])
    events = absorption_events(sae, x, np.arange(5), labels, probe, torch.device("cpu"))
    np.testing.assert_array_equal(events.eligible, [True, True, False, True, False])
    np.testing.assert_array_equal(events.absorbed, [False, True, False, False, False])
    np.testing.assert_array_equal(events.main_fired, [True, False, False, True, False])


def test_an_unaligned_stand_in_is_not_absorption():
    sae, probe, _ = hand_built()
    x = torch.zeros(1, 32)
    x[0, 31], x[0, 0] = 3.0, 0.5  # latent 27 wins the top-1, and it carries nothing of letter a
    events = absorption_events(sae, x.numpy(), np.arange(1), np.array([0]), probe, torch.device("cpu"))
    assert events.eligible[0] and not events.main_fired[0] and not events.absorbed[0]


def test_the_matched_ratio_compares_letters_with_themselves():
    values = np.array([4.0, 4.0, 2.0, 2.0, 10.0, 7.0])
    absorbed = np.array([True, True, False, False, False, False])
    matched = np.array([False, False, True, True, True, False])
    letters = np.array([0, 0, 0, 0, 1, 1])
    groups = np.array([0, 1, 0, 1, 0, 1])
    weights = np.array([[1.0, 1.0], [2.0, 0.0]])
    rows = matched_ratio_rows(values, absorbed, matched, letters, groups, weights)
    assert rows[0] == pytest.approx(8 / (2 * 2)), "letter 1's matched token does not enter"
    assert rows[1] == pytest.approx(8 / (2 * 2))


@torch.no_grad()
def test_multi_peak_latents_are_those_with_two_humps():
    sae = TopKSAE(TopKSAEConfig(d_in=4, d_sae=4, k=4, rescale_acts_by_decoder_norm=False))
    sae.W_enc.copy_(torch.eye(4))
    sae.W_dec.copy_(torch.eye(4))
    for bias in (sae.b_enc, sae.b_dec):
        bias.zero_()
    rng = np.random.default_rng(0)
    x = np.zeros((2000, 4), dtype=np.float32)
    x[:, 0] = np.where(rng.random(2000) < 0.5, 1.0, 5.0) + 0.05 * rng.normal(size=2000)
    x[:, 1] = 3.0 + 0.3 * rng.normal(size=2000)
    x[:30, 2] = 1.0  # too few firings to be read
    peaked = multi_peak_latents(sae, x, np.arange(2000), 50, torch.device("cpu"))
    np.testing.assert_array_equal(peaked, [True, False])


def test_the_mean_over_saes_skips_saes_without_absorbed_tokens():
    rows = [np.array([2.0, 1.0, np.nan]), np.array([np.nan, 5.0, 5.0]), np.array([4.0, 3.0, 6.0])]
    np.testing.assert_allclose(mean_over_saes(rows), [3.0, 2.0, 6.0])
    with pytest.raises(ValueError, match="no SAE has an absorbed test token"):
        mean_over_saes([np.array([np.nan, 1.0])])
