"""Headless Debian Chromium, driven by Playwright, against a live authgate server.

Outside CI a machine without ``/usr/bin/chromium`` skips these tests; under CI
(``CI`` set) a missing browser is a failure, so the suite cannot go quietly
green without ever running them. Screenshots of every page step are kept as
test artifacts in ``test-artifacts/screenshots/<test>/`` at the repository root
(git-ignored; CI keeps the working directory), or under
``AUTHGATE_SCREENSHOT_DIR`` when set.

Two servers: ``live`` is the app in a thread of the test process; ``served``
is ``authgate serve`` itself, a subprocess, once per module.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from authgate.server import create_app
from authgate.server.app import state
from tests.e2e.server.served import served
from tests.server.conftest import server_config
from tests.support.live import live_server

__all__ = ["CHROMIUM", "Live", "Shots", "browser", "live", "page", "served", "shots"]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing, and CI must run the browser tests")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def screenshot_dir(request: pytest.FixtureRequest) -> Path:
    """``test-artifacts/screenshots/<test name>/``, emptied of an earlier run's pictures."""
    root = Path(os.environ.get("AUTHGATE_SCREENSHOT_DIR") or ARTIFACTS)
    folder = root / request.node.name.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


@dataclass
class Shots:
    """Numbered full-page screenshots, one per page step, kept after the run."""

    folder: Path
    taken: int = 0

    def __call__(self, page: Any, name: str) -> Path:
        self.taken += 1
        path = self.folder / f"{self.taken:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(screenshot_dir(request))


@dataclass
class Live:
    base_url: str
    app: Any
    shots: Path

    def shot(self, page: Any, name: str) -> Path:
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def live(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Live]:
    app = create_app(server_config(tmp_path, AUTHGATE_JWT_ALG="ES256"))
    shots = screenshot_dir(request)
    try:
        with live_server(app) as base_url:
            yield Live(base_url, app, shots)
    finally:
        state(app).db.dispose()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-GB")
    context.set_default_timeout(5000)
    try:
        yield context.new_page()
    finally:
        context.close()
