"""Every section of the book at `smoke`: its results.json must show what holds even at this scale.

Each section's assertions live in `tests/checks/<slug>.py` as `check(results)`.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.book.results import read_results
from helpers.build import notebook_source, toc_notebooks
from tests.conftest import SMOKE_SEED

CHECKS_DIR = Path(__file__).parent / "checks"


def section_check(slug: str):
    return importlib.import_module(f"tests.checks.{slug}").check


def test_every_section_has_checks():
    assert {p.stem for p in CHECKS_DIR.glob("*.py")} - {"__init__"} == set(toc_notebooks())


@pytest.mark.slow
@pytest.mark.parametrize("slug", toc_notebooks())
def test_section_at_smoke(slug, smoke_run):
    path = smoke_run.results_dir(slug) / "results.json"
    assert path.is_file(), f"{slug} wrote no results.json: {getattr(smoke_run, 'error', '')}"
    results = read_results(path)
    assert (results["notebook"], results["profile"], results["seed"]) == (slug, "smoke", SMOKE_SEED)
    assert results["claims"], "every section has a claim table"
    for claim in results["claims"]:
        if claim["interval"] is not None:
            low, high = claim["interval"]
            assert low <= claim["estimate"] <= high, f"{claim['id']}: an interval holds its point estimate"
    section_check(slug)(results)


@pytest.mark.slow
def test_anyone_can_run_a_section_with_papermill_and_another_seed(tmp_path):
    """The documented contract: jupytext to .ipynb, papermill with -p, read results.json."""
    bin_dir = Path(sys.executable).parent
    notebook = tmp_path / "tms_intro.ipynb"
    subprocess.run(
        [bin_dir / "jupytext", "--to", "ipynb", "-o", notebook, notebook_source("tms_intro")], check=True
    )
    out = tmp_path / "out"
    command = [bin_dir / "papermill", notebook, tmp_path / "executed.ipynb", "--cwd", tmp_path]
    command += ["-p", "PROFILE", "smoke", "-p", "SEED", "3", "-p", "RESULTS_DIR", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    results = read_results(out / "results.json")
    assert results["seed"] == 3
    section_check("tms_intro")(results)
