"""The packaged language models: loading, forward passes, and reading and splicing named sites."""

from __future__ import annotations

import pytest
import torch

from helpers.lm.model import (
    Site,
    Splice,
    hidden_from_residual,
    load_language_model,
    losses_from_residual,
    run_model,
    token_costs,
)

TEXT = "The Senate and the House of Representatives met in the Capitol to hear the President speak."


@pytest.fixture(params=["smollm2", "gemma"])
def lm(request):
    """Each packaged model, loaded once per session."""
    return request.getfixturevalue(request.param)


def ids_of(lm, text=TEXT):
    return lm.tokenizer([text], return_tensors="pt")["input_ids"]


def test_site_names_parse_and_bad_ones_are_refused():
    assert Site.parse("resid_post.9") == Site(9, "resid_post")
    assert str(Site.parse("attn_out.3")) == "attn_out.3"
    for bad in ("resid.9", "resid_post", "mlp_out.x"):
        with pytest.raises(ValueError, match="KIND.LAYER"):
            Site.parse(bad)


def test_unknown_model_names_are_refused_before_loading():
    with pytest.raises(ValueError, match="packaged ones are smollm2-135m, gemma-3-270m"):
        load_language_model("gpt-7")


def test_the_model_predicts_english_better_than_shuffled_tokens(lm):
    ids = ids_of(lm)
    shuffled = torch.cat([ids[:, :1], ids[:, 1:][:, torch.randperm(ids.shape[1] - 1)]], dim=1)
    real = run_model(lm, ids, with_loss=True).token_loss[0, 1:-1].mean()
    scrambled = run_model(lm, shuffled, with_loss=True).token_loss[0, 1:-1].mean()
    assert real < 4.0 < scrambled
    assert lm.prepends_bos == (lm.name == "gemma-3-270m")


def test_our_per_token_loss_is_the_model_s_own_cross_entropy(lm):
    ids = ids_of(lm)
    logits = lm.model(ids).logits[0, :-1].float()
    reference = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="none")
    ours = run_model(lm, ids, with_loss=True).token_loss[0]
    torch.testing.assert_close(ours[:-1], reference, atol=1e-4, rtol=1e-4)
    assert torch.isnan(ours[-1])
    later = run_model(lm, ids, with_loss=True, loss_from=5).token_loss[0]
    torch.testing.assert_close(later[5:-1], reference[5:], atol=1e-4, rtol=1e-4)
    assert torch.isnan(later[:5]).all() and torch.isnan(later[-1])


def test_attention_and_mlp_outputs_add_up_to_the_residual_stream(lm):
    layer = lm.n_layers // 2
    sites = [
        Site(layer - 1, "resid_post"),
        Site(layer, "attn_out"),
        Site(layer, "mlp_out"),
        Site(layer, "resid_post"),
    ]
    a = run_model(lm, ids_of(lm), read=sites).activations
    torch.testing.assert_close(a[sites[0]] + a[sites[1]] + a[sites[2]], a[sites[3]], atol=1e-2, rtol=1e-4)


def test_a_harvest_stops_after_the_deepest_site(lm):
    calls = []
    handle = lm.decoder_layers[-1].register_forward_hook(lambda *args: calls.append(1))
    try:
        run_model(lm, ids_of(lm), read=[Site(2, "resid_post")])
        assert not calls
        run_model(lm, ids_of(lm), with_loss=True)
        assert calls
    finally:
        handle.remove()


