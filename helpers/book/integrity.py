"""One integrity rule for every layer of the cache.

An artefact (an unpacked npm package, a converted model, an activation store, a trained SAE, an
executed section) is a folder of files plus a manifest, written last and atomically, that records
each file's size and sha256. Every use checks the files against the manifest: a file missing,
added, resized or changed makes the artefact damaged, and `difference` says which in one line, so
the caller can report it and rebuild. Nothing damaged is used and nothing damaged raises.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from helpers.book.checksums import sha256_of

FileRecords = dict[str, dict[str, Any]]  # relative path: {"bytes", "sha256"}


def files_under(folder: Path, leave_out: Iterable[str] = ()) -> list[str]:
    """Every file below `folder`, as sorted relative POSIX paths, but those named in `leave_out`."""
    skipped = set(leave_out)
    return sorted(
        name
        for name in (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        if name not in skipped
    )


def record_files(folder: Path, names: Iterable[str]) -> FileRecords:
    """The size and sha256 of each named file of `folder`."""
    return {
        name: {"bytes": (folder / name).stat().st_size, "sha256": sha256_of(folder / name)}
        for name in sorted(names)
    }


def difference(folder: Path, recorded: FileRecords, present: Iterable[str] | None = None) -> str | None:
    """None if `folder` holds exactly the recorded files with their sizes and hashes; else the
    first difference in words. `present`, when given, lists the files now in the folder (that the
    manifest should cover), so an added file counts too."""
    if not isinstance(recorded, dict) or not recorded:
        return "no files are recorded for it"
    for name, record in sorted(recorded.items()):
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        size = path.stat().st_size
        if size != record.get("bytes"):
            return f"{name} has {size} bytes, not the {record.get('bytes')} recorded"
        if sha256_of(path) != record.get("sha256"):
            return f"{name} does not match its recorded sha256"
    extra = sorted(set(present or ()) - set(recorded))
    if extra:
        return f"{extra[0]} is not among its recorded files"
    return None


def write_json_atomically(path: Path, data: Any) -> None:
    """Write `data` as JSON so that `path` either keeps its old contents or holds all of the new."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    temporary.replace(path)


def read_json(path: Path) -> Any | None:
    """The JSON in `path`, or None if it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
