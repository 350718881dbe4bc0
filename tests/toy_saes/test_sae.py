import dataclasses

import pytest
import torch
from sae_lens.saes.sae import TrainStepInput
from sae_lens.saes.standard_sae import StandardTrainingSAE, StandardTrainingSAEConfig

from helpers.toy_saes.latent_metrics import (
    cosines,
    count_peaks,
    describe_decoder,
    describe_encoder,
    latent_table,
    live_latents,
    match_latents,
)
from helpers.toy_saes.sae import (
    ActivationOrthogonality,
    OrthogonalityPenalty,
    OrthogonalitySchedule,
    ToySAE,
    train_toy_saes,
)
from helpers.toy_saes.true_features import SAMPLING_ROWS, TrueFeatures, orthogonal_vectors


def features_in(n: int, d: int, seed: int = 0) -> torch.Tensor:
    return orthogonal_vectors(n, d, torch.Generator().manual_seed(seed))


def test_orthogonal_vectors_are_orthonormal_or_nearly_so_in_superposition():
    exact = features_in(4, 10)
    assert torch.allclose(exact @ exact.T, torch.eye(4), atol=1e-5)
    squeezed = features_in(20, 19)
    gram = squeezed @ squeezed.T
    assert torch.allclose(gram.diagonal(), torch.ones(20), atol=1e-4)
    off = gram[~torch.eye(20, dtype=torch.bool)].abs()
    assert off.max() < 0.1 and abs(off.mean().item() - 1 / 19) < 0.01  # the post's "about +-0.05"


def test_forced_parent_keeps_the_child_probability_and_raises_the_parent():
    torch.manual_seed(0)
    data = TrueFeatures(features_in(3, 8), torch.tensor([0.2, 0.3, 0.1]), 2.0, forced_parents={1: 0})
    x, a = data.sample(200_000)
    on = a > 0
    assert not (on[:, 1] & ~on[:, 0]).any(), "a child never fires without its parent"
    assert on[:, 1].float().mean() == pytest.approx(0.3, abs=0.005)
    assert on[:, 0].float().mean() == pytest.approx(1 - 0.8 * 0.7, abs=0.005)
    assert torch.allclose(x, a @ data.vectors, atol=1e-5) and set(a[on].unique().tolist()) == {2.0}


def test_conditional_child_fires_with_its_probability_given_the_parent():
    torch.manual_seed(0)
    data = TrueFeatures(
        features_in(4, 8), torch.tensor([0.3, 0.4, 0.4, 0.2]), conditional_children={1: 0, 2: 0}
    )
    on = data.sample(200_000)[1] > 0
    assert not (on[:, 1:3] & ~on[:, :1]).any()
    assert on[:, 0].float().mean() == pytest.approx(0.3, abs=0.005)
    assert on[on[:, 0], 1].float().mean() == pytest.approx(0.4, abs=0.01)
    assert on[:, 3].float().mean() == pytest.approx(0.2, abs=0.005)


@pytest.mark.parametrize("batch_size", [3, SAMPLING_ROWS + 1])
def test_batches_are_count_fresh_batches_of_the_right_shape(batch_size):
    torch.manual_seed(0)
    data = TrueFeatures(features_in(3, 8), 0.5)
    batches = list(data.batches(batch_size, 7))
    assert [b.shape for b in batches] == [torch.Size([batch_size, 8])] * 7
    assert not torch.equal(batches[0], batches[1])


def test_bad_feature_settings_are_refused():
    vectors = features_in(3, 4)
    with pytest.raises(ValueError, match="probability"):
        TrueFeatures(vectors, torch.tensor([0.2, 0.0, 0.1]))
    with pytest.raises(ValueError, match="child 5 -> parent 0"):
        TrueFeatures(vectors, 0.1, forced_parents={5: 0})
    with pytest.raises(ValueError, match="both ways"):
        TrueFeatures(vectors, 0.1, forced_parents={1: 0}, conditional_children={1: 2})
    with pytest.raises(ValueError, match="enumerate at most"):
        TrueFeatures(features_in(20, 20), 0.1).possible_patterns()


