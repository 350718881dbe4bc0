"""The executor: what it depends on, when it re-executes, and how it fails."""

import json
import subprocess
import sys

import nbformat
import pytest

from helpers import build, profiles
from helpers.book import dependencies
from helpers.book.paths import REPO
from helpers.book.results import read_results


def test_toc_lists_every_notebook_and_every_notebook_is_in_the_toc():
    slugs = build.toc_notebooks()
    assert slugs and len(slugs) == len(set(slugs))
    on_disk = {p.stem for p in (REPO / "notebooks").glob("*.py")}
    assert set(slugs) == on_disk


def test_every_notebook_starts_with_a_parameters_cell_holding_the_shared_names():
    import jupytext

    for slug in build.toc_notebooks():
        notebook = jupytext.read(build.notebook_source(slug))
        first_code = next(c for c in notebook.cells if c.cell_type == "code")
        assert "parameters" in first_code.metadata.get("tags", []), slug
        names = {line.split("=")[0].strip() for line in first_code.source.splitlines() if "=" in line}
        assert (
            {"PROFILE", "SEED", "RESULTS_DIR"} <= names <= {"PROFILE", "SEED", "RESULTS_DIR", "OVERRIDES"}
        ), slug


def test_helper_dependencies_follow_imports_transitively():
    deps = {
        p.relative_to(REPO).as_posix()
        for p in dependencies.helper_dependencies("from helpers.toys.models import ToyModel")
    }
    # toys.models imports book.random_source; every package above a module runs its __init__.
    assert deps == {
        "helpers/__init__.py",
        "helpers/toys/__init__.py",
        "helpers/toys/models.py",
        "helpers/book/__init__.py",
        "helpers/book/random_source.py",
    }
    assert dependencies.helper_dependencies("import numpy") == []
    via_package = {p.name for p in dependencies.helper_dependencies("from helpers import profiles")}
    assert via_package == {"__init__.py", "profiles.py"}


def test_sections_read_are_the_settings_named_in_the_code_or_its_helpers(tmp_path):
    helper = "from helpers.lm.data import LmData\n"  # LmData reads lm, sae_suite and decomposition
    read = dependencies.sections_read(
        helper + "x = config.toy.steps\n", dependencies.helper_dependencies(helper)
    )
    assert read == ["toy", "lm", "sae_suite", "decomposition"]
    assert dependencies.sections_read("import numpy\nprofile = 'toy'\n", []) == []


def test_notebook_code_skips_magics(tmp_path):
    source = tmp_path / "nb.py"
    source.write_text("# %%\n%matplotlib inline\nimport helpers.book.results\n!ls\n")
    assert dependencies.notebook_code(source).strip() == "import helpers.book.results"


def test_key_changes_when_a_helper_it_imports_changes(monkeypatch):
    key = build.execution_key("tms_intro", "smoke", 0)
    assert "helpers/toys/models.py" in key["helpers"] and "helpers/build.py" not in key["helpers"]
    changed = json.loads(json.dumps(key))
    changed["helpers"]["helpers/toys/models.py"] = "0" * 64
    assert build.what_changed(changed, key) == "helpers/toys/models.py changed"
    other_seed = build.execution_key("tms_intro", "smoke", 1)
    assert build.what_changed(key, other_seed) == "its parameters changed"
    assert build.execution_key("tms_intro", "smoke", 0) == key  # deterministic


def test_key_holds_the_settings_read_not_the_profiles_source(monkeypatch):
    key = build.execution_key("tms_intro", "smoke", 0)
    assert "helpers/profiles.py" not in key["helpers"]
    assert set(key["settings"]) == {"device", "toy", "tms_intro"}
    assert key["settings"]["toy"]["steps"] == profiles.load("smoke").toy.steps

    load = profiles.load

    def edited(name, overrides=None):  # an edit of the profiles file: a Part IV setting, then a Part I one
        return load(name, {"decomposition.reference_l0": 7, **(overrides or {})})

    monkeypatch.setattr(profiles, "load", edited)
    assert build.execution_key("tms_intro", "smoke", 0) == key, "a Part IV setting leaves Part I alone"
    part_four = build.execution_key("predicting_error", "smoke", 0)
    assert part_four["settings"]["decomposition"]["reference_l0"] == 7
    monkeypatch.setattr(profiles, "load", lambda name: edited(name, {"toy.steps": 3}))
    assert (
        build.what_changed(key, build.execution_key("tms_intro", "smoke", 0)) == "settings toy.steps changed"
    )


