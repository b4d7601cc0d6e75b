"""Playing a recorded session in Chromium: a real session (aiortc participants through the
real server) is recorded, then staff open its playback page, press Play, and watch the
position advance with the tracks actually playing and the transcript line under the
playhead highlighted; a transcript line's time seeks there.

Transcript lines are added as rows (see test_playback.py for why).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Page, Route
from playwright.async_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.audit import AuditEvent
from tests.browser import browser_sign_in
from tests.conftest import Clock
from tests.test_playback import add_transcript, audit_count, record_session
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    MediaParticipant,
    media_participants,
    session_settings,
    two_interviews,
)

pytestmark = pytest.mark.browser

TRACKS = """() => [document.getElementById('position').textContent,
  ...[...document.querySelectorAll('[data-track]')].map((m) =>
    [m.dataset.offsetMs, m.readyState, m.paused, m.ended, m.currentTime, m.duration, m.error])]"""
POSITION = "() => Number(document.getElementById('position').dataset.seconds)"
# Tracks whose element really played more than half a second (its `played` ranges).
PLAYED = """() => [...document.querySelectorAll('[data-track]')]
  .filter((m) => m.played.length && m.played.end(m.played.length - 1) - m.played.start(0) > 0.5)
  .length"""
# Notes every transcript line that gets highlighted, however briefly (a loaded machine
# may sample the page only after a short recording has played through).
WATCH_HIGHLIGHTS = """() => {
  window.highlighted = [];
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.target.classList.contains('current')) {
        window.highlighted.push(change.target.dataset.cue);
      }
    }
  }).observe(document.getElementById('transcript'), {attributes: true, subtree: true,
    attributeFilter: ['class']});
}"""


async def test_staff_play_a_recorded_session_and_follow_the_transcript(
    client: TestClient[Any, Any],
    page: Page,
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
    clock: Clock,
    screenshots: Path,
) -> None:
    rows = await record_session(client, interviews, participants, db)
    await add_transcript(db, interviews.a.interview_id, clock, rows)
    first_line_s = (rows[0].offset_ms + 200) / 1000

    await browser_sign_in(page, "staff@example.org")
    await page.goto(f"/session/{interviews.a.interview_id}/playback")
    assert await page.locator("video[data-track]").count() == 2
    assert await page.locator("audio[data-track]").count() == 2
    # The transcript is a WebVTT <track>: Chromium loads its cues (the highlight follows them).
    await page.wait_for_function(
        "() => document.querySelector('track').readyState === 2"
        " && document.querySelector('track').track.cues.length === 2"
    )
    assert await audit_count(db, "session.playback") == 1
    assert await audit_count(db, "recording.play") == 0  # nothing fetched before Play
    await page.evaluate(WATCH_HIGHLIGHTS)
    await page.get_by_role("button", name="Play").click()
    await page.wait_for_function(f"() => ({POSITION})() > {first_line_s + 0.3}")
    await page.wait_for_function(f"() => ({PLAYED})() >= 2")
    await page.wait_for_function("() => window.highlighted.includes('1')")
    async with db() as session:
        played = await session.scalars(
            select(AuditEvent.target_id).where(AuditEvent.action == "recording.play")
        )
        assert sorted(set(played)) == sorted(str(row.id) for row in rows)  # each track

    # It plays to the end and stops; then the second line's time jumps back there. A loaded
    # machine may stall a track's loading (the clock holds for it), so allow time, and say
    # where playback stood if it never ends.
    try:
        await page.get_by_role("button", name="Play").wait_for(timeout=45_000)
    except PlaywrightTimeout:
        raise AssertionError(f"playback never ended: {await page.evaluate(TRACKS)}") from None
    await page.evaluate("() => { window.highlighted = []; }")
    await page.locator("#transcript li").nth(1).get_by_role("button").click()
    await page.wait_for_function("() => window.highlighted.includes('2')")
    assert await page.evaluate("() => window.highlighted[0]") == "2"
    await page.screenshot(path=str(screenshots / "playback.png"), full_page=True)


async def test_a_track_that_never_loads_does_not_stall_the_others(
    client: TestClient[Any, Any],
    page: Page,
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
) -> None:
    rows = await record_session(client, interviews, participants, db)
    stuck = next(row for row in rows if row.kind == "audio")
    held: list[Route] = []

    async def never_answer(route: Route) -> None:
        held.append(route)  # the request stays pending, as on a network that stalls

    await browser_sign_in(page, "staff@example.org")
    await page.route(f"**/api/recordings/{stuck.id}/media", never_answer)
    await page.goto(f"/session/{interviews.a.interview_id}/playback")
    await page.get_by_role("button", name="Play").click()
    # The clock waits up to 5 s for the stuck track, then plays the others to the end.
    try:
        await page.get_by_role("button", name="Play").wait_for(timeout=45_000)
    except PlaywrightTimeout:
        raise AssertionError(f"playback stalled: {await page.evaluate(TRACKS)}") from None
    assert held, "the stuck track was never asked for"
    assert await page.evaluate(f"() => ({PLAYED})()") >= 2
    for route in held:
        await route.abort()
