"""Execute the book's notebooks with papermill, only when something they depend on changed, then render.

    python -m helpers.build --profile cpu [--seed 0] [--only SLUG ...] [--force] [--no-render] [--plan]

A notebook is re-executed when its source, a `helpers` module it imports (directly or through
other helpers), a setting it reads, its parameters or the dependency lock changed; otherwise its
executed copy in the cache is reused. The settings a section reads are the profile's settings
sections named in its code or in the helpers it imports (`config.lm`, `profile.sae_suite`, ...),
and the key holds their resolved values, not the source of `helpers/profiles.py`: editing one
Part's settings leaves the other Parts' sections cached. `--plan` prints what would re-execute and
why, executing nothing. Executed notebooks, their logs and `results.json` live under
`<cache>/book/<profile>-seed<seed>/`; each section's key file, written last, also records the size
and sha256 of its executed notebook and results, so an edited or damaged cached run is reported
and executed again, never rendered. The kernel imports `helpers` from this checkout, and one build
at a time works on a cache (a second waits). Jupyter Book then renders what papermill executed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

from helpers import profiles
from helpers.book.dependencies import (
    PROFILES_SOURCE,
    helper_dependencies,
    notebook_code,
    notebook_source,
    sections_read,
)
from helpers.book.disk import describe_os_error
from helpers.book.integrity import (
    difference,
    files_under,
    read_json,
    record_files,
    write_json_atomically,
)
from helpers.book.lock import exclusive
from helpers.book.npm_assets import install_mathjax
from helpers.book.paths import CHECKOUT_VARIABLE, REPO, cache_root, installed_checkout
from helpers.book.results import read_results
from helpers.book.scorecard import claim_rows, scorecard_page, seed_agreement, with_agreement, write_rows

TOC = REPO / "_toc.yml"
LOCK = REPO / "requirements.lock"
BOOK_FILES = ("_config.yml", "_toc.yml")
INJECTED_TAG = "injected-parameters"


class BuildError(RuntimeError):
    """A notebook or the book failed to build; the message names what and where."""


def toc_notebooks(toc: Path = TOC) -> list[str]:
    """Slugs of the notebooks listed in the table of contents, in reading order."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            entry = node.get("file")
            if isinstance(entry, str) and entry.startswith("notebooks/"):
                found.append(Path(entry).name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(toc.read_text()))
    return found


def toc_parts(toc: Path = TOC) -> dict[str, str]:
    """Each notebook's slug, in reading order, with the caption of the Part that holds it."""
    return {
        Path(chapter["file"]).name: part["caption"]
        for part in yaml.safe_load(toc.read_text())["parts"]
        for chapter in part.get("chapters", [])
        if chapter["file"].startswith("notebooks/")
    }


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def execution_key(slug: str, profile: str, seed: int) -> dict[str, Any]:
    """What an executed notebook depends on, each part hashed or written out, so a change can be
    named: its source, the helpers it imports (but `helpers/profiles.py`), the resolved values of
    the settings it reads and the device setting, its parameters, the lock and Python."""
    source = notebook_source(slug)
    code = notebook_code(source)
    dependencies = helper_dependencies(code)
    config = profiles.load(profile).as_dict()
    return {
        "notebook": _sha(source.read_bytes()),
        "helpers": {
            str(p.relative_to(REPO)): _sha(p.read_bytes()) for p in dependencies if p != PROFILES_SOURCE
        },
        "settings": {
            name: json.loads(json.dumps(config[name]))
            for name in ("device", *sections_read(code, dependencies))
        },
        "parameters": {"PROFILE": profile, "SEED": seed},
        "lock": _sha(LOCK.read_bytes()) if LOCK.is_file() else None,
        "python": platform.python_version(),
    }