@pytest.fixture
def tiny_notebook(tmp_path, monkeypatch):
    """A one-line section in a temporary folder, standing in for notebooks/<slug>.py."""
    source = tmp_path / "tiny.py"

    def write(body: str) -> None:
        source.write_text(
            '# %% tags=["parameters"]\nPROFILE = "cpu"\nSEED = 0\nRESULTS_DIR = None\n\n'
            "# %%\nfrom helpers.book.results import Results\n"
            'results = Results("tiny", PROFILE, SEED, RESULTS_DIR)\n' + body
        )

    monkeypatch.setattr(build, "notebook_source", lambda slug: source)
    write('results.metric("answer", 42)\n')
    return write


def test_execute_caches_then_reexecutes_on_change_and_on_corruption(tmp_path, tiny_notebook):
    folder = build.RunFolder(tmp_path / "run")
    assert build.execute_all(["tiny"], "smoke", 0, folder, progress=False)["tiny"].startswith("executed")
    data = read_results(folder.results_dir("tiny") / "results.json")
    assert (data["profile"], data["metrics"]) == ("smoke", {"answer": 42})
    executed = nbformat.read(folder.notebook("tiny"), as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0].metadata.tags

    assert build.execute_all(["tiny"], "smoke", 0, folder, progress=False) == {"tiny": "cached"}

    folder.notebook("tiny").write_text("{half a notebook")
    reason = build.cached_state(folder, "tiny", build.execution_key("tiny", "smoke", 0))
    assert reason.startswith("the cached run is damaged: executed/tiny.ipynb has")
    assert build.execute_all(["tiny"], "smoke", 0, folder, progress=False)["tiny"].startswith("executed")

    tiny_notebook('results.metric("answer", 43)\n')
    assert (
        build.cached_state(folder, "tiny", build.execution_key("tiny", "smoke", 0)) == "the notebook changed"
    )
    build.execute_all(["tiny"], "smoke", 0, folder, progress=False)
    assert read_results(folder.results_dir("tiny") / "results.json")["metrics"] == {"answer": 43}


def test_a_failing_cell_is_named_and_its_stale_result_dropped(tmp_path, tiny_notebook):
    folder = build.RunFolder(tmp_path / "run")
    build.execute_all(["tiny"], "smoke", 0, folder, progress=False)
    tiny_notebook('raise ValueError("boom")\n')
    with pytest.raises(
        build.BuildError, match=r"tiny failed in cell \d+ \(execution count \d+\): ValueError: boom"
    ):
        build.execute_all(["tiny"], "smoke", 0, folder, progress=False)
    assert not folder.key("tiny").exists() and not folder.results_dir("tiny").exists()
    assert (folder.root / "executed" / "tiny.failed.ipynb").is_file()
    assert (
        "ValueError"
        in nbformat.read(folder.root / "executed" / "tiny.failed.ipynb", as_version=4)
        .cells[-1]
        .outputs[0]
        .ename
    )


def test_plan_names_what_would_execute_and_executes_nothing(tmp_path, tiny_notebook, capsys):
    folder = build.RunFolder(tmp_path / "run")
    assert build.plan(["tiny"], "smoke", 0, folder) == {"tiny": "not executed yet"}
    assert not folder.root.exists()
    build.execute_all(["tiny"], "smoke", 0, folder, progress=False)
    assert build.plan(["tiny"], "smoke", 0, folder) == {"tiny": None}
    tiny_notebook('results.metric("answer", 44)\n')
    capsys.readouterr()
    build.print_plan(build.plan(["tiny"], "smoke", 0, folder))
    assert capsys.readouterr().out.splitlines() == [
        "[1/1] tiny: would execute (the notebook changed)",
        "1 of 1 section(s) would execute.",
    ]


