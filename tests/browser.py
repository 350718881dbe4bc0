"""Headless Chromium for the browser tests: Debian's build, kept quiet on the (closed) network."""

from __future__ import annotations

import shutil

import pytest

# Without these Chromium keeps calling Google's services (updates, sync, field trials) and floods
# the closed network with failing requests.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright):
    """Debian's Chromium, headless; fails the test, saying how to install it, where it is missing."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail(
            "Debian's chromium is needed for the browser test: apt-get install -y chromium (.ci/run does)."
        )
    return playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