def _changed_settings(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Dotted names of the settings whose values differ between two `settings` parts of a key."""
    changed = []
    for section in sorted(old.keys() | new.keys()):
        before, after = old.get(section), new.get(section)
        if isinstance(before, dict) and isinstance(after, dict):
            changed += [
                f"{section}.{name}"
                for name in sorted(before.keys() | after.keys())
                if before.get(name) != after.get(name)
            ]
        elif before != after:
            changed.append(section)
    return changed


def what_changed(old: dict[str, Any], new: dict[str, Any]) -> str:
    """A short human reason for re-executing, from two execution keys."""
    reasons = []
    if old.get("notebook") != new["notebook"]:
        reasons.append("the notebook changed")
    old_helpers = old.get("helpers", {})
    changed = sorted(
        k for k in new["helpers"].keys() | old_helpers.keys() if old_helpers.get(k) != new["helpers"].get(k)
    )
    if changed:
        reasons.append(", ".join(changed) + " changed")
    settings = _changed_settings(old.get("settings", {}), new["settings"])
    if settings:
        reasons.append("settings " + ", ".join(settings) + " changed")
    for part, label in (
        ("parameters", "its parameters"),
        ("lock", "the dependency lock"),
        ("python", "Python"),
    ):
        if old.get(part) != new[part]:
            reasons.append(f"{label} changed")
    return "; ".join(reasons) or "its key changed"


@dataclass
class RunFolder:
    """Where one profile-and-seed's executed notebooks live."""

    root: Path

    @classmethod
    def for_run(cls, profile: str, seed: int, cache: Path | None = None) -> RunFolder:
        return cls((cache or cache_root()) / "book" / f"{profile}-seed{seed}")

    @property
    def profile(self) -> str:
        return self.root.name.rsplit("-seed", 1)[0]

    @property
    def seed(self) -> int:
        return int(self.root.name.rsplit("-seed", 1)[1])

    def notebook(self, slug: str) -> Path:
        return self.root / "executed" / f"{slug}.ipynb"

    def results_dir(self, slug: str) -> Path:
        return self.root / "results" / slug

    def key(self, slug: str) -> Path:
        return self.root / "keys" / f"{slug}.json"

    def log(self, slug: str) -> Path:
        return self.root / "logs" / f"{slug}.log"


def output_files(folder: RunFolder, slug: str) -> list[str]:
    """The files of a section's executed run, relative to the run folder: its notebook and results."""
    results = folder.results_dir(slug)
    recorded = [f"results/{slug}/{name}" for name in files_under(results)] if results.is_dir() else []
    return [f"executed/{slug}.ipynb", *recorded]


def run_damage(folder: RunFolder, slug: str) -> str | None:
    """None if a section's cached run matches what its key file records; else what is wrong."""
    recorded = read_json(folder.key(slug))
    if not isinstance(recorded, dict) or not {"key", "outputs"} <= recorded.keys():
        return "its key file is unreadable or of an older format"
    damage = difference(folder.root, recorded["outputs"], output_files(folder, slug))
    if damage:
        return damage
    try:
        read_results(folder.results_dir(slug) / "results.json")
    except (OSError, ValueError, KeyError) as error:
        return f"its results.json is invalid ({error})"
    return None


def cached_state(folder: RunFolder, slug: str, key: dict[str, Any]) -> str | None:
    """None if the cached run is complete, intact and current; else why it must run again."""
    if not folder.key(slug).is_file():
        return "not executed yet"
    damage = run_damage(folder, slug)
    if damage:
        return f"the cached run is damaged: {damage}; executing it again"
    old = read_json(folder.key(slug))["key"]
    if old != key:
        return what_changed(old, key)
    return None


@contextmanager
def kernels_import_this_checkout() -> Iterator[None]:
    """Kernels started inside the block import `helpers` from this checkout, first on their path,
    and know which checkout the build keyed (`helpers.book.paths.check_checkout` compares)."""
    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", CHECKOUT_VARIABLE)}
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO), saved["PYTHONPATH"])))
    os.environ[CHECKOUT_VARIABLE] = str(REPO)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_environment() -> None:
    """Refuse to build when this environment's `helpers` is another checkout: its packages were
    installed for that checkout's lock, not the one the sections are keyed on."""
    installed = installed_checkout()
    if installed is not None and installed != REPO:
        raise BuildError(
            f"this environment's helpers is the checkout {installed}, not {REPO}, which you are "
            f"building. Run `make book` in {REPO} (it sets up {REPO / '.venv'}), or "
            f"`pip install -e {REPO}` into this environment."
        )


