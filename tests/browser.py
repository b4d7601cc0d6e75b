"""Headless Chromium fixtures for page tests: a live server URL, a browser, and a page.

Registered for every test module by `pytest_plugins = ["tests.browser"]` in conftest.py.
The browser is Debian's /usr/bin/chromium driven by Playwright's async API inside the
test's own event loop; nothing is downloaded (never run `playwright install`).

    @pytest.mark.browser
    async def test_story(page: Page, world: World) -> None:
        await browser_sign_in(page, "staff@example.org")
        await page.goto("/directory")

`page` uses `live_server` as its base URL, so `page.goto("/path")` reaches the app that
the `client` fixture serves on 127.0.0.1, over the same database `db` and `world` use.
Screenshots go to `screenshots` (a folder in the test's tmp_path) via `save_screenshot`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

CHROMIUM = os.environ.get("CONSULINK_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Playwright's own waits, in milliseconds: generous for a loaded 2-core machine, but bounded.
TIMEOUT_MS = 15_000


@pytest.fixture
def live_server(client: TestClient[Any, Any]) -> str:
    """Base URL (no trailing slash) of the real app on a real port: the `client` fixture's."""
    return str(client.make_url("/")).rstrip("/")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium, closed after the test."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


async def new_context(browser: Browser, base_url: str, **options: Any) -> BrowserContext:
    """A fresh browser profile (own cookies) on `base_url`; options go to new_context."""
    settings: dict[str, Any] = {"base_url": base_url, "viewport": DESKTOP, "locale": "en-US"}
    context = await browser.new_context(**(settings | options))
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
async def page(browser: Browser, live_server: str) -> AsyncIterator[Page]:
    """A desktop-sized page in a fresh profile, pointed at the live server."""
    context = await new_context(browser, live_server)
    try:
        yield await context.new_page()
    finally:
        await context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """A folder for this test's screenshots."""
    folder = tmp_path / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


async def save_screenshot(page: Page, folder: Path, name: str) -> Path:
    """A full-page PNG of what the page shows now; returns its path."""
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def browser_sign_in(page: Page, email: str, password: str | None = None) -> None:
    """Sign in through the real form, as a person would, and wait for the next page."""
    from tests.conftest import PASSWORD

    await page.goto("/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password or PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign in").click()
