"""The consul records an outcome and acknowledges the summary in a real browser, on a
phone, with the keyboard: from the interview page to the form, and on to the summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page

from tests.browser import PHONE, browser_sign_in, new_context, save_screenshot
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    joined,
    two_interviews,
)
from web.keys import JOB_RUNNER

pytestmark = pytest.mark.browser


async def _no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"


async def test_a_consul_records_the_outcome_and_acknowledges_on_a_phone(
    client: TestClient[Any, Any],
    interviews: Interviews,
    browser: Browser,
    live_server: str,
    screenshots: Path,
) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")
    await host.send({"type": "open"})
    await consul.expect("admitted")
    await consul.send({"type": "chat", "text": "Good morning"})
    await host.expect("chat")
    await host.send({"type": "end"})
    await consul.closed()
    await client.app[JOB_RUNNER].run_due()

    context = await new_context(browser, live_server, viewport=PHONE)
    try:
        page = await context.new_page()
        await browser_sign_in(page, "consul.in@example.org")
        await page.goto(f"/scheduling/interviews/{a.interview_id}")
        link = page.get_by_role("link", name="Record the outcome")
        await link.focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Interview outcome").wait_for()
        await _no_sideways_scroll(page)

        # Keyboard only: a radio group takes Space on its focused choice.
        for choice in ("#identity-confirmed", "#nationality-confirmed", "#travel-issue"):
            await page.locator(choice).focus()
            await page.keyboard.press("Space")
        await page.get_by_label("Next steps").fill("Emergency certificate within 10 days.")
        await save_screenshot(page, screenshots, "outcome-phone-filled")
        await page.get_by_role("button", name="Save the outcome").focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")

        await page.get_by_text("The outcome was saved.").wait_for()
        assert "Version 2 of 2" in await page.locator("#summary-version").inner_text()
        assert "Identity confirmed" in await page.locator("#outcome").inner_text()
        assert "Good morning" in await page.locator("#chat").inner_text()
        await _no_sideways_scroll(page)
        await page.locator("#acknowledge").focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await page.get_by_text("Your acknowledgement was recorded.").wait_for()
        acknowledgements = await page.locator("#acknowledgements").inner_text()
        assert "acknowledged by Consul.In" in acknowledgements
        assert await page.locator("#acknowledge").count() == 0
        await save_screenshot(page, screenshots, "summary-phone-acknowledged")
    finally:
        await context.close()