def test_possible_patterns_respect_the_hierarchy():
    data = TrueFeatures(features_in(3, 4), 0.1, forced_parents={1: 0})
    patterns = data.possible_patterns()
    assert len(patterns) == 6  # 8 patterns minus the two with the child on and the parent off
    assert not ((patterns[:, 1] == 1) & (patterns[:, 0] == 0)).any()


@pytest.mark.parametrize("tied", [False, True])
def test_tied_and_untied_saes_match_sae_lens_inference_and_training_losses(tied):
    sae = ToySAE(
        2, 6, 5, tied=tied, generator=torch.Generator().manual_seed(0), weight_l1_by_decoder_norm=True
    )
    with torch.no_grad():
        for parameter in sae.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    x = torch.randn(7, 6)
    losses = sae.losses(x, l1_coefficient=0.3)
    for instance in range(2):
        reference = sae.to_sae_lens(instance)
        assert torch.allclose(reference.encode(x), losses.h[instance], atol=1e-6)
        assert torch.allclose(reference.decode(losses.h[instance]), sae.decode(losses.h)[instance], atol=1e-6)
        training = StandardTrainingSAE(StandardTrainingSAEConfig(d_in=6, d_sae=5, l1_coefficient=0.3))
        training.load_state_dict(reference.state_dict())
        out = training.training_forward_pass(TrainStepInput(x, {"l1": 0.3}, None, 0, False))
        assert out.losses["mse_loss"].item() == pytest.approx(losses.mse[instance].item(), rel=1e-5)
        assert out.losses["l1_loss"].item() == pytest.approx(losses.l1[instance].item(), rel=1e-5)
    if tied:
        assert torch.equal(sae.W_enc, sae.W_dec.transpose(1, 2)) and not sae.b_enc.any()


