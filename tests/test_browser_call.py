"""Three people in three browsers (facility, consul, interpreter) on Chromium's fake camera
and microphone: each opens their link, checks devices, joins; the host opens the session;
each sees the other two videos playing, and the server records all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from signaling.records import recordings
from tests.browser import CHROMIUM, CHROMIUM_FLAGS, new_context
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    duration_of,
    session_settings,
    two_interviews,
)
from web.settings import Settings

MEDIA_FLAGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
FRAMES_ADVANCING = """() => {
  const videos = [...document.querySelectorAll('video.remote')];
  return videos.length === 2 && videos.every((v) => v.videoWidth > 0 && v.currentTime > 0);
}"""
TILES = """() => [...document.querySelectorAll('.tile')].map((t) => {
  const v = t.querySelector('video');
  return [t.id, t.dataset.state, v.videoWidth, v.currentTime, v.readyState];
})"""
FRAME_COUNTS = """() => [...document.querySelectorAll('video.remote')]
  .map((v) => v.getVideoPlaybackQuality().totalVideoFrames)"""


@pytest.fixture
async def media_browser() -> AsyncIterator[Browser]:
    """Chromium with a fake camera and microphone, allowed to use loopback candidates."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS + MEDIA_FLAGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


async def _open_link(browser: Browser, live_server: str, token: str) -> Page:
    context = await new_context(browser, live_server)
    page = await context.new_page()
    await page.goto(f"/join/{token}")
    assert "/join/" not in page.url  # the token left the address bar
    await page.get_by_label("I understand the session is recorded").check()
    await page.get_by_role("button", name="Join", exact=True).click()
    return page


@pytest.mark.browser
@pytest.mark.slow
async def test_three_browsers_see_each_other_and_the_server_records_them(
    media_browser: Browser,
    live_server: str,
    interviews: Interviews,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    a = interviews.a
    host = await _open_link(media_browser, live_server, a.tokens["staff"])
    others = [
        await _open_link(media_browser, live_server, a.tokens[r]) for r in ("consul", "interpreter")
    ]
    await others[0].get_by_text("Waiting for the host to open the session.").wait_for()
    first_seen: dict[int, float] = {}
    all_started = asyncio.Event()

    async def watch_recordings() -> None:
        # When each recorded track starts: its row is written at its first frame.
        while True:
            async with db() as session:
                for row in await recordings(session, a.interview_id):
                    first_seen.setdefault(row.id, time.monotonic())
            if len(first_seen) == 6:
                all_started.set()
            await asyncio.sleep(0.1)

    watcher = asyncio.get_running_loop().create_task(watch_recordings())
    try:
        await _call(host, others, interviews, db, settings, first_seen, all_started)
    finally:
        # A failed wait must not leave the watcher (and its database connection) running.
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        for page in [host, *others]:
            await page.context.close()


async def _call(
    host: Page,
    others: list[Page],
    interviews: Interviews,
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    first_seen: dict[int, float],
    all_started: asyncio.Event,
) -> None:
    a = interviews.a
    await host.get_by_role("button", name="Open the session").click()
    pages = [host, *others]
    for page in pages:
        # Poll on a timer: requestAnimationFrame stalls in pages that are not in front.
        try:
            await page.wait_for_function(FRAMES_ADVANCING, polling=250, timeout=60_000)
        except PlaywrightTimeout:
            raise AssertionError(
                f"no video on page {pages.index(page)}: {await page.evaluate(TILES)}"
            ) from None
        before: list[int] = await page.evaluate(FRAME_COUNTS)
        await page.wait_for_timeout(1000)
        after: list[int] = await page.evaluate(FRAME_COUNTS)
        assert all(b > a for a, b in zip(before, after, strict=True)), (before, after)
    # The indicator itself (the first "Recording" text used to be the lobby's checkbox label,
    # visible only because the lobby never hid).
    assert await host.locator("#recording").is_visible()

    async with asyncio.timeout(45):
        await all_started.wait()
    await asyncio.sleep(2)
    await host.get_by_role("button", name="End for everyone").click()
    ended = time.monotonic()
    for page in others:
        await page.get_by_text("The host ended the session.").wait_for(timeout=45_000)

    async with asyncio.timeout(45):
        while True:
            async with db() as session:
                rows = await recordings(session, a.interview_id)
            if all(r.ended_at is not None for r in rows):
                break
            await asyncio.sleep(0.1)
    assert sorted(r.kind for r in rows) == ["audio"] * 3 + ["video"] * 3
    for row in rows:
        expected = ended - first_seen[row.id]
        played = duration_of(settings.data_dir / "recordings" / row.path)
        assert abs(played - expected) < 1.0, (row.kind, played, expected)
