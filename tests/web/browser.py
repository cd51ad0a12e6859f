"""A real headless Chromium (Debian's) driven by Playwright, for the dashboard's e2e tests."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing reaching out: without these Chromium tries the network at start.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Where screenshots are copied besides the test's own folder (scripts/screenshots sets it).
SCREENSHOTS_ENV = "PULSE_SCREENSHOTS"


@contextlib.asynccontextmanager
async def chromium():
    """A browser context (one profile) in a fresh headless Chromium."""
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - one stat before a browser starts
        pytest.skip(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1200, "height": 900}, accept_downloads=True
            )
            yield context
        finally:
            await browser.close()


async def screenshot(page, folder: Path, name: str) -> Path:
    """Save the whole page as FOLDER/NAME.png (and into $PULSE_SCREENSHOTS when set)."""
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    if target := os.environ.get(SCREENSHOTS_ENV):
        os.makedirs(target, exist_ok=True)
        shutil.copy(path, os.path.join(target, path.name))
    return path
