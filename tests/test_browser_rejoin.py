"""Coming back to a call: a page reloaded mid-call rejoins the same open session by itself
(no second device check), and a signalling socket the server drops reconnects by itself;
each time video flows again both ways and the session record says "reconnect".

Not covered here: the ICE restart a browser makes when a peer connection drops
(`PeerLink.watch` in web/static/session/mesh.js). Chromium on one loopback interface gives
no way to make a live connection fail from outside the page; tests/test_browser_ice_restart.py
runs one browser in a network namespace and cuts its UDP mid-call instead.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from signaling.records import EventKind, SessionEvent
from tests.browser import new_context
from tests.test_browser_call import TILES, media_browser  # noqa: F401 - fixture
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    session_settings,
    two_interviews,
)
from web.keys import ROOMS

ONE_REMOTE_PLAYING = """() => {
  const videos = [...document.querySelectorAll('video.remote')];
  return videos.length === 1 && videos[0].videoWidth > 0 && videos[0].currentTime > 0;
}"""
FRAMES = "() => document.querySelector('video.remote').getVideoPlaybackQuality().totalVideoFrames"


async def _open_link(browser: Browser, live_server: str, token: str) -> Page:
    context = await new_context(browser, live_server)
    page = await context.new_page()
    await page.goto(f"/join/{token}")
    await page.get_by_label("I understand the session is recorded").check()
    await page.get_by_role("button", name="Join", exact=True).click()
    return page


async def _video_flows(step: str, *pages: Page) -> None:
    """Each page plays one remote video whose frame count keeps growing."""
    for page in pages:
        # Poll on a timer: requestAnimationFrame stalls in pages that are not in front.
        try:
            await page.wait_for_function(ONE_REMOTE_PLAYING, polling=250, timeout=60_000)
        except PlaywrightTimeout:
            tiles = await page.evaluate(TILES)
            raise AssertionError(f"{step}: no video on page {pages.index(page)}: {tiles}") from None
        before = await page.evaluate(FRAMES)
        await page.wait_for_function(f"() => ({FRAMES})() > {before}", polling=250)


async def _reconnects(db: async_sessionmaker[AsyncSession], interview_id: int) -> int:
    async with db() as session:
        rows = await session.scalars(
            select(SessionEvent).where(
                SessionEvent.interview_id == interview_id,
                SessionEvent.kind == EventKind.RECONNECT.value,
            )
        )
        return len(rows.all())


@pytest.mark.browser
@pytest.mark.slow
async def test_a_reloaded_page_and_a_dropped_socket_come_back_into_the_call(
    media_browser: Browser,  # noqa: F811
    live_server: str,
    interviews: Interviews,
    db: async_sessionmaker[AsyncSession],
    client: TestClient[Any, Any],
) -> None:
    a = interviews.a
    host = await _open_link(media_browser, live_server, a.tokens["staff"])
    consul = await _open_link(media_browser, live_server, a.tokens["consul"])
    try:
        await consul.get_by_text("Waiting for the host to open the session.").wait_for()
        await host.get_by_role("button", name="Open the session").click()
        await _video_flows("at the start", host, consul)

        # A reload: the page goes straight back into the call.
        await consul.reload()
        await consul.locator("#call").wait_for()
        await _video_flows("after the reload", host, consul)
        assert await _reconnects(db, a.interview_id) == 1

        # The server drops the consul's socket (as a proxy or a network change would).
        room = client.app[ROOMS].rooms[a.interview_id]
        (member,) = [m for m in room.members.values() if m.entrant.role == "consul"]
        await member.connection.close_with(1012, "dropped for the test")
        await host.wait_for_function(
            f"() => !document.getElementById('tile-{member.peer_id}')", polling=250
        )
        await _video_flows("after the dropped socket", host, consul)
        assert await _reconnects(db, a.interview_id) == 2
        assert await consul.locator("#call").is_visible()
    finally:
        for page in (host, consul):
            with contextlib.suppress(Exception):
                await page.context.close()
