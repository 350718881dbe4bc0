"""Shared fixtures: one `smoke` execution of every section of the table of contents, and each packaged
language model loaded once, per session. A test that uses a model is marked `slow`."""

from __future__ import annotations

import warnings

import matplotlib
import pytest

from helpers.book.style import use_book_style
from helpers.build import RunFolder, execute_all, toc_notebooks

matplotlib.use("Agg")  # figures drawn by unit tests are never shown

SMOKE_SEED = 0
MODEL_FIXTURES = {"smollm2": "smollm2-135m", "gemma": "gemma-3-270m"}


def pytest_collection_modifyitems(items):
    for item in items:
        if MODEL_FIXTURES.keys() & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def _load(name: str):
    from helpers.lm.model import load_language_model

    return load_language_model(MODEL_FIXTURES[name])


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M (the `smoke` profile's model), eager, float32, on the CPU."""
    return _load("smollm2")


@pytest.fixture(scope="session")
def gemma():
    """Gemma 3 270M (the `cpu` profile's model), eager, float32, on the CPU."""
    return _load("gemma")


@pytest.fixture
def strict_figures():
    """The book's figure style, with any warning raised as an error (a warning shows on the page);
    every figure closed afterwards."""
    import matplotlib.pyplot as plt

    use_book_style()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    plt.close("all")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> RunFolder:
    """Every notebook of `_toc.yml` executed with papermill at `smoke` into a temporary cache.

    Failures are recorded rather than raised here, so each section's own test reports its error.
    """
    folder = RunFolder.for_run("smoke", SMOKE_SEED, cache=tmp_path_factory.mktemp("cache"))
    try:
        execute_all(toc_notebooks(), "smoke", SMOKE_SEED, folder, progress=False)
    except Exception as error:  # noqa: BLE001 - reported per notebook below
        folder.error = str(error)
    return folder