def direct_losses(sae, x, l1_coefficient, penalty):
    """The three training losses as written, through autograd: reconstruction formed, x - b_dec
    formed, cosines from normalised vectors."""
    h, hidden_pre = sae.encode_with_hidden_pre(x)
    per_instance = x.expand(sae.n_instances, -1, -1) if x.dim() == 2 else x
    mse = (sae.decode(h) - per_instance).square().sum(-1).mean(-1)
    weights = sae.W_dec.norm(dim=-1) if sae.weight_l1_by_decoder_norm else torch.ones_like(sae.threshold)
    l1 = l1_coefficient * (h * weights[:, None, :]).sum(-1).mean(-1)
    centred = torch.nn.functional.normalize(per_instance - sae.b_dec[:, None, :], dim=-1)
    cosines = centred @ torch.nn.functional.normalize(sae.W_dec, dim=-1).transpose(1, 2)
    below = hidden_pre < penalty.thresholds[:, None, :]
    if not penalty.penalise_silent:
        below &= hidden_pre > 0
    orthogonality = penalty.scale * (below * cosines.square()).sum(-1).mean(-1)
    return mse, l1, orthogonality


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("shared_batch", [False, True])
@pytest.mark.parametrize("variant", ["plain", "orthogonality", "weak firings, JumpReLU, norm-weighted L1"])
def test_closed_form_losses_and_gradients_equal_autograd_of_the_losses_as_written(
    tied, shared_batch, variant
):
    """The training step never forms x_hat or x - b_dec; its losses and gradients must still be
    those of the formulas, with non-zero biases, a batch per instance or a shared one."""
    sae = ToySAE(3, 12, 4, tied=tied, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for parameter in sae.parameters():
            parameter.add_(0.3 * torch.randn(parameter.shape, generator=torch.Generator().manual_seed(4)))
    shape = (64, 12) if shared_batch else (3, 64, 12)
    x = 5.0 * torch.randn(shape, generator=torch.Generator().manual_seed(5))
    thresholds = torch.rand(3, 4, generator=torch.Generator().manual_seed(6))
    penalty = OrthogonalityPenalty(7.0, thresholds, penalise_silent=variant == "orthogonality")
    if variant.startswith("weak"):
        sae.threshold.copy_(0.5 * thresholds)
        sae.weight_l1_by_decoder_norm = not sae.weight_l1_by_decoder_norm
    mse, l1, orthogonality = direct_losses(sae, x, 0.3, penalty)
    if variant == "plain":
        penalty, orthogonality = None, torch.zeros_like(mse)
    ours = sae.set_gradients(x, 0.3, penalty)
    for mine, theirs in zip(ours[:3], (mse, l1, orthogonality), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-4)
    expected = torch.autograd.grad((mse + l1 + orthogonality).sum(), list(sae.parameters()))
    for parameter, gradient in zip(sae.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient, rtol=1e-4, atol=1e-4)


def test_tied_l1_is_plain_by_default_so_copies_of_a_latent_cost_more():
    """With decoder-norm weighting, splitting a tied latent in two copies is free; without, it costs."""
    direction = torch.nn.functional.normalize(torch.randn(6), dim=0)
    x = 3.0 * direction[None, :]
    one, split = (ToySAE(1, 6, 2, tied=True) for _ in range(2))
    with torch.no_grad():
        one.W_dec.copy_(torch.stack([direction, torch.zeros(6)])[None])
        split.W_dec.copy_(torch.stack([direction, direction])[None] / 2**0.5)
    assert one.losses(x, 1.0).mse.item() == pytest.approx(split.losses(x, 1.0).mse.item(), abs=1e-5)
    assert split.losses(x, 1.0).l1.item() > 1.4 * one.losses(x, 1.0).l1.item()
    for sae in (one, split):
        sae.weight_l1_by_decoder_norm = True
    assert split.losses(x, 1.0).l1.item() == pytest.approx(one.losses(x, 1.0).l1.item(), rel=1e-5)


def test_jump_relu_threshold_zeroes_small_activations_and_exports_as_jumprelu():
    sae = ToySAE(1, 4, 3, tied=False, generator=torch.Generator().manual_seed(1))
    x = torch.randn(50, 4)
    plain = sae.encode(x)
    with torch.no_grad():
        sae.threshold.fill_(plain[plain > 0].median().item())
    jumped = sae.encode(x)
    assert torch.equal(jumped, plain * (jumped > 0)) and (jumped > 0).sum() < (plain > 0).sum()
    exported = sae.to_sae_lens(0)
    assert type(exported).__name__ == "JumpReLUSAE" and torch.allclose(exported.encode(x), jumped[0])


def test_orthogonality_schedule_delays_then_ramps_and_penalises_weak_and_silent_samples():
    schedule = OrthogonalitySchedule(coefficient=2.0, window=2, delay_share=0.2, warmup_share=0.4)
    sae = ToySAE(1, 3, 2, tied=True)
    with torch.no_grad():
        sae.W_dec.copy_(torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]))
    aux = ActivationOrthogonality(schedule, sae, total_steps=10)
    assert [aux.ramp(s) for s in (0, 1, 2, 3, 5, 9)] == [0.0, 0.0, 0.25, 0.5, 1.0, 1.0]
    aux.observe(0, torch.tensor([[[4.0, 1.0]]]))
    aux.observe(1, torch.tensor([[[2.0, 3.0]]]))
    assert torch.allclose(aux.thresholds(9), 0.7 * torch.tensor([[4.0, 3.0]]))
    weak_first = torch.tensor([[1.0, 2.5, 0.0]])  # latent 0 below its threshold 2.8, latent 1 above 2.1
    silent_first = torch.tensor([[-1.0, 2.5, 0.0]])  # latent 0 does not fire at all
    cos_squared = 1.0 / 7.25  # latent 0's, for both

    def loss(state, step, x):
        return sae.losses(x, 0.0, state.penalty(step)).orthogonality.item()

    assert aux.penalty(1) is None
    assert loss(aux, 9, weak_first) == pytest.approx(2.0 * cos_squared)
    assert loss(aux, 9, silent_first) == pytest.approx(2.0 * cos_squared)
    assert loss(aux, 3, weak_first) == pytest.approx(0.5 * 2.0 * cos_squared, rel=1e-2)  # thresholds ramp too
    weak_only = ActivationOrthogonality(dataclasses.replace(schedule, penalise_silent=False), sae, 10)
    weak_only.recent_max.copy_(aux.recent_max)
    assert loss(weak_only, 9, silent_first) == 0.0
    assert loss(weak_only, 9, weak_first) == pytest.approx(2.0 * cos_squared)
    with pytest.raises(ValueError):
        OrthogonalitySchedule(delay_share=0.8, warmup_share=0.5)


