"""The activation store: what a harvest writes, reading it back, resuming, and refusing corruption."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.book import disk
from helpers.lm import activation_store
from helpers.lm.activation_store import StoreError, StoreSpec, harvest, open_or_harvest, open_store
from helpers.lm.corpus import Contexts
from helpers.lm.model import Site, run_model

SITES = ("resid_post.3", "attn_out.4")
N_CONTEXTS, LENGTH, KEEP_FROM, BATCH = 6, 24, 4, 2


@pytest.fixture(scope="module")
def lm(smollm2):
    return smollm2


@pytest.fixture(scope="module")
def contexts(lm):
    text = "Fellow citizens of the Senate and of the House of Representatives: the year has been kind. " * 20
    ids = np.asarray(lm.tokenizer(text)["input_ids"], dtype=np.int32)
    tokens = np.stack([ids[i * 7 : i * 7 + LENGTH] for i in range(N_CONTEXTS)])
    return Contexts(
        tokens, np.array([0, 1] * 3, dtype=np.int8), ("sotu", "brown"), np.arange(6, dtype=np.int32)
    )


def spec_for(lm, **changes):
    fields = dict(
        model=lm.fingerprint(),
        sites=SITES,
        corpus="test",
        context_length=LENGTH,
        n_contexts=N_CONTEXTS,
        context_seed=0,
        keep_from=KEEP_FROM,
        with_loss=True,
    )
    return StoreSpec(**{**fields, **changes})


def test_a_store_holds_the_kept_positions_of_every_context(lm, contexts, tmp_path):
    store = harvest(lm, contexts, spec_for(lm), tmp_path / "store", BATCH)
    kept = LENGTH - KEEP_FROM
    assert store.n_tokens == N_CONTEXTS * kept
    run = run_model(
        lm,
        torch.from_numpy(contexts.tokens[4:5].astype(np.int64)),
        read=[Site.parse(s) for s in SITES],
        with_loss=True,
    )
    for site in SITES:
        stored = store.activations(site)
        assert stored.shape == (N_CONTEXTS * kept, lm.d_model) and stored.dtype == np.float32
        np.testing.assert_allclose(
            stored[4 * kept : 5 * kept],
            run.activations[Site.parse(site)][0, KEEP_FROM:],
            rtol=1e-5,
            atol=1e-4,
        )
    np.testing.assert_allclose(
        store.token_loss[4 * kept : 5 * kept],
        run.token_loss[0, KEEP_FROM:],
        rtol=1e-5,
        atol=1e-5,
        equal_nan=True,
    )
    assert np.array_equal(store.positions[:kept], np.arange(KEEP_FROM, LENGTH))
    assert np.array_equal(store.tokens[kept : 2 * kept], contexts.tokens[1, KEEP_FROM:])
    assert [store.source_names[i] for i in store.source[[0, kept]]] == ["sotu", "brown"]
    with pytest.raises(KeyError, match="not in this store"):
        store.activations("mlp_out.4")


def test_an_interrupted_harvest_resumes_and_ends_with_the_same_store(
    lm, contexts, tmp_path, monkeypatch, capsys
):
    reference = harvest(lm, contexts, spec_for(lm), tmp_path / "reference", BATCH)
    calls = []

    def dies_on_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return run_model(*args, **kwargs)

    monkeypatch.setattr(activation_store, "run_model", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        harvest(lm, contexts, spec_for(lm), tmp_path / "store", BATCH)
    with pytest.raises(StoreError, match="no readable manifest.json"):
        open_store(tmp_path / "store", spec_for(lm))
    calls.clear()
    monkeypatch.setattr(activation_store, "run_model", lambda *a, **k: calls.append(1) or run_model(*a, **k))
    resumed = harvest(lm, contexts, spec_for(lm), tmp_path / "store", BATCH)
    assert len(calls) == N_CONTEXTS // BATCH - 1
    assert "resuming the harvest" in capsys.readouterr().out
    for site in SITES:
        assert np.array_equal(resumed.activations(site), reference.activations(site))
    assert resumed.manifest["files"] == reference.manifest["files"]
    assert resumed.manifest["harvested_tokens"] == (N_CONTEXTS - BATCH) * LENGTH  # what the resumed run ran
    assert reference.manifest["harvested_tokens"] == N_CONTEXTS * LENGTH


def test_a_corrupt_shard_is_detected_and_rebuilt(lm, contexts, tmp_path, capsys):
    folder, spec = tmp_path / "store", spec_for(lm)
    good = np.array(harvest(lm, contexts, spec, folder, BATCH).activations(SITES[0]))
    with open(folder / f"{SITES[0]}.npy", "r+b") as f:
        f.seek(-100, 2)
        f.write(b"\x00" * 8)
    with pytest.raises(StoreError, match=f"{SITES[0]}.npy does not match its recorded sha256"):
        open_store(folder, spec)
    rebuilt = open_or_harvest(folder, spec, lambda: lm, lambda: contexts, BATCH)
    assert "rebuilding the activation store" in capsys.readouterr().out
    assert np.array_equal(rebuilt.activations(SITES[0]), good)


def test_a_store_built_from_another_spec_is_not_used(lm, contexts, tmp_path):
    harvest(lm, contexts, spec_for(lm), tmp_path / "store", BATCH)
    with pytest.raises(StoreError, match="another spec"):
        open_store(tmp_path / "store", spec_for(lm, keep_from=2))


def test_bad_specs_are_refused_before_any_work(lm):
    with pytest.raises(ValueError, match="keep_from"):
        spec_for(lm, keep_from=LENGTH)
    with pytest.raises(ValueError, match="KIND.LAYER"):
        spec_for(lm, sites=("residual.3",))


def test_batches_visit_every_row_once_per_pass_within_a_bounded_buffer(lm, contexts, tmp_path):
    store = harvest(lm, contexts, spec_for(lm, with_loss=False), tmp_path / "store", BATCH)
    data = store.activations(SITES[0])
    rows = np.arange(0, store.n_tokens, 2)[:56]  # 56 rows: 7 batches of 8 per pass
    stream = store.batches(SITES[0], batch_size=8, seed=0, rows=rows, buffer=1024)
    seen = torch.cat([next(stream) for _ in range(7)])
    expected = torch.from_numpy(np.asarray(data[rows]))
    assert sorted(map(tuple, seen.tolist())) == sorted(map(tuple, expected.tolist()))
    assert not torch.equal(seen, expected)  # shuffled


def test_mean_and_scale_match_a_direct_computation(lm, contexts, tmp_path):
    store = harvest(lm, contexts, spec_for(lm, with_loss=False), tmp_path / "store", BATCH)
    data = np.asarray(store.activations(SITES[1]), dtype=np.float64)
    mean, scale = store.mean_and_scale(SITES[1], chunk=7)
    np.testing.assert_allclose(mean, data.mean(0), rtol=1e-5, atol=1e-4)
    assert scale == pytest.approx(np.sqrt(((data - data.mean(0)) ** 2).sum(1).mean()), rel=1e-6)


def test_a_deleted_manifest_is_reported_and_the_store_rebuilt(lm, contexts, tmp_path, capsys):
    folder, spec = tmp_path / "store", spec_for(lm)
    good = np.array(harvest(lm, contexts, spec, folder, BATCH).activations(SITES[1]))
    (folder / "manifest.json").unlink()
    rebuilt = open_or_harvest(folder, spec, lambda: lm, lambda: contexts, BATCH)
    assert "rebuilding the activation store: " in capsys.readouterr().out
    assert np.array_equal(rebuilt.activations(SITES[1]), good)


def test_a_store_that_does_not_fit_is_refused_before_the_model_runs(lm, contexts, tmp_path, monkeypatch):
    monkeypatch.setattr(disk, "free_bytes", lambda path: 10_000)
    monkeypatch.setattr(activation_store, "run_model", lambda *a, **k: pytest.fail("the model ran"))
    with pytest.raises(disk.DiskSpaceError, match="the activation store store needs .* GiB is free"):
        open_or_harvest(tmp_path / "store", spec_for(lm), lambda: lm, lambda: contexts, BATCH)
    assert not (tmp_path / "store").exists()


def test_store_files_are_allocated_before_the_harvest_writes_them(lm, contexts, tmp_path, monkeypatch):
    """A memory-mapped write into a sparse file on a full disk is a SIGBUS; reserved space is not."""
    monkeypatch.setattr(
        activation_store, "run_model", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    with pytest.raises(KeyboardInterrupt):
        harvest(lm, contexts, spec_for(lm), tmp_path / "store", BATCH)
    for name in (f"{SITES[0]}.npy", f"{SITES[1]}.npy", "token_loss.npy"):
        stat = (tmp_path / "store" / name).stat()
        assert stat.st_blocks * 512 >= stat.st_size
