"""Where things live: the repository and the one cache folder for everything generated."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cache_root() -> Path:
    """`$DARKMATTER_CACHE` if set, else `.cache/` in the repository."""
    return Path(os.environ.get("DARKMATTER_CACHE") or REPO / ".cache").resolve()
