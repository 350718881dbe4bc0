"""Where things live: the repository, the one cache folder for everything generated, and which
checkout the environment's `helpers` is."""

from __future__ import annotations

import json
import os
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

REPO = Path(__file__).resolve().parents[2]
DISTRIBUTION = "darkmatter-book-helpers"
CHECKOUT_VARIABLE = "DARKMATTER_CHECKOUT"  # set by the build for its kernels: the checkout it keyed


def cache_root() -> Path:
    """`$DARKMATTER_CACHE` if set, else `.cache/` in the repository."""
    return Path(os.environ.get("DARKMATTER_CACHE") or REPO / ".cache").resolve()


def installed_checkout() -> Path | None:
    """The checkout that this environment's editable install of `helpers` points at, or None when
    `helpers` is not installed in editable mode."""
    for distribution in metadata.distributions(name=DISTRIBUTION):  # a checkout's egg-info has none
        url = json.loads(distribution.read_text("direct_url.json") or "{}").get("url", "")
        if url.startswith("file:"):
            return Path(unquote(urlparse(url).path)).resolve()
    return None


def check_checkout() -> None:
    """Refuse to run this `helpers` inside a build that keyed another checkout's code."""
    keyed = os.environ.get(CHECKOUT_VARIABLE)
    if keyed and Path(keyed).resolve() != REPO:
        raise RuntimeError(
            f"this kernel imported helpers from {REPO}, but the build that started it keyed the "
            f"checkout {keyed}; its results would not be what the build records. Run the build "
            "with the environment of the checkout it builds (`make book` there)."
        )
