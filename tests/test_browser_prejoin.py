"""The device check when the browser gives no camera or no permission, in real Chromium:
launched without the flag that grants media permission, the browser refuses, and the page
says how to allow the devices; launched with no fake camera, the page says the person
joins with sound only, and they do (their stream has a sound track and no camera track).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.browser import CHROMIUM, CHROMIUM_FLAGS, new_context
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    session_settings,
    two_interviews,
)

pytestmark = pytest.mark.browser


async def _launch(*flags: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS + list(flags), headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def refusing_browser() -> AsyncIterator[Browser]:
    """Fake devices, but nothing grants the page permission to use them."""
    async for chromium in _launch("--use-fake-device-for-media-stream"):
        yield chromium


@pytest.fixture
async def cameraless_browser() -> AsyncIterator[Browser]:
    """Permission granted, a fake microphone, and no camera at all."""
    async for chromium in _launch(
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream=device-count=0"
    ):
        yield chromium


async def _device_check(browser: Browser, live_server: str, token: str) -> Page:
    context = await new_context(browser, live_server)
    page = await context.new_page()
    await page.goto(f"/join/{token}")
    await page.locator("#media-guidance").wait_for(state="visible")
    return page


async def test_a_browser_that_refuses_the_devices_gets_told_how_to_allow_them(
    refusing_browser: Browser, live_server: str, interviews: Interviews
) -> None:
    page = await _device_check(refusing_browser, live_server, interviews.a.tokens["consul"])
    try:
        guidance = await page.locator("#media-guidance").text_content()
        assert guidance is not None
        assert guidance.startswith("Camera and microphone are blocked. Allow them")
        assert await page.locator("#media-guidance").get_attribute("role") == "status"
    finally:
        await page.context.close()


async def test_without_a_camera_the_person_joins_with_sound_only(
    cameraless_browser: Browser, live_server: str, interviews: Interviews
) -> None:
    page = await _device_check(cameraless_browser, live_server, interviews.a.tokens["consul"])
    try:
        text = await page.locator("#media-guidance").text_content()
        assert text == "No camera found: you will join with sound only."
        await page.locator("#display-name").fill("Consul Ram")
        await page.get_by_label("I understand the session is recorded").check()
        await page.get_by_role("button", name="Join", exact=True).click()
        await page.get_by_text("Waiting for the host to open the session.").wait_for()
        # In with the microphone alone: a sound track, no camera track.
        tracks = await page.evaluate(
            """() => {
              const stream = document.getElementById('local-video').srcObject;
              return [stream.getAudioTracks().length, stream.getVideoTracks().length];
            }"""
        )
        assert tracks == [1, 0]
    finally:
        await page.context.close()