def test_splices_replace_only_the_chosen_positions_and_identity_changes_nothing(lm):
    ids, site = ids_of(lm), Site(lm.n_layers // 2, "resid_post")
    clean = run_model(lm, ids, read=[site], with_loss=True)
    same = run_model(lm, ids, splices=[Splice(site, lambda x: x.clone(), slice(3, None))], with_loss=True)
    torch.testing.assert_close(same.token_loss, clean.token_loss, equal_nan=True)
    zero = run_model(
        lm, ids, read=[site], splices=[Splice(site, torch.zeros_like, slice(3, None))], with_loss=True
    )
    spliced = zero.activations[site]
    assert torch.equal(spliced[:, :3], clean.activations[site][:, :3])
    assert not spliced[:, 3:].any()
    assert torch.equal(zero.token_loss[:, :3], clean.token_loss[:, :3])  # causal: earlier positions unchanged
    assert zero.token_loss[0, 3:-1].mean() > clean.token_loss[0, 3:-1].mean() + 1.0


def test_running_on_from_a_residual_gives_the_whole_model_s_loss(lm):
    ids, site = ids_of(lm), Site(lm.n_layers // 2, "resid_post")
    clean = run_model(lm, ids, read=[site], with_loss=True)
    on_from = losses_from_residual(lm, site, clean.activations[site], ids, loss_from=2)
    torch.testing.assert_close(on_from[:, 2:], clean.token_loss[:, 2:], atol=1e-4, rtol=1e-4, equal_nan=True)
    assert on_from[:, :2].isnan().all()
    zeroed = clean.activations[site].clone()
    zeroed[:, 3:] = 0
    spliced = run_model(lm, ids, splices=[Splice(site, torch.zeros_like, slice(3, None))], with_loss=True)
    torch.testing.assert_close(
        losses_from_residual(lm, site, zeroed, ids), spliced.token_loss, atol=1e-4, rtol=1e-4, equal_nan=True
    )
    assert all(type(layer) is type(lm.decoder_layers[-1]) for layer in lm.decoder_layers)  # put back
    with pytest.raises(ValueError, match="resid_post"):
        losses_from_residual(lm, Site(1, "mlp_out"), zeroed, ids)


def test_token_costs_agree_with_the_whole_distributions(lm):
    """Loss and KL read in chunks against log-softmax over the whole vocabulary and torch's KL; a
    run identical to the clean one has zero divergence."""
    ids, site = ids_of(lm), Site(lm.n_layers // 2, "resid_post")
    residual = run_model(lm, ids, read=[site]).activations[site]
    generator = torch.Generator().manual_seed(0)
    noisy = (
        residual
        + 0.3
        * residual.norm(dim=-1, keepdim=True)
        * torch.randn(residual.shape, generator=generator)
        / residual.shape[-1] ** 0.5
    )
    clean = hidden_from_residual(lm, site, residual)
    hiddens = {"same": clean, "noisy": hidden_from_residual(lm, site, noisy)}
    clean_loss, costs = token_costs(lm, clean, hiddens, ids, first=2, chunk=3)
    cap = getattr(lm.model.config, "final_logit_softcapping", None)

    def log_probs(hidden):
        logits = lm.model.lm_head(hidden[:, 2:-1]).float()
        return torch.log_softmax(torch.tanh(logits / cap) * cap if cap else logits, -1)

    targets = ids[:, 3:, None]
    clean_log_probs, noisy_log_probs = log_probs(clean), log_probs(hiddens["noisy"])
    torch.testing.assert_close(
        clean_loss, -clean_log_probs.gather(-1, targets).squeeze(-1), atol=1e-4, rtol=1e-4
    )
    loss, divergence = costs["noisy"]
    torch.testing.assert_close(loss, -noisy_log_probs.gather(-1, targets).squeeze(-1), atol=1e-4, rtol=1e-4)
    expected = torch.nn.functional.kl_div(noisy_log_probs, clean_log_probs, log_target=True, reduction="none")
    torch.testing.assert_close(divergence, expected.sum(-1), atol=1e-4, rtol=1e-3)
    assert divergence.mean() > 0.01
    torch.testing.assert_close(costs["same"][0], clean_loss, atol=1e-4, rtol=1e-4)
    assert costs["same"][1].abs().max() < 1e-4


def test_sites_outside_the_model_are_refused(lm):
    with pytest.raises(ValueError, match="has layers 0.."):
        run_model(lm, ids_of(lm), read=[Site(lm.n_layers, "resid_post")])


@pytest.mark.slow
def test_compiled_blocks_read_and_splice_as_the_eager_model_does(smollm2):
    eager, compiled = smollm2, load_language_model("smollm2-135m", compiled=True)
    ids, layer = ids_of(eager), eager.n_layers // 2
    sites = [Site(layer, "attn_out"), Site(layer, "mlp_out"), Site(layer, "resid_post")]
    splice = Splice(sites[1], torch.zeros_like, slice(3, None))
    runs = [run_model(lm, ids, read=sites, splices=[splice], with_loss=True) for lm in (eager, compiled)]
    for site in sites:
        torch.testing.assert_close(runs[1].activations[site], runs[0].activations[site], atol=1e-4, rtol=1e-4)
    assert not runs[1].activations[sites[1]][:, 3:].any()
    torch.testing.assert_close(runs[1].token_loss, runs[0].token_loss, atol=1e-4, rtol=1e-4, equal_nan=True)


def test_compiling_without_a_cxx_compiler_is_refused_with_the_way_out(monkeypatch, smollm2):
    from torch._inductor import config as inductor_config

    from helpers.lm.model import compile_blocks

    monkeypatch.setattr(inductor_config.cpp, "cxx", (None, "no-such-c++"))
    with pytest.raises(RuntimeError, match="lm.compiled"):
        compile_blocks(smollm2)


def test_randomized_weights_keep_each_matrix_s_moments_and_the_one_dimensional_parameters():
    from helpers.lm.randomized import randomize_weights

    torch.manual_seed(0)
    embedding = torch.nn.Embedding(50, 16)
    head = torch.nn.Linear(16, 50, bias=False)
    head.weight = embedding.weight  # tied, as Gemma's are
    model = torch.nn.ModuleDict(
        {"embed": embedding, "mlp": torch.nn.Linear(16, 16), "norm": torch.nn.LayerNorm(16), "head": head}
    )
    with torch.no_grad():
        model["mlp"].weight.mul_(3).add_(0.5)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    redrawn = randomize_weights(model, seed=0)
    assert redrawn == ["embed.weight", "mlp.weight"]  # the tied head is the embedding, drawn once
    assert model["head"].weight is model["embed"].weight
    for name, p in model.named_parameters():
        if name in redrawn:
            assert not torch.equal(p, before[name])
            mean, std = before[name].mean().item(), before[name].std().item()
            assert p.mean().item() == pytest.approx(mean, abs=0.15 * std)
            assert p.std().item() == pytest.approx(std, rel=0.15)
        else:
            assert torch.equal(p, before[name]), f"{name} is one-dimensional and kept"
    again = torch.nn.Linear(16, 16)
    other = torch.nn.Linear(16, 16)
    other.load_state_dict(again.state_dict())
    randomize_weights(again, seed=3)
    randomize_weights(other, seed=3)
    assert torch.equal(again.weight, other.weight), "the seed fixes the draw"
