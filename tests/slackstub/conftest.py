"""The stand-in tests reuse the real app over HTTP (tests/bot/conftest.py); the browser tests
drive Debian's Chromium with Playwright (no `playwright install`: executable_path is given)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.bot.conftest import config, lookup, reply, slack, standin  # noqa: F401

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
# Playwright already passes --headless, --no-sandbox (needed as root), a throwaway profile,
# --disable-dev-shm-usage and friends; these keep it quiet and offline in containers.
_CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--disable-background-networking"]


def _find_chromium() -> str | None:
    env = os.environ.get("CHROMIUM_BIN")
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else None
    return next((p for p in map(shutil.which, _CHROMIUM_NAMES) if p), None)


@pytest.fixture(scope="session")
def chromium_browser():
    """One headless Chromium for the session; the test is skipped, saying why, without one."""
    exe = _find_chromium()
    if exe is None:
        pytest.skip(
            "browser test skipped: Chromium not found (as root on Debian/Ubuntu `make test` "
            "installs it; else `apt-get install chromium`, or set CHROMIUM_BIN=/path/to/chrome)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="browser test skipped: the Python package playwright is missing "
        "(pip install -e '.[dev]')",
    )
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=_CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium_browser):
    """A fresh page (its own context) per test, failing fast instead of waiting 30 s."""
    context = chromium_browser.new_context(viewport={"width": 1100, "height": 760})
    context.set_default_timeout(10_000)
    # expect() has a timeout of its own, 5 s: under a full parallel run a refused click's
    # failure sometimes took longer than that to show on App Home (2 of 9 full runs; 0 of 10
    # loaded runs of that test since), so it waits as long as the rest.
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
