"""The readings of broken latents, on SAEs whose weights are set by hand to each kind."""

import math

import pytest
import torch

from helpers.toy_saes.broken_latents import (
    child_latents,
    combo_firing,
    combo_latents,
    off_span_share,
    shows_absorption_table,
    top_principal_component,
)
from helpers.toy_saes.latent_metrics import cosines, direction_table, latent_table, off_diagonal
from helpers.toy_saes.runs import SAERun, census
from helpers.toy_saes.sae import ToySAE
from helpers.toy_saes.true_features import TrueFeatures

unit = torch.nn.functional.normalize


def hand_set_run(data: TrueFeatures, W_dec: torch.Tensor, W_enc=None, b_enc=None) -> SAERun:
    """One seed of an SAE with the given latent directions (`W_dec` `[latents, d]`; untied when
    `W_enc` `[d, latents]` is given), read like a trained run."""
    sae = ToySAE(1, data.d_model, W_dec.shape[0], tied=W_enc is None)
    with torch.no_grad():
        sae.W_dec.copy_(W_dec[None])
        if W_enc is not None:
            sae.W_enc_free.copy_(W_enc[None])
            sae.b_enc_free.copy_(torch.zeros(W_dec.shape[0]) if b_enc is None else b_enc[None])
    torch.manual_seed(0)
    x, _ = data.sample(5_000)
    table = latent_table(sae, 0, data, x)
    return SAERun(sae, data, x, [table], [census(table)], [], best=0, seconds=0.0)


def test_an_sae_built_to_absorb_shows_the_posts_table_and_a_clean_one_does_not():
    data = TrueFeatures(torch.eye(4), torch.tensor([0.25, 0.1, 0.25, 0.25]), forced_parents={1: 0})
    v = torch.eye(4)
    absorbing_encoder = torch.stack([v[0] - v[1], v[1], v[2], v[3]], dim=1)
    absorbing_decoder = torch.stack([v[0], v[0] + v[1], v[2], v[3]])
    absorbing = hand_set_run(data, absorbing_decoder, absorbing_encoder)
    assert shows_absorption_table(absorbing.kept_table)
    assert not shows_absorption_table(hand_set_run(data, v, v).kept_table)  # feat1 decodes feat1


def test_a_combo_latent_is_found_and_costs_less_l1_than_the_pair():
    data = TrueFeatures(torch.eye(3), 0.3)
    v = torch.eye(3)
    # latents 0 and 1 fire on their feature unless the other fires; latent 3 fires on the pair
    encoder = torch.stack([v[0] - v[1], v[1] - v[0], v[2], v[0] + v[1]], dim=1)
    decoder = torch.stack([v[0], v[1], v[2], v[0] + v[1]])
    run = hand_set_run(data, decoder, encoder, b_enc=torch.tensor([0.0, 0.0, 0.0, -1.0]))
    assert run.kept.broken == (3,) and combo_latents(run) == [(0, 3)]
    shown = combo_firing(run, 0, 3)
    assert shown.encoder == "feat0 ∧ feat1" and list(shown.table["input"]) == [
        "feat0",
        "feat1",
        "feat0 + feat1",
    ]
    assert shown.table["true L1"].tolist() == [1.0, 1.0, 2.0]
    assert shown.table["SAE L1"].tolist()[:2] == pytest.approx([1.0, 1.0])
    assert shown.pair_l1 == pytest.approx(math.sqrt(2)), "one latent of norm sqrt 2 at activation 1"
    clean = hand_set_run(data, torch.eye(3), torch.eye(3))
    assert combo_latents(clean) == []


def test_child_latents_read_the_parent_and_the_other_child_and_split_the_overlap():
    data = TrueFeatures(torch.eye(5), 0.2)
    v = torch.eye(5)
    latent_1 = unit(v[1] + 0.5 * v[0] - 0.3 * v[2], dim=0)
    latent_2 = unit(v[2] + 0.4 * v[0] - 0.2 * v[1], dim=0)
    run = hand_set_run(data, torch.stack([v[3], latent_2, latent_1, v[4]]))
    children = child_latents(run, (1, 2), parent=0)
    assert children.latent_of == {1: 2, 2: 1}
    assert children.parent_cos[1] == pytest.approx(latent_1[0].item())
    assert children.other_child_cos == pytest.approx({1: latent_1[2].item(), 2: latent_2[1].item()})
    # in the span of orthonormal features, the two parts add up to the latents' cosine
    total = children.overlap_through_parent + children.overlap_through_children
    assert total == pytest.approx((latent_1 @ latent_2).item(), abs=1e-6)


def test_the_top_principal_component_is_the_axis_of_largest_variance():
    generator = torch.Generator().manual_seed(0)
    rotation, _ = torch.linalg.qr(torch.randn(3, 3, generator=generator))
    x = (torch.randn(20_000, 3, generator=generator) * torch.tensor([2.0, 1.0, 0.5])) @ rotation.T + 7.0
    component = top_principal_component(x)
    assert component.dtype == torch.float32 and component.norm().item() == pytest.approx(1.0, abs=1e-6)
    assert abs(component @ rotation[:, 0]).item() > 0.999


def test_off_span_share_is_the_squared_norm_outside_the_features():
    vectors = torch.eye(4)[:2]
    assert off_span_share(torch.tensor([3.0, -4.0, 0.0, 0.0]), vectors) == pytest.approx(0.0, abs=1e-7)
    assert off_span_share(torch.tensor([0.0, 0.0, 1.0, 2.0]), vectors) == pytest.approx(1.0)
    assert off_span_share(torch.tensor([1.0, 0.0, 1.0, 0.0]), vectors) == pytest.approx(0.5)


def test_off_diagonal_and_direction_tables():
    matrix = torch.arange(9.0).reshape(3, 3)
    assert off_diagonal(matrix).tolist() == [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]
    latents = unit(torch.randn(4, 6, generator=torch.Generator().manual_seed(1)), dim=-1)
    assert off_diagonal(cosines(latents, latents)).shape == (12,)
    table = direction_table(
        {"a": torch.tensor([1.0, 1.0, 0.0]), "b": torch.tensor([0.0, 0.0, -2.0])}, torch.eye(3)
    )
    assert list(table.columns) == ["a", "b"] and list(table.index) == ["feat0", "feat1", "feat2"]
    assert table["a"].tolist() == pytest.approx([2**-0.5, 2**-0.5, 0.0]) and table.loc["feat2", "b"] == -1.0
