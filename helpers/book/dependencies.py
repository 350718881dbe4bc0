"""What a section depends on, read from its code without running it: the `helpers` modules it
imports (followed transitively, with the packages above them) and the profile's settings sections
that it or those helpers name. `helpers.build` keys each section's cached run on these, and each
page's "our scale" table lists the settings they name."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import profiles
from helpers.book.paths import REPO


def notebook_source(slug: str) -> Path:
    return REPO / "notebooks" / f"{slug}.py"


def _imported_helpers(code: str) -> set[str]:
    """Names of `helpers` modules imported by `code` (`helpers.x` for each module x)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.split(".")[0] == "helpers"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "helpers":
                continue
            names.add(node.module)
            for alias in node.names:  # `from helpers import x` may import the module helpers.x
                if (REPO / Path(*node.module.split(".")) / f"{alias.name}.py").is_file():
                    names.add(f"{node.module}.{alias.name}")
    return names


def _module_path(module: str) -> Path:
    base = REPO / Path(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _with_packages(module: str) -> set[str]:
    """`module` and every package above it: importing `helpers.lm.model` runs `helpers/__init__.py`
    and `helpers/lm/__init__.py` too."""
    parts = module.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts) + 1)}


def helper_dependencies(code: str) -> list[Path]:
    """Every `helpers` source file that running `code` imports, followed transitively."""
    pending = set().union(*(_with_packages(m) for m in _imported_helpers(code)))
    seen: set[str] = set()
    while pending:
        module = pending.pop()
        path = _module_path(module)
        if module in seen or not path.is_file():
            continue
        seen.add(module)
        pending |= set().union(*(_with_packages(m) for m in _imported_helpers(path.read_text())))
    return sorted(_module_path(m) for m in seen)


SETTINGS_SECTIONS = tuple(profiles.SECTIONS)
PROFILES_SOURCE = _module_path("helpers.profiles")


def sections_read(code: str, dependencies: list[Path]) -> list[str]:
    """The profile's settings sections that `code` or the helpers it imports name as an attribute
    (`config.toy`, `profile.lm`): what a run of `code` can read. Naming one that is not read only
    costs a re-execution; `helpers/profiles.py` itself, which names them all, is left out."""
    sources = [code] + [p.read_text() for p in dependencies if p != PROFILES_SOURCE]
    named = {
        node.attr
        for source in sources
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in SETTINGS_SECTIONS
    }
    return [name for name in SETTINGS_SECTIONS if name in named]


def section_settings(slug: str) -> list[str]:
    """The settings sections that the section `slug` reads, in the profile's order."""
    code = notebook_code(notebook_source(slug))
    return sections_read(code, helper_dependencies(code))


def notebook_code(source: Path) -> str:
    """The notebook's code cells joined as Python, with IPython magics and shell lines left out."""
    import jupytext

    notebook = jupytext.read(source)
    lines = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            lines += [line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)
