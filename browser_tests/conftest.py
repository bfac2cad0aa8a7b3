"""Browser tests: Debian's Chromium driven by Playwright, against real processes (`python
worker.py` with its embedded dev server, `python -m gateway`). Their own pytest invocation
(`make test` runs it after the main suite), so Playwright's sync API never meets an asyncio loop.

Without /usr/bin/chromium they are skipped, unless COMPLAINTS_REQUIRE_BROWSER=1 (CI sets it).
COMPLAINTS_SCREENSHOTS=DIR keeps the screenshots the README shows (`make screenshots`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("COMPLAINTS_CHROMIUM", "/usr/bin/chromium"))
# Keep Chromium off the network: this machine refuses its background calls.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("COMPLAINTS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium package")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    folder = os.environ.get("COMPLAINTS_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
