"""A real headless Chromium (Debian's package, installed by .ci/run) for the tests of web pages."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_path() -> str:
    """The browser, or a skip here and a failure in CI (where it must be installed)."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


def rendered(chromium: str, url: str, profile: Path) -> str:
    """The page's DOM after its scripts ran (up to 10 s of virtual time)."""
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


ARTEFACTS = Path(__file__).resolve().parents[1] / "build" / "test-artefacts"


@contextlib.contextmanager
def driven_browser(chromium: str) -> Iterator[Browser]:
    """The same Chromium driven by Playwright, for pages a test types into and clicks through
    (no browser is downloaded: Playwright runs the system's)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def keep_screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot kept as a test artefact (``build/test-artefacts``)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