def _hide_injected_parameters(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if INJECTED_TAG in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    nbformat.write(notebook, path)


def execute(slug: str, profile: str, seed: int, folder: RunFolder, progress: bool = True) -> float:
    """Run one notebook with papermill into `folder`; return seconds taken. Raises BuildError on failure."""
    import jupytext
    import papermill

    for path in (folder.notebook(slug), folder.key(slug), folder.log(slug)):
        path.parent.mkdir(parents=True, exist_ok=True)
    folder.key(slug).unlink(missing_ok=True)  # the key is written last: no key, no trusted result
    shutil.rmtree(folder.results_dir(slug), ignore_errors=True)
    source = folder.root / "executed" / f"{slug}.source.ipynb"
    partial = folder.root / "executed" / f"{slug}.partial.ipynb"
    jupytext.write(jupytext.read(notebook_source(slug)), source)
    key = execution_key(slug, profile, seed)
    start = time.perf_counter()
    with open(folder.log(slug), "w") as log, kernels_import_this_checkout():
        try:
            papermill.execute_notebook(
                str(source),
                str(partial),
                parameters={"PROFILE": profile, "SEED": seed, "RESULTS_DIR": str(folder.results_dir(slug))},
                kernel_name="python3",
                language="python",
                cwd=str(REPO / "notebooks"),
                progress_bar=progress,
                stdout_file=log,
                stderr_file=log,
            )
        except papermill.PapermillExecutionError as error:
            shutil.rmtree(folder.results_dir(slug), ignore_errors=True)
            failed = partial.replace(partial.with_name(f"{slug}.failed.ipynb"))
            raise BuildError(
                f"{slug} failed in cell {error.cell_index} (execution count {error.exec_count}): "
                f"{error.ename}: {error.evalue}\n  executed notebook with the traceback: {failed}\n"
                f"  log: {folder.log(slug)}"
            ) from None
        except Exception as error:  # the kernel died, timed out or could not start
            raise BuildError(f"{slug} could not be executed: {type(error).__name__}: {error}") from error
        finally:
            source.unlink(missing_ok=True)
    _hide_injected_parameters(partial)
    partial.replace(folder.notebook(slug))
    try:
        read_results(folder.results_dir(slug) / "results.json")
    except (OSError, ValueError) as error:
        raise BuildError(f"{slug} ran but wrote no valid results.json: {error}") from None
    outputs = record_files(folder.root, output_files(folder, slug))
    write_json_atomically(folder.key(slug), {"key": key, "outputs": outputs})
    return time.perf_counter() - start


def machine_speed() -> str:
    """This machine's float32 matmul rate, printed before the sections run: section timings of two
    builds compare only at like rates (the same machine type has run at 110 to 190 GFLOP/s)."""
    import torch

    from helpers.book.timing import matmul_gflops

    rate = matmul_gflops(torch.device("cpu"))
    return f"machine: float32 matmul at {rate:.0f} GFLOP/s on {torch.get_num_threads()} thread(s)"


def plan(slugs: list[str], profile: str, seed: int, folder: RunFolder) -> dict[str, str | None]:
    """Each section's reason to re-execute, or None where its cached run is current."""
    return {slug: cached_state(folder, slug, execution_key(slug, profile, seed)) for slug in slugs}


def current_seeds(slugs: list[str], folder: RunFolder) -> dict[int, RunFolder]:
    """The runs of `folder`'s profile in the same cache, its own first, whose every section is
    executed and current (`plan`): the seeds a scorecard can set side by side."""
    runs = {folder.seed: folder}
    for root in sorted(folder.root.parent.glob(f"{folder.profile}-seed*")):
        other = RunFolder(root)
        if root.name.rsplit("-seed", 1)[1].isdigit() and other.seed not in runs:
            if not any(plan(slugs, other.profile, other.seed, other).values()):
                runs[other.seed] = other
    return runs


def print_plan(reasons: dict[str, str | None]) -> None:
    for number, (slug, reason) in enumerate(reasons.items(), 1):
        outcome = "cached" if reason is None else f"would execute ({reason})"
        print(f"[{number}/{len(reasons)}] {slug}: {outcome}", flush=True)
    stale = sum(reason is not None for reason in reasons.values())
    print(f"{stale} of {len(reasons)} section(s) would execute.", flush=True)


def execute_all(
    slugs: list[str], profile: str, seed: int, folder: RunFolder, force: bool = False, progress: bool = True
) -> dict[str, str]:
    """Execute what is stale, keep going past failures; returns each slug's outcome line."""
    outcomes: dict[str, str] = {}
    failures: list[str] = []
    reasons = {slug: "--force" for slug in slugs} if force else plan(slugs, profile, seed, folder)
    for number, slug in enumerate(slugs, 1):
        label = f"[{number}/{len(slugs)}] {slug}"
        reason = reasons[slug]
        if reason is None:
            outcomes[slug] = "cached"
            print(f"{label}: unchanged, using the cached run", flush=True)
            continue
        print(f"{label}: executing ({reason})", flush=True)
        try:
            seconds = execute(slug, profile, seed, folder, progress)
        except BuildError as error:
            failures.append(str(error))
            outcomes[slug] = "failed"
            print(f"{label}: FAILED\n  {error}", flush=True)
            continue
        outcomes[slug] = f"executed in {seconds:.1f} s"
        print(f"{label}: executed in {seconds:.1f} s", flush=True)
    if failures:
        raise BuildError(f"{len(failures)} notebook(s) failed:\n" + "\n".join(failures))
    return outcomes


def _tree_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        for file in sorted(p for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file()):
            digest.update(str(file.relative_to(REPO) if file.is_relative_to(REPO) else file.name).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def render(slugs: list[str], folder: RunFolder, output: Path = REPO, strict: bool = True) -> Path:
    """Build the HTML book from the executed notebooks into `output/_build/html`; returns index.html."""
    executed = [folder.notebook(slug) for slug in slugs]
    missing = [str(p) for p in executed if not p.is_file()]
    if missing:
        raise BuildError("cannot render: these notebooks have not been executed:\n  " + "\n  ".join(missing))
    build_dir = output / "_build"
    index = build_dir / "html" / "index.html"
    stamp = build_dir / "render-key.txt"
    runs = current_seeds(slugs, folder)
    results = {
        seed: {slug: run.results_dir(slug) / "results.json" for slug in slugs} for seed, run in runs.items()
    }
    other_results = [
        path for seed, paths in results.items() if seed != folder.seed for path in paths.values()
    ]
    key = _tree_digest([*(REPO / f for f in BOOK_FILES), REPO / "book", *executed, *other_results])
    key += f" strict={strict}"
    if index.is_file() and stamp.is_file() and stamp.read_text() == key:
        print("book: unchanged, keeping the rendered HTML", flush=True)
        return index

    site = folder.root / "site"
    shutil.rmtree(site, ignore_errors=True)
    (site / "notebooks").mkdir(parents=True)
    for name in BOOK_FILES:
        shutil.copy2(REPO / name, site / name)
    (site / "book").symlink_to(REPO / "book", target_is_directory=True)
    install_mathjax(site / "_assets")
    for slug, path in zip(slugs, executed, strict=True):
        shutil.copy2(path, site / "notebooks" / f"{slug}.ipynb")
    parts = toc_parts()
    by_seed = {seed: claim_rows(paths, parts) for seed, paths in results.items()}
    claims = by_seed[folder.seed]
    agreement = seed_agreement(by_seed) if len(by_seed) > 1 else None
    (site / "scorecard.md").write_text(scorecard_page(claims, agreement))

    command = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(site),
        "--path-output",
        str(output),
    ]
    command += ["--builder", "html"] + (["-W", "-n", "--keep-going"] if strict else [])
    start = time.perf_counter()
    print("book: rendering with Jupyter Book", flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    (build_dir).mkdir(parents=True, exist_ok=True)
    (build_dir / "jupyter-book.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise BuildError(f"jupyter-book build failed (log: {build_dir / 'jupyter-book.log'}):\n{tail}")
    write_rows(with_agreement(claims, agreement), build_dir / "html")
    stamp.write_text(key)
    print(f"book: rendered in {time.perf_counter() - start:.1f} s -> {index}", flush=True)
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.build", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--profile", default="cpu", help=f"one of {', '.join(profiles.PROFILES)} (default cpu)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="the SEED parameter of every notebook (default 0)"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="SLUG", help="execute only these sections (no rendering)"
    )
    parser.add_argument("--force", action="store_true", help="re-execute even what is cached")
    parser.add_argument("--no-render", action="store_true", help="execute, but do not build the HTML")
    parser.add_argument(
        "--plan", action="store_true", help="print which sections would execute and why; execute nothing"
    )
    args = parser.parse_args(argv)

    try:
        # the notebooks' own check of PROFILE and SEED, here at once, before any kernel starts
        profiles.notebook_parameters(args.profile, args.seed, None, None)
        slugs = toc_notebooks()
        if args.only:
            unknown = sorted(set(args.only) - set(slugs))
            if unknown:
                raise BuildError(
                    f"--only {' '.join(unknown)}: not in _toc.yml; sections are {', '.join(slugs)}."
                )
        folder = RunFolder.for_run(args.profile, args.seed)
        if args.plan:
            print_plan(plan(args.only or slugs, args.profile, args.seed, folder))
            return 0
        check_environment()
        with exclusive(folder.root.parent / "build.lock", f"the book cache {folder.root.parent}"):
            print(machine_speed(), flush=True)
            start = time.perf_counter()
            execute_all(args.only or slugs, args.profile, args.seed, folder, force=args.force)
            print(
                f"notebooks: done in {time.perf_counter() - start:.1f} s; executed copies in {folder.root}",
                flush=True,
            )
            if not (args.only or args.no_render):
                render(slugs, folder)
    except (BuildError, profiles.ConfigError) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    except OSError as error:
        print(f"error: {describe_os_error(error)}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
