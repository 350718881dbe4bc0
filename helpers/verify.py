"""Check the whole cache against its manifests, executing nothing, and say what would be rebuilt.

    python -m helpers.verify        (or: make verify)

Every layer is checked by the same function its own code uses before it trusts a folder: the
npm packages (`helpers.book.npm_assets`), the converted models (`helpers.lm.model`), the activation
stores (`helpers.lm.activation_store`), the trained SAEs (`helpers.lm.suite`) and the executed
sections (`helpers.build`). An unfinished harvest is named too: it resumes, it is not rebuilt.
Exits 1 when anything would be rebuilt.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from helpers.book.npm_assets import MATHJAX, NpmPackage, damage
from helpers.book.paths import cache_root
from helpers.build import RunFolder, run_damage
from helpers.lm.activation_store import PROGRESS, store_damage
from helpers.lm.corpus import SOURCES
from helpers.lm.model import conversion_damage
from helpers.lm.suite import sae_damage


class Finding(NamedTuple):
    layer: str
    folder: Path
    problem: str | None  # None: intact
    action: str = "rebuild"  # what its own code does with it when it is next used


def _folders(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []


def _npm(cache: Path) -> Iterator[Finding]:
    known: dict[str, NpmPackage] = {p.folder_name: p for p in (*SOURCES.values(), MATHJAX)}
    for folder in _folders(cache / "npm"):
        package = known.get(folder.name)
        yield Finding("npm package", folder, damage(folder, package) if package else "not a pinned package")


def _models(cache: Path) -> Iterator[Finding]:
    for folder in _folders(cache / "models"):
        if folder.name != "gguf":  # the assembled GGUF file is checked by its package on every use
            yield Finding("converted model", folder, conversion_damage(folder))


def _stores(cache: Path) -> Iterator[Finding]:
    for folder in _folders(cache / "activations"):
        problem = store_damage(folder)
        if problem and (folder / PROGRESS).is_file():
            yield Finding("activation store", folder, "an unfinished harvest", "resume")
        else:
            yield Finding("activation store", folder, problem)


def _saes(cache: Path) -> Iterator[Finding]:
    for suite in _folders(cache / "saes"):  # saes/<training store>/seed<N>/<SAE>
        for seed in _folders(suite):
            for folder in _folders(seed):
                yield Finding("SAE", folder, sae_damage(folder))


def _sections(cache: Path) -> Iterator[Finding]:
    for run in _folders(cache / "book"):
        folder = RunFolder(run)
        for key in sorted((run / "keys").glob("*.json")):
            notebook = run / "executed" / f"{key.stem}.ipynb"
            yield Finding("executed section", notebook, run_damage(folder, key.stem))


LAYERS: tuple[Callable[[Path], Iterator[Finding]], ...] = (_npm, _models, _stores, _saes, _sections)


def verify(cache: Path) -> list[Finding]:
    """Every artefact of every layer of `cache`, with what is wrong with it (None if intact)."""
    return [finding for layer in LAYERS for finding in layer(cache)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=None, help="the cache to check (default: the book's)")
    cache = (parser.parse_args(argv).cache or cache_root()).resolve()
    findings = verify(cache)
    flagged = [f for f in findings if f.problem]
    for f in flagged:
        print(f"would {f.action} {f.layer} {f.folder.relative_to(cache)}: {f.problem}")
    rebuilt = sum(f.action == "rebuild" for f in flagged)
    print(f"{cache}: {len(findings)} artefacts checked, {rebuilt} would be rebuilt.")
    return 1 if rebuilt else 0


if __name__ == "__main__":
    sys.exit(main())
