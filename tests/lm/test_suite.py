"""SAE training, the suite's cache, pretrained names, and the reconstruction metrics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from sae_lens import TopKSAE, TopKSAEConfig
from sae_lens.loading.pretrained_saes_directory import get_pretrained_saes_directory

from helpers.lm import suite as sae_suite
from helpers.lm.activation_store import StoreSpec, harvest
from helpers.lm.corpus import Contexts
from helpers.lm.evaluation import (
    ce_recovered,
    equal_norm_perturbation,
    reconstruct,
    sae_replacement,
    spliced_context_losses,
    spliced_losses,
)
from helpers.lm.model import Site
from helpers.lm.pretrained import PRETRAINED, pretrained_depth
from helpers.lm.suite import SaeEntry, SuiteTraining, fold_normalisation, train_suite
from helpers.lm.topk_training import Plateau, TopKTraining, train_topk_sae, train_topk_sae_to_plateau


def sparse_dictionary_batches(dictionary: torch.Tensor, k: int, batch: int, seed: int):
    """Endless batches of sums of k random atoms with magnitudes in [0.5, 1.5]."""
    generator = torch.Generator().manual_seed(seed)
    width = dictionary.shape[0]
    while True:
        chosen = torch.rand(batch, width, generator=generator).argsort(dim=1)[:, :k]
        codes = torch.zeros(batch, width).scatter_(1, chosen, 0.5 + torch.rand(batch, k, generator=generator))
        yield codes @ dictionary


def test_topk_training_recovers_a_known_sparse_dictionary():
    torch.manual_seed(0)
    dictionary = torch.nn.functional.normalize(torch.randn(48, 32), dim=1)
    data = sparse_dictionary_batches(dictionary, k=3, batch=256, seed=1)
    sample = next(sparse_dictionary_batches(dictionary, 3, 20_000, seed=2))
    mean, scale = sample.mean(0), (sample - sample.mean(0)).pow(2).sum(1).mean().sqrt()
    unit = 32**0.5 / scale
    normalised = ((x - mean) * unit for x in data)
    config = TopKTraining(width=48, k=3, samples=400_000, batch_size=256, lr=3e-3, dead_after=20_000)
    sae, log = train_topk_sae(normalised, 32, config)
    fold_normalisation(sae, mean, float(unit))
    held_out = next(sparse_dictionary_batches(dictionary, 3, 4096, seed=3))
    recon = sae(held_out)
    fvu = (held_out - recon).pow(2).sum() / (held_out - held_out.mean(0)).pow(2).sum()
    assert fvu < 0.1 and log.fvu[-1] < log.fvu[0] / 3
    assert ((sae.encode(held_out) > 0).sum(1) <= 3).all()
    cosines = torch.nn.functional.normalize(sae.W_dec, dim=1) @ dictionary.T
    assert (cosines.max(0).values > 0.9).float().mean() >= 0.8  # most true atoms found


@pytest.mark.parametrize("dead_after", [0, 10**9], ids=["with-auxk", "no-dead-latents"])
def test_the_hand_written_gradients_match_autograd_through_the_plain_formula(dead_after):
    from helpers.lm.topk_training import _Run

    torch.manual_seed(0)
    config = TopKTraining(width=64, k=4, samples=8, batch_size=8, aux_k=6, dead_after=dead_after)
    run = _Run(16, config, torch.device("cpu"))
    with torch.no_grad():
        for p in run.params.parameters():
            p.copy_(torch.randn_like(p))
        run.params.W_dec *= torch.rand(64, 1) * 3 + 0.05  # free decoder norms, as training leaves them
    x = torch.randn(8, 16)
    error = run.gradients(x)
    ours = [p.grad for p in run.params.parameters()]

    W_dec, W_enc_T, b_enc, b_dec = (p.detach().clone().requires_grad_() for p in run.params.parameters())
    pre = (x - b_dec) @ W_enc_T.T + b_enc
    scores = pre.detach() * W_dec.detach().norm(dim=1)
    chosen = scores.topk(4, dim=1).indices
    recon = torch.einsum("bk,bkd->bd", pre.gather(1, chosen).relu(), W_dec[chosen]) + b_dec
    reference_error = x - recon
    loss = reference_error.pow(2).sum(1).mean()
    fired = torch.zeros(64, dtype=torch.bool).index_fill_(0, chosen.flatten(), True)
    if dead_after == 0:  # every latent this batch did not choose is dead
        aux = scores.masked_fill(fired, -torch.inf).topk(6, dim=1).indices
        aux_recon = torch.einsum("bk,bkd->bd", pre.gather(1, aux).relu(), W_dec[aux])
        loss = loss + 0.25 * (reference_error.detach() - aux_recon).pow(2).sum(1).mean()
    reference = torch.autograd.grad(loss, (W_dec, W_enc_T, b_enc, b_dec))
    torch.testing.assert_close(error, reference_error.detach())
    for mine, theirs in zip(ours, reference, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-5)


def test_saes_trained_together_are_the_saes_trained_apart():
    from helpers.lm.topk_training import train_topk_saes

    torch.manual_seed(0)
    data = [torch.randn(32, 16) for _ in range(6)]
    configs = [
        TopKTraining(width=48, k=4, samples=192, batch_size=32, dead_after=64),
        TopKTraining(width=24, k=2, samples=192, batch_size=32, seed=3, bf16=True),
    ]
    together = train_topk_saes(iter(data), 16, configs, log_every=2)
    for config, (sae, log) in zip(configs, together, strict=True):
        alone, alone_log = train_topk_sae(iter(data), 16, config, log_every=2)
        for name, tensor in alone.state_dict().items():
            assert torch.equal(sae.state_dict()[name], tensor), name
        assert log.fvu == alone_log.fvu and log.dead_latents == alone_log.dead_latents
    with pytest.raises(ValueError, match="share samples and batch_size"):
        train_topk_saes(iter(data), 16, [configs[0], TopKTraining(width=24, k=2, samples=96, batch_size=32)])
    with pytest.raises(ValueError, match=r"batch 0 has shape \(32, 8\), not \(32, 16\)"):
        train_topk_sae(iter([torch.randn(32, 8)]), 16, configs[0])
    with pytest.raises(ValueError, match="the batches ran out after 5 steps"):
        train_topk_sae(iter(data[:5]), 16, configs[0])


def test_a_plateau_run_stops_at_the_first_reading_that_fell_too_little_then_decays():
    torch.manual_seed(0)
    dictionary = torch.nn.functional.normalize(torch.randn(48, 32), dim=1)
    held_out = next(sparse_dictionary_batches(dictionary, 3, 2048, seed=3))
    config = TopKTraining(width=48, k=3, samples=256 * 40, batch_size=256, lr=3e-3)
    batches = sparse_dictionary_batches(dictionary, 3, 256, seed=1)
    sae, log, curve = train_topk_sae_to_plateau(
        batches, held_out, config, Plateau(every=1024, tolerance=0.99), log_every=1
    )
    assert curve.plateaued and curve.stable_samples == 2 * 1024, "any fall under 99% ends it at reading 2"
    assert curve.samples == [1024, 2048, 2048 + 512], "then a quarter of the stable phase's 8 steps decays"
    with torch.no_grad():
        fvu = (held_out - sae(held_out)).pow(2).sum() / (held_out - held_out.mean(0)).pow(2).sum()
    assert curve.fvu[-1] == pytest.approx(float(fvu), rel=1e-5), "the last reading is the returned SAE's"
    assert log.steps == list(range(10)) and log.seconds > 0
    batches = sparse_dictionary_batches(dictionary, 3, 256, seed=1)
    _, _, capped = train_topk_sae_to_plateau(batches, held_out, config, Plateau(every=2560, tolerance=1e-9))
    assert not capped.plateaued and capped.stable_samples == config.samples, "still falling at the cap"
    assert capped.fvu[0] > capped.fvu[-2] > capped.fvu[-1]


def test_bad_plateau_rules_are_refused():
    for bad, match in [
        (dict(every=0, tolerance=0.01), "every = 0"),
        (dict(every=10, tolerance=0.0), "tolerance = 0.0"),
        (dict(every=10, tolerance=1.0), "tolerance = 1.0"),
        (dict(every=10, tolerance=0.01, decay_share=-0.1), "decay_share"),
    ]:
        with pytest.raises(ValueError, match=match):
            Plateau(**bad)


def test_the_saved_sae_computes_what_training_ranked_and_reconstructed():
    from helpers.lm.topk_training import _as_sae_lens, _TopKParameters

    torch.manual_seed(0)
    params = _TopKParameters(16, 40, 0.1, torch.Generator().manual_seed(1))
    with torch.no_grad():
        for p in params.parameters():
            p.copy_(torch.randn_like(p))
        params.W_dec *= torch.rand(40, 1) * 3 + 0.05  # free decoder norms, as training leaves them
    x = torch.randn(64, 16)
    pre = (x - params.b_dec) @ params.W_enc_T.T + params.b_enc
    norms = params.W_dec.norm(dim=1)
    indices = (pre * norms).topk(5, dim=1).indices
    chosen = pre.gather(1, indices).relu()
    recon = torch.einsum("bk,bkd->bd", chosen, params.W_dec[indices]) + params.b_dec
    sae = _as_sae_lens(params.requires_grad_(False), TopKTraining(40, 5, 64, 64))
    latents = sae.encode(x)
    torch.testing.assert_close(sae.W_dec.norm(dim=1), torch.ones(40))
    torch.testing.assert_close(latents.gather(1, indices), chosen * norms[indices])
    assert int((latents > 0).sum()) == int((chosen > 0).sum())
    torch.testing.assert_close(sae.decode(latents), recon, rtol=1e-5, atol=1e-4)


def test_folding_the_normalisation_makes_the_sae_read_raw_activations():
    torch.manual_seed(0)
    sae = TopKSAE(TopKSAEConfig(d_in=16, d_sae=40, k=5, rescale_acts_by_decoder_norm=False))
    with torch.no_grad():
        for p in sae.parameters():
            p.copy_(torch.randn_like(p))
    mean, unit = 300 * torch.randn(16), 0.02
    raw = mean + torch.randn(64, 16) / unit
    latents, recon = sae.encode((raw - mean) * unit), sae((raw - mean) * unit)
    fold_normalisation(sae, mean, unit)
    torch.testing.assert_close(sae.encode(raw), latents, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(sae(raw), recon / unit + mean, rtol=1e-4, atol=1e-2)


def test_bad_training_configs_are_refused():
    with pytest.raises(ValueError, match="k = 65"):
        TopKTraining(width=64, k=65, samples=1000)
    with pytest.raises(ValueError, match="decoder_init_norm"):
        TopKTraining(width=64, k=8, samples=1000, decoder_init_norm=0.0)
    with pytest.raises(ValueError, match="architecture"):
        SaeEntry("resid_post.3", "gated", 64, 8)
    with pytest.raises(ValueError, match="sparsity"):
        SaeEntry("resid_post.3", "topk", 64, 0)


@pytest.fixture(scope="module")
def lm(smollm2):
    return smollm2


@pytest.fixture(scope="module")
def store(lm, tmp_path_factory):
    text = "It is a truth universally acknowledged, that a single man in possession of a good fortune. " * 40
    ids = np.asarray(lm.tokenizer(text)["input_ids"], dtype=np.int32)
    tokens = np.stack([ids[i * 11 : i * 11 + 32] for i in range(12)])
    contexts = Contexts(tokens, np.zeros(12, np.int8), ("gutenberg",), np.arange(12, dtype=np.int32))
    spec = StoreSpec(lm.fingerprint(), ("resid_post.5",), "test", 32, 12, 0, 4, with_loss=True)
    return harvest(lm, contexts, spec, tmp_path_factory.mktemp("store"), 4)


ENTRIES = [SaeEntry("resid_post.5", "topk", 64, 8), SaeEntry("resid_post.5", "jumprelu", 64, 8)]
TRAINING = SuiteTraining(samples=1024, batch_size=64, lr=1e-3, bf16=False, seed=0)


def test_the_suite_is_trained_once_then_loaded_and_retrained_when_corrupt(
    store, tmp_path, monkeypatch, capsys
):
    saes, records = train_suite(store, ENTRIES, TRAINING, tmp_path, torch.device("cpu"))
    assert set(saes) == {e.name for e in ENTRIES}
    assert type(saes[ENTRIES[0].name]).__name__ == "TopKSAE"
    assert type(saes[ENTRIES[1].name]).__name__ == "JumpReLUSAE"
    assert records[ENTRIES[0].name]["log"]["fvu"]

    def no_training(*args, **kwargs):
        raise AssertionError("a cached SAE was retrained")

    monkeypatch.setattr(sae_suite, "train_topk_saes", no_training)
    monkeypatch.setattr(sae_suite, "_train_jumprelu", no_training)
    again, _ = train_suite(store, ENTRIES, TRAINING, tmp_path, torch.device("cpu"))
    x = torch.from_numpy(np.array(store.activations("resid_post.5")[:10]))
    for name in saes:
        torch.testing.assert_close(again[name](x), saes[name](x))

    weights = tmp_path / ENTRIES[0].name / "sae_weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\x00" * 8)
    monkeypatch.undo()
    train_suite(store, ENTRIES[:1], TRAINING, tmp_path, torch.device("cpu"))
    assert "sae_weights.safetensors does not match its recorded sha256; retraining" in capsys.readouterr().out
    train_suite(store, ENTRIES[:1], SuiteTraining(2048, 64, 1e-3, False, 0), tmp_path, torch.device("cpu"))
    assert "trained with another config or store; retraining" in capsys.readouterr().out


def test_an_edited_config_or_a_deleted_weights_file_is_retrained_not_used(store, tmp_path, capsys):
    entry = ENTRIES[0]
    train_suite(store, [entry], TRAINING, tmp_path, torch.device("cpu"))
    config = tmp_path / entry.name / "cfg.json"
    config.write_text(config.read_text().replace('"k": 8', '"k": 64'))
    saes, _ = train_suite(store, [entry], TRAINING, tmp_path, torch.device("cpu"))
    assert "cfg.json has" in capsys.readouterr().out and saes[entry.name].cfg.k == 8
    (tmp_path / entry.name / "sae_weights.safetensors").unlink()
    saes, _ = train_suite(store, [entry], TRAINING, tmp_path, torch.device("cpu"))
    assert f"{entry.name}: sae_weights.safetensors is missing; retraining." in capsys.readouterr().out
    assert (tmp_path / entry.name / "sae_weights.safetensors").is_file()


def test_reconstruction_metrics_match_a_direct_computation(store):
    torch.manual_seed(0)
    sae = TopKSAE(TopKSAEConfig(d_in=576, d_sae=100, k=7, rescale_acts_by_decoder_norm=False))
    data = store.activations("resid_post.5")
    result = reconstruct(sae, data, chunk=13)
    x = torch.from_numpy(np.array(data)).double()
    recon = sae(x.float()).detach().double()
    fvu = (x - recon).pow(2).sum() / (x - x.mean(0)).pow(2).sum()
    assert result.fvu == pytest.approx(float(fvu), rel=1e-4)
    assert result.mean_l0 == pytest.approx(7.0, abs=0.01)
    assert result.dead_latents == int(((sae.encode(x.float()) > 0).sum(0) == 0).sum())


def test_splicing_the_activation_itself_recovers_all_the_loss(lm, store):
    site = Site(5, "resid_post")
    tokens = np.array(store.context_tokens[:4])
    losses = spliced_losses(
        lm,
        tokens,
        site,
        {"clean": None, "same": lambda a: a, "zero": torch.zeros_like},
        keep_from=4,
        batch_contexts=2,
    )
    assert losses["same"] == pytest.approx(losses["clean"], abs=1e-6)
    assert losses["zero"] > losses["clean"] + 1
    assert ce_recovered(losses["same"], losses["clean"], losses["zero"]) == pytest.approx(1.0)
    assert ce_recovered(losses["zero"], losses["clean"], losses["zero"]) == 0.0


def test_per_context_losses_average_to_the_pooled_loss(lm, store):
    site = Site(5, "resid_post")
    tokens = np.array(store.context_tokens[:3])
    replacements = {"clean": None, "zero": torch.zeros_like}
    by_context = spliced_context_losses(lm, tokens, site, replacements, keep_from=4, batch_contexts=2)
    pooled = spliced_losses(lm, tokens, site, replacements, keep_from=4, batch_contexts=3)
    assert by_context["clean"].shape == (3,)
    for name in replacements:
        assert by_context[name].mean() == pytest.approx(pooled[name], rel=1e-6)
    alone = spliced_losses(lm, tokens[1:2], site, replacements, keep_from=4, batch_contexts=1)
    assert by_context["zero"][1] == pytest.approx(alone["zero"], rel=1e-6)


def test_an_equal_norm_perturbation_moves_each_token_by_its_sae_error_norm():
    x = torch.randn(2, 5, 16)

    def halve(a: torch.Tensor) -> torch.Tensor:  # an "SAE" whose error is x / 2
        return a / 2

    perturbed = equal_norm_perturbation(halve, seed=0, max_norm=float("inf"))(x)
    torch.testing.assert_close((perturbed - x).norm(dim=-1), (x / 2).norm(dim=-1))
    assert not torch.allclose(perturbed - x, x / 2), "a random direction, not the error's"
    again = equal_norm_perturbation(halve, seed=0)(x)
    torch.testing.assert_close(again, perturbed)
    big = x.clone()
    big[0, 0] *= 100
    kept = equal_norm_perturbation(halve, seed=0, max_norm=float(x.norm(dim=-1).max()) + 1)(big)
    assert torch.equal(kept[0, 0], big[0, 0])


def test_every_pretrained_sae_is_in_sae_lens_s_registry():
    """Offline: sae_lens ships its registry of pretrained SAEs; every release and id we name is in it."""
    directory = get_pretrained_saes_directory()
    for family, saes in PRETRAINED.items():
        for pretrained in saes:
            assert pretrained.release in directory, (family, pretrained.release)
            release = directory[pretrained.release]
            assert pretrained.sae_id in release.saes_map, (family, pretrained.sae_id)
            assert (
                release.model
                == {"gemma-scope-9b": "gemma-2-9b", "gemma-scope-2-270m": "google/gemma-3-270m"}[family]
            )
            layer = str(Site.parse(pretrained.entry.site).layer)
            assert f"layer_{layer}" in pretrained.sae_id
    assert len(PRETRAINED["gemma-scope-9b"]) > 20


def test_a_splice_leaves_outlier_tokens_their_own_activation():
    activation = torch.tensor([[[3.0, 4.0], [30.0, 40.0]]], dtype=torch.bfloat16)  # norms 5 and 50
    replaced = sae_replacement(torch.zeros_like, max_norm=10.0)(activation)
    assert torch.equal(replaced[0, 0], torch.zeros(2)) and torch.equal(
        replaced[0, 1], torch.tensor([30.0, 40.0])
    )


def test_sparsity_line_takes_the_nearest_sparsity_at_each_width():
    ours = sae_suite.suite_entries(Site(9, "resid_post"), (512, 1024), (16, 32, 64), (512,), 32, 256, 16)
    line = sae_suite.sparsity_line(ours, "resid_post.9", 40)
    assert [(e.architecture, e.width, e.sparsity) for e in line] == [("topk", 512, 32), ("topk", 1024, 32)]
    scope = [p.entry for p in PRETRAINED["gemma-scope-9b"]]
    line = sae_suite.sparsity_line(scope, "resid_post.20", 60)
    assert [e.sparsity for e in line] == [58, 57, 55, 62, 50, 48, 57]
    assert [e.width for e in line] == sorted(e.width for e in line)
    with pytest.raises(ValueError, match="no SAE at"):
        sae_suite.sparsity_line(ours, "resid_post.3", 32)
    assert {
        k: [e.width for e in line] for k, line in sae_suite.sparsity_lines(ours, "resid_post.9").items()
    } == {
        16: [512, 1024],
        32: [512, 1024],
        64: [512, 1024],
    }
    assert list(sae_suite.sparsity_lines(scope, "resid_post.20")) == [11, 20, 36, 58, 68, 138, 310, 408]


def test_line_widths_extend_one_line_and_stay_out_of_the_grid():
    ours = sae_suite.suite_entries(
        Site(9, "resid_post"), (512, 1024), (16, 32), (512,), 32, 256, 16, line_widths=(256, 4096), line_k=32
    )
    grid = sae_suite.sparsity_grid(ours, "resid_post.9")
    assert sorted((e.width, e.sparsity) for e in grid) == [(512, 16), (512, 32), (1024, 16), (1024, 32)]
    lines = sae_suite.sparsity_lines(ours, "resid_post.9")
    assert {k: [e.width for e in line] for k, line in lines.items()} == {
        16: [512, 1024],
        32: [256, 512, 1024, 4096],
    }
    assert [e.width for e in sae_suite.sparsity_line(ours, "resid_post.9", 30)] == [256, 512, 1024, 4096]
    with pytest.raises(ValueError, match="must be one of the grid's ks"):
        sae_suite.suite_entries(Site(9, "resid_post"), (512,), (16,), (), 16, 256, 16, (4096,), 32)


def test_the_jumprelu_line_is_ours_beside_the_topk_grid_and_none_for_gemma_scope():
    ours = sae_suite.suite_entries(Site(9, "resid_post"), (512, 1024), (16, 32), (2048, 512), 32, 256, 16)
    line = sae_suite.jumprelu_line(ours, "resid_post.9")
    assert [(e.architecture, e.width) for e in line] == [("jumprelu", 512), ("jumprelu", 2048)]
    assert sae_suite.jumprelu_line(ours, "resid_post.8") == [], "no JumpReLU SAE at the neighbouring site"
    scope = [p.entry for p in PRETRAINED["gemma-scope-9b"]]
    assert sae_suite.jumprelu_line(scope, "resid_post.20") == [], "there the grid itself is JumpReLU"


def test_seed_replicas_train_with_their_own_seeds_and_stay_out_of_the_grid(store, tmp_path):
    ours = sae_suite.suite_entries(Site(9, "resid_post"), (512, 1024), (16, 32), (512,), 16, 256, 16)
    line = sae_suite.sparsity_line(ours, "resid_post.9", 32)
    replicas = sae_suite.seed_replicas(line, 3)
    assert [(e.width, e.replica) for e in replicas] == [(512, 1), (512, 2), (1024, 1), (1024, 2)]
    assert replicas[0].name == "topk-512-k32-replica1@resid_post.9"
    assert sae_suite.seed_replicas(line, 1) == []
    assert sae_suite.replica_names(replicas[::-1]) == {
        "topk-512-k32@resid_post.9": [
            "topk-512-k32-replica1@resid_post.9",
            "topk-512-k32-replica2@resid_post.9",
        ],
        "topk-1024-k32@resid_post.9": [
            "topk-1024-k32-replica1@resid_post.9",
            "topk-1024-k32-replica2@resid_post.9",
        ],
    }
    with_replicas = ours + replicas
    assert sae_suite.sparsity_grid(with_replicas, "resid_post.9") == sae_suite.sparsity_grid(
        ours, "resid_post.9"
    )
    assert sae_suite.sparsity_line(with_replicas, "resid_post.9", 32) == line
    with pytest.raises(ValueError, match="replica must be 0 or more"):
        SaeEntry("resid_post.9", "topk", 64, 8, replica=-1)
    entries = [ENTRIES[0], dataclasses.replace(ENTRIES[0], replica=1)]
    seeds = [sae_suite.training_recipe(e, TRAINING).seed for e in entries]
    assert seeds == [TRAINING.seed, TRAINING.seed + sae_suite.REPLICA_SEED_STRIDE]
    saes, records = train_suite(store, entries, TRAINING, tmp_path, torch.device("cpu"))
    assert [records[e.name]["training"]["seed"] for e in entries] == seeds
    first, second = (saes[e.name] for e in entries)
    assert not torch.allclose(first.W_dec, second.W_dec), "two seeds trained the same SAE"


def test_depth_saes_of_pretrained_families_are_in_the_registry_at_the_nearest_l0():
    directory = get_pretrained_saes_directory()
    chosen = pretrained_depth("gemma-scope-9b", [5, 30], 60)
    assert [p.entry.site for p in chosen] == ["resid_post.5", "resid_post.30"]
    for p in chosen:
        ids = directory[p.release].saes_map
        assert p.sae_id in ids and p.sae_id.endswith(f"average_l0_{p.entry.sparsity}")
        layer = p.entry.site.split(".")[1]
        others = [int(i.rsplit("_", 1)[1]) for i in ids if i.startswith(f"layer_{layer}/width_16k/")]
        assert abs(p.entry.sparsity - 60) == min(abs(l0 - 60) for l0 in others)
    scope_2 = pretrained_depth("gemma-scope-2-270m", [12], 60)
    assert scope_2[0].sae_id == "layer_12_width_16k_l0_medium" and scope_2[0].entry.sparsity == 60