def test_cli_refuses_unknown_profiles_negative_seeds_and_unknown_sections_at_once():
    run = [sys.executable, "-m", "helpers.build"]
    bad_profile = subprocess.run(
        [*run, "--profile", "nope"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert bad_profile.returncode == 1 and "unknown profile 'nope'" in bad_profile.stderr
    bad_slug = subprocess.run(
        [*run, "--only", "nosuch"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert bad_slug.returncode == 1 and "--only nosuch: not in _toc.yml" in bad_slug.stderr
    bad_seed = subprocess.run(
        [*run, "--seed=-1", "--plan"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert bad_seed.returncode == 1 and "SEED = -1 is not allowed" in bad_seed.stderr


def _edit_json(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _strip_outputs(notebook):
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []


@pytest.mark.parametrize(
    ("damage", "file"),
    [
        (
            lambda f: _edit_json(
                f.results_dir("tiny") / "results.json", lambda d: d["metrics"].update(answer=7)
            ),
            "results",
        ),
        (
            lambda f: _edit_json(f.results_dir("tiny") / "results.json", lambda d: d.update(claims=[])),
            "results",
        ),
        (lambda f: _edit_json(f.notebook("tiny"), _strip_outputs), "executed"),
        (lambda f: (f.results_dir("tiny") / "results.json").unlink(), "results"),
    ],
    ids=["edited metric", "emptied claims", "stripped outputs", "deleted results"],
)
def test_a_damaged_cached_run_that_still_parses_is_executed_again(tmp_path, tiny_notebook, damage, file):
    folder = build.RunFolder(tmp_path / "run")
    build.execute_all(["tiny"], "smoke", 0, folder, progress=False)
    damage(folder)
    reason = build.cached_state(folder, "tiny", build.execution_key("tiny", "smoke", 0))
    assert reason.startswith(f"the cached run is damaged: {file}/")
    assert build.execute_all(["tiny"], "smoke", 0, folder, progress=False)["tiny"].startswith("executed")
    assert read_results(folder.results_dir("tiny") / "results.json")["metrics"] == {"answer": 42}


def test_the_kernel_imports_helpers_from_the_checkout_the_build_keyed(tmp_path, tiny_notebook, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "elsewhere"))
    tiny_notebook(
        "import os, helpers\nfrom pathlib import Path\n"
        "keyed = os.environ['DARKMATTER_CHECKOUT']\n"
        "assert keyed == os.environ['PYTHONPATH'].split(os.pathsep)[0]\n"
        "results.metric('here', int(Path(helpers.__file__).resolve().parents[1] == Path(keyed)))\n"
    )
    folder = build.RunFolder(tmp_path / "run")
    build.execute_all(["tiny"], "smoke", 0, folder, progress=False)
    assert read_results(folder.results_dir("tiny") / "results.json")["metrics"] == {"here": 1}
    assert build.os.environ["PYTHONPATH"] == str(tmp_path / "elsewhere")  # restored afterwards


def test_a_kernel_refuses_a_build_of_another_checkout(monkeypatch):
    from helpers.book.paths import check_checkout

    monkeypatch.setenv("DARKMATTER_CHECKOUT", "/some/other/checkout")
    with pytest.raises(RuntimeError, match="keyed the checkout /some/other/checkout"):
        check_checkout()
    monkeypatch.setenv("DARKMATTER_CHECKOUT", str(REPO))
    check_checkout()


def test_the_build_refuses_an_environment_installed_from_another_checkout(monkeypatch, capsys):
    monkeypatch.setattr(build, "installed_checkout", lambda: REPO.parent / "other")
    monkeypatch.setattr(build, "execute_all", lambda *a, **k: pytest.fail("executed anyway"))
    assert build.main(["--only", "tms_intro"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: this environment's helpers is the checkout") and "pip install -e" in error


@pytest.mark.parametrize(
    ("raised", "words"),
    [
        (PermissionError(13, "Permission denied", "/cache/book/x"), "cannot write /cache/book/x"),
        (OSError(28, "No space left on device", "/cache/book/x"), "is full"),
    ],
    ids=["not writable", "disk full"],
)
def test_an_os_error_is_one_error_line_not_a_traceback(monkeypatch, capsys, raised, words):
    def fail(*args, **kwargs):
        raise raised

    monkeypatch.setattr(build, "execute_all", fail)
    monkeypatch.setattr(build, "installed_checkout", lambda: REPO)
    assert build.main(["--only", "tms_intro"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and words in error and "Traceback" not in error


def test_the_build_holds_the_cache_lock_while_it_executes(monkeypatch, tmp_path):
    monkeypatch.setenv("DARKMATTER_CACHE", str(tmp_path))
    monkeypatch.setattr(build, "installed_checkout", lambda: REPO)
    seen = {}

    def record_lock(*args, **kwargs):
        seen["holder"] = (tmp_path / "book" / "build.lock").read_text()

    monkeypatch.setattr(build, "execute_all", record_lock)
    assert build.main(["--only", "tms_intro"]) == 0
    assert seen["holder"].startswith(f"process {build.os.getpid()} ")