def test_a_tied_sae_learns_independent_orthogonal_features_exactly_and_its_table_says_so():
    torch.manual_seed(0)
    data = TrueFeatures(features_in(4, 10), 0.2)
    sae = ToySAE(2, 10, 4, tied=True, generator=torch.Generator().manual_seed(0))
    train_toy_saes(sae, data, samples=400_000, batch_size=1024, lr=1e-2, l1_coefficient=3e-2, progress=False)
    x = data.sample(20_000)[0]
    for instance in range(2):
        matching = match_latents(cosines(sae.W_dec[instance], data.vectors))
        assert matching.score > 0.99 and sorted(matching.features) == [0, 1, 2, 3]
        table = latent_table(sae, instance, data, x)
        assert table["live"].all() and sorted(table["feature"]) == [0, 1, 2, 3]
        assert (table["encoder"] == [f"feat{f}" for f in table["feature"]]).all()
        assert (table["peaks"] == 1).all() and table["firing_rate"].between(0.18, 0.22).all()


def test_matching_is_the_optimal_assignment():
    table = torch.tensor([[0.9, 0.8], [0.85, 0.1], [0.0, 0.0]])
    matching = match_latents(table)  # greedy would take (0, 0) and leave 0.1
    assert matching.latents == (0, 1) and matching.features == (1, 0)
    assert matching.score == pytest.approx((0.8 + 0.85) / 2)
    only_live = match_latents(table, live=torch.tensor([False, True, True]))
    assert only_live.feature_of(1) == 0 and only_live.feature_of(0) is None


def test_live_latents_drop_silent_and_negligible_ones():
    h = torch.tensor([[1.0, 0.0, 0.001], [2.0, 0.0, 0.0]])
    assert live_latents(h, torch.ones(3)).tolist() == [True, False, False]


def test_peaks_count_separated_clusters_of_activation():
    generator = torch.Generator().manual_seed(0)
    one = 5 + 0.05 * torch.randn(5000, generator=generator)
    four = torch.cat(
        [c + 0.05 * torch.randn(n, generator=generator) for c, n in ((1, 900), (2, 300), (4, 3000), (5, 800))]
    )
    assert count_peaks(one) == 1 and count_peaks(four) == 4 and count_peaks(torch.zeros(10)) == 0
    # one magnitude nudged by faint interference: sub-clusters 1% apart are one peak
    nudged = torch.cat([14 + 0.14 * k + 0.01 * torch.randn(1000, generator=generator) for k in range(3)])
    assert count_peaks(nudged) == 1
    # faint firings near zero (bias, small overlaps) are not a peak
    assert count_peaks(torch.cat([one, 0.1 * torch.rand(3000, generator=generator)])) == 1


def test_descriptions_name_absorption_in_the_posts_words():
    vectors = torch.eye(4)
    data = TrueFeatures(vectors, 0.25, forced_parents={1: 0})
    # latent 0: feat0 unless feat1; latent 1: feat1 writing feat0 + feat1; latent 2: feat2; latent 3: dead
    W_enc = torch.tensor(
        [[1.0, -1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [-1.0, -1.0, -1.0, -1.0]]
    )

    def encode(x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ W_enc.T)

    described = describe_encoder(
        encode, data.possible_patterns(), data.vectors, data.magnitude, data.parent_of
    )
    assert described == ["feat0 ∧ ¬feat1", "feat1", "feat2", "never fires"]
    assert describe_decoder(torch.tensor([0.7, 0.7, 0.0, 0.05]), vectors) == "feat0 + feat1"
    assert describe_decoder(torch.tensor([0.1, -0.4, 0.0, 1.0]), vectors) == "feat3 - 0.4 feat1"


def test_latents_silent_at_initialisation_are_flipped_towards_the_data():
    sae = ToySAE(2, 3, 2, tied=False)
    with torch.no_grad():
        sae.W_dec.copy_(torch.tensor([[[-1.0, -1.0, 0.0], [1.0, 0.0, 0.0]]]).expand(2, -1, -1))
        sae.W_enc_free.copy_(sae.W_dec.transpose(1, 2))
    x = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert not (sae.encode(x)[:, :, 0] > 0).any()
    assert sae.flip_silent_latents(x) == 2
    assert (sae.encode(x) > 0).any(dim=1).all() and sae.flip_silent_latents(x) == 0
