"""Captions in real browsers: the staff member's Chromium "microphone" plays a spoken
fixture (--use-file-for-fake-audio-capture); the consul, in another Chromium, turns
captions on in Spanish and reads what was said, with its translation, labelled as machine
output, in the page's live region.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.browser import CHROMIUM, CHROMIUM_FLAGS, new_context
from tests.test_captions_call import spoken_wav
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    session_settings,
    two_interviews,
)

MEDIA_FLAGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
]


async def _launch(playwright: object, extra: list[str]) -> Browser:
    chromium = playwright.chromium  # type: ignore[attr-defined]
    browser: Browser = await chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_FLAGS + MEDIA_FLAGS + extra, headless=True
    )
    return browser


@pytest.fixture
async def browsers(tmp_path: Path) -> AsyncIterator[tuple[Browser, Browser]]:
    """A Chromium whose microphone speaks the fixtures, and one with the plain fake device."""
    wav, _texts = spoken_wav(tmp_path, ("passport",))
    async with async_playwright() as playwright:
        speaking = await _launch(playwright, [f"--use-file-for-fake-audio-capture={wav}"])
        listening = await _launch(playwright, [])
        try:
            yield speaking, listening
        finally:
            await speaking.close()
            await listening.close()


async def _open_link(browser: Browser, live_server: str, token: str) -> Page:
    context = await new_context(browser, live_server)
    page = await context.new_page()
    await page.goto(f"/join/{token}")
    await page.get_by_label("I understand the session is recorded").check()
    await page.get_by_role("button", name="Join", exact=True).click()
    return page


@pytest.mark.browser
@pytest.mark.slow
async def test_the_consul_reads_the_staff_members_speech_as_captions(
    browsers: tuple[Browser, Browser], live_server: str, interviews: Interviews
) -> None:
    speaking, listening = browsers
    a = interviews.a
    host = await _open_link(speaking, live_server, a.tokens["staff"])
    consul = await _open_link(listening, live_server, a.tokens["consul"])
    await consul.get_by_text("Waiting for the host to open the session.").wait_for()
    await host.get_by_role("button", name="Open the session").click()

    await consul.get_by_label("Read captions in").select_option("es")
    toggle = consul.get_by_role("button", name="Turn captions on")
    await toggle.focus()
    await consul.keyboard.press("Enter")  # keyboard operable
    await consul.get_by_role("button", name="Turn captions off").wait_for()
    assert (
        await consul.get_by_role("button", name="Turn captions off").get_attribute("aria-pressed")
        == "true"
    )

    log = consul.locator("#captions-log")
    assert await log.get_attribute("aria-live") == "polite"
    line = log.locator("li.caption:not(.interim)", has_text="passport").first
    await line.wait_for(timeout=60_000)
    assert "passport" in (await line.locator(".original").inner_text()).lower()
    assert await line.locator(".original").get_attribute("lang") == "eng"
    assert "pasaporte" in (await line.locator(".translation").inner_text()).lower()
    assert await line.locator(".translation").get_attribute("lang") == "spa"
    assert "machine translation" in await line.locator(".machine").inner_text()
    assert (await line.locator(".speaker").inner_text()).strip() != ""

    # Larger text, chosen from the keyboard-usable select.
    await consul.get_by_label("Text size").select_option("larger")
    assert "size-larger" in (await log.get_attribute("class") or "")
    for page in (host, consul):
        await page.context.close()
