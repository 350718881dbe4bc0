"""JupyterLab in a real browser: open a section, change its profile, re-run it and save it, as a researcher
does after `make lab`."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jupytext
import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from helpers.book.paths import REPO, cache_root
from tests.browser import launch_chromium

pytestmark = pytest.mark.slow
SECTION = "tms_intro.py"
SCREENSHOT = cache_root() / "test-output" / "lab_tms_intro.png"
RUN_TIMEOUT_S = 300  # the section at `smoke` takes 20-60 s on a 2-core machine
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
# The lab's own settings for this test (the .venv's overrides.json, which opens .py files through
# Jupytext, still applies): no news or update toasts over the page; every cell attached to the page,
# in view or not, so that outputs can be found; no blank space past the last cell in the screenshot.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "scrollPastEnd": False},
}
# Run All stops at the first error: it is over once the last code cell has an execution count or a
# traceback is shown.
RUN_FINISHED = """({panel, stderr}) => {
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
  const failed = [...panel.querySelectorAll(stderr)].some(o => o.textContent.includes('Traceback'));
  return failed || /\\[\\d+\\]/.test(prompts.at(-1)?.textContent ?? '');
}"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_lab_settings(folder: Path) -> None:
    for plugin, settings in LAB_SETTINGS.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))


def wait_until_answering(url: str, server: subprocess.Popen, log: Path, timeout_s: float = 90) -> None:
    """Polls `url` until the server answers; fails with the tail of its log if it exits or is too slow."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    state = f"exited with {server.returncode}" if server.poll() is not None else f"silent for {timeout_s} s"
    pytest.fail(f"JupyterLab {state}; the end of its log:\n{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen, timeout_s: float = 30) -> None:
    """SIGTERM, on which the server shuts its kernels down; SIGKILL if that hangs."""
    server.terminate()
    try:
        server.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=timeout_s)


@pytest.fixture
def lab(tmp_path) -> Iterator[tuple[str, Path]]:
    """JupyterLab, headless, on a free localhost port without token or password, serving a copy of the
    section; its URL and the copy. Results go to a temporary cache; user config and settings are fresh."""
    root, jupyter = tmp_path / "notebooks", tmp_path / "jupyter"
    root.mkdir()
    shutil.copy(REPO / "notebooks" / SECTION, root)
    write_lab_settings(jupyter / "lab-settings")
    env = os.environ | {
        "DARKMATTER_CACHE": str(tmp_path / "cache"),
        "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
        "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(jupyter / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(jupyter / "workspaces"),
    }
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend draws the figures into the page
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        "--no-browser",
        "--allow-root",  # CI runs as root
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--PasswordIdentityProvider.hashed_password=",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, to run JupyterLab's commands
    ]
    log = tmp_path / "jupyter-lab.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/api/status", server, log)
        yield url, root / SECTION
    finally:
        stop(server)


def kernel_idle(page: Page) -> Locator:
    """The kernel's state in the status bar. Not the toolbar's indicator: that one says idle before the
    kernel is connected, and a Run All started then is lost."""
    return page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\| Idle$"))


def run_command(page: Page, command: str) -> None:
    """Starts one of JupyterLab's commands (what its menus and shortcuts call) without waiting for it."""
    page.evaluate("command => { window.jupyterapp.commands.execute(command); }", command)


def open_as_notebook(page: Page, url: str, notebook: Path) -> Locator:
    """Opens the section from its URL; checks that Jupytext made it a notebook of the file's cells."""
    page.goto(f"{url}/lab/tree/{notebook.name}")
    panel = page.get_by_role("tabpanel", name=notebook.name)
    expect(panel).to_contain_class("jp-NotebookPanel", timeout=60_000)
    expect(panel.locator(".jp-Notebook .jp-Cell")).to_have_count(len(jupytext.read(notebook).cells))
    expect(kernel_idle(page), "the python3 kernel did not start").to_be_visible(timeout=60_000)
    return panel


def retype_first_line(page: Page, panel: Locator, old: str, new: str) -> None:
    """Clicks into the first code cell (the `parameters` cell), selects its first line and types `new`."""
    editor = panel.locator(".jp-CodeCell .cm-content").first
    expect(editor).to_contain_text(old)
    editor.click()
    page.keyboard.press("Control+Home")
    page.keyboard.press("Shift+End")
    page.keyboard.type(new)
    page.keyboard.press("Escape")
    expect(editor).to_contain_text(new)


