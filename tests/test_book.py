"""The rendered book: a strict Jupyter Book build of the smoke-executed sections, offline, in a browser."""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from pathlib import Path

import pytest

from helpers.book.paths import cache_root
from helpers.book.results import read_results
from helpers.build import render, toc_notebooks
from tests.browser import launch_chromium

pytestmark = pytest.mark.slow
CLAIM_TABLE = re.compile(r"<table[^>]*>.*?<th[^>]*>\s*(?:<p>)?Holds here\?(?:</p>)?\s*</th>", re.S)


@pytest.fixture(scope="session")
def smoke_book(smoke_run, tmp_path_factory) -> Path:
    """`jupyter-book build -W -n --keep-going` of the smoke-executed notebooks; the HTML folder."""
    output = tmp_path_factory.mktemp("book")
    return render(toc_notebooks(), smoke_run, output=output, strict=True).parent


def test_every_section_is_rendered(smoke_book):
    for slug in toc_notebooks():
        page = (smoke_book / "notebooks" / f"{slug}.html").read_text()
        assert CLAIM_TABLE.search(page), f"{slug}: the claim table is not rendered as a table"
        assert "injected-parameters" not in page and "RESULTS_DIR = &quot;/" not in page


def test_the_book_loads_nothing_from_the_network(smoke_book):
    """Scripts, styles and fonts are all local; MathJax comes from the bundled npm copy."""
    remote = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.I)
    for page in smoke_book.rglob("*.html"):
        assert not remote.search(page.read_text()), f"{page.name} loads a remote resource"
    assert (smoke_book / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_glued_numbers_reach_the_prose(smoke_book, smoke_run):
    metrics = read_results(smoke_run.results_dir("tms_intro") / "results.json")["metrics"]
    page = (smoke_book / "notebooks" / "tms_intro.html").read_text()
    pasted = re.findall(r'<span class="pasted-text">([^<]*)</span>', page)
    assert str(metrics["dense_represented"]) in pasted and str(metrics["sparse_represented"]) in pasted
    assert f"{metrics['single_seed_miss_rate']:.0f}" in pasted


@pytest.fixture
def served_book(smoke_book):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(smoke_book))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_real_browser_shows_the_figure_and_glued_numbers(served_book, smoke_run):
    from playwright.sync_api import sync_playwright

    metrics = read_results(smoke_run.results_dir("tms_intro") / "results.json")["metrics"]
    screenshot = cache_root() / "test-output" / "tms_intro.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 2000})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{served_book}/notebooks/tms_intro.html", wait_until="networkidle")
        figure = page.locator("div.cell_output img").first
        figure.scroll_into_view_if_needed()
        assert figure.is_visible()
        assert figure.evaluate("img => img.complete && img.naturalWidth > 300")
        glued = page.locator(
            "span.pasted-text", has_text=re.compile(rf"^{metrics['sparse_represented']}$")
        ).first
        assert glued.is_visible()
        page.wait_for_selector("mjx-container", timeout=10_000)  # equations typeset offline
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    assert screenshot.stat().st_size > 10_000
    assert all(url.startswith(served_book) for url in requests), [
        u for u in requests if not u.startswith(served_book)
    ]


def test_the_scorecard_lists_every_claim_of_the_book(served_book, smoke_book, smoke_run):
    from playwright.sync_api import sync_playwright

    claims = [
        claim["id"]
        for slug in toc_notebooks()
        for claim in read_results(smoke_run.results_dir(slug) / "results.json")["claims"]
    ]
    assert [row["id"] for row in json.loads((smoke_book / "claims.json").read_text())] == claims
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.goto(f"{served_book}/scorecard.html", wait_until="networkidle")
        linked_rows = page.locator("table tbody tr:has(td:first-child a.reference.internal)")
        assert linked_rows.count() == len(claims), "one row per claim, each linked to its section"
        total = page.locator("table tbody tr", has_text="The book").first.locator("td").last
        assert total.inner_text().strip() == str(len(claims))
        browser.close()
