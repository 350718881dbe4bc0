"""The shape of `helpers`: packages that mirror the book, with imports that run one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers.book.paths import REPO

HELPERS = REPO / "helpers"
# Each package may import its own layer and those before it, never a later one.
LAYERS = {
    "book": 0,
    "profiles": 0,
    "build": 0,
    "toys": 1,
    "toy_saes": 2,
    "lm": 3,
    "dark_matter": 4,
    "open_questions": 5,
    "bench": 6,
    "verify": 6,
}


def layer_of(module: str) -> str:
    """`helpers.lm.model` -> `lm`; `helpers.profiles` -> `profiles`."""
    return module.split(".")[1]


def helpers_imports(path: Path) -> set[str]:
    """Every `helpers` module that `path` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("helpers.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "helpers":
            if node.module == "helpers":
                found |= {f"helpers.{a.name}" for a in node.names}
            else:
                found.add(node.module)
    return found


def modules() -> list[Path]:
    return sorted(p for p in HELPERS.rglob("*.py") if p.parent != HELPERS or p.stem != "__init__")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


def test_every_module_belongs_to_a_known_layer():
    assert {layer_of(module_name(p)) for p in modules()} == set(LAYERS)


@pytest.mark.parametrize("path", modules(), ids=module_name)
def test_imports_run_one_way(path):
    own = layer_of(module_name(path))
    later = sorted(m for m in helpers_imports(path) if LAYERS[layer_of(m)] > LAYERS[own])
    assert not later, f"{module_name(path)} ({own}) imports later layers: {later}"


def test_profiles_import_nothing_of_the_book():
    assert helpers_imports(HELPERS / "profiles.py") == set()


def test_the_rule_catches_a_backward_import(tmp_path):
    """The check itself: a book module importing a Part is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from helpers.lm.model import Site\n")
    assert helpers_imports(bad) == {"helpers.lm.model"}
    assert LAYERS[layer_of("helpers.lm.model")] > LAYERS["book"]