def run_all(page: Page, panel: Locator) -> None:
    """Run All Cells; waits, at most `RUN_TIMEOUT_S`, for it to end and the kernel to be idle again."""
    run_command(page, "notebook:run-all-cells")
    try:
        page.wait_for_function(
            RUN_FINISHED,
            arg={"panel": panel.element_handle(), "stderr": STDERR},
            polling=1000,
            timeout=RUN_TIMEOUT_S * 1000,
        )
    except PlaywrightTimeoutError:
        prompts = " ".join(panel.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts())
        pytest.fail(f"Run All did not finish within {RUN_TIMEOUT_S} s; the cells' prompts: {prompts}")
    expect(kernel_idle(page)).to_be_visible(timeout=30_000)


def save(page: Page, notebook: Path, expected: str, timeout_s: float = 30) -> str:
    """Saves the notebook and waits until its file holds `expected`; the file's text."""
    run_command(page, "docmanager:save")
    deadline = time.monotonic() + timeout_s
    while expected not in (text := notebook.read_text()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return text


def screenshot_whole_notebook(page: Page, panel: Locator, path: Path) -> None:
    """A screenshot with the window made tall enough to show the whole notebook, from its top."""
    scroller = panel.locator(".jp-WindowedPanel-outer")
    if scroller.count():  # not where the notebook never opened
        hidden = scroller.evaluate("el => el.scrollHeight - el.clientHeight")
        size = page.viewport_size
        page.set_viewport_size({"width": size["width"], "height": min(size["height"] + hidden, 16_000)})
        scroller.evaluate("el => el.scrollTo(0, 0)")
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def cell_sources(text: str) -> list[str]:
    return [cell.source for cell in jupytext.reads(text, "py:percent").cells]


def test_a_researcher_edits_the_profile_reruns_and_saves(lab):
    """Retype `PROFILE = "cpu"` as "smoke" in the parameters cell, Run All, save: the figures and the
    claim table appear without a traceback, and the file keeps its py:percent cells but for the edit."""
    url, notebook = lab
    original = notebook.read_text()
    old_line = next(line for line in original.splitlines() if line.startswith("PROFILE = "))
    new_line = old_line.replace('"cpu"', '"smoke"')
    assert new_line != old_line, f'expected PROFILE = "cpu" in the section, found {old_line}'

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(30_000)
        accept = page.locator(".jp-Dialog-button.jp-mod-accept")  # e.g. a kernel choice: the default
        page.add_locator_handler(page.locator(".jp-Dialog"), lambda dialog: accept.click())
        panel = page.get_by_role("tabpanel", name=notebook.name)
        try:
            open_as_notebook(page, url, notebook)
            retype_first_line(page, panel, old_line, new_line)
            run_all(page, panel)
            tracebacks = panel.locator(STDERR).filter(has_text="Traceback").all_inner_texts()
            assert not tracebacks, "a cell failed:\n" + "\n".join(tracebacks)[-3000:]
            expect(panel.locator(".jp-CodeCell .jp-InputPrompt").last).to_have_text(re.compile(r"^\[\d+\]:$"))
            figure = panel.locator('.jp-OutputArea-output[data-mime-type="image/png"] img').first
            expect(figure, "no figure rendered").to_be_attached()
            assert figure.evaluate(
                "img => /^(data:image\\/png|blob:)/.test(img.src) && img.complete && img.naturalWidth > 300"
            ), "the figure is not a PNG of a useful size"
            claim_table = panel.locator(".jp-RenderedMarkdown table").filter(
                has=page.locator("th", has_text="Holds here")
            )
            expect(claim_table, "no claim table").to_have_count(1)
            saved = save(page, notebook, new_line)
        finally:
            screenshot_whole_notebook(page, panel, SCREENSHOT)
            browser.close()

    assert new_line in saved.splitlines(), "the edit did not reach the file"
    assert saved.startswith("# ---\n# jupyter:\n#   jupytext:\n") and "format_name: percent" in saved
    assert f'# %% tags=["parameters"]\n{new_line}\n' in saved
    assert cell_sources(saved) == cell_sources(original.replace(old_line, new_line)), "other cells changed"
