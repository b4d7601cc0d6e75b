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
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.browser import browser_sign_in
from tests.conftest import Clock
from tests.test_playback import add_transcript, record_session
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    MediaParticipant,
    media_participants,
    session_settings,
    two_interviews,
)

pytestmark = pytest.mark.browser

POSITION = "() => Number(document.getElementById('position').dataset.seconds)"
PLAYING_TRACKS = """() => [...document.querySelectorAll('[data-track]')]
  .filter((m) => !m.paused && m.currentTime > 0.5).length"""


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
    await page.get_by_role("button", name="Play").click()
    await page.wait_for_function(f"() => ({POSITION})() > {first_line_s + 0.3}")
    await page.wait_for_function(f"() => ({PLAYING_TRACKS})() >= 2")
    highlighted = page.locator("#transcript li.current")
    await expect(highlighted).to_have_count(1)
    assert await highlighted.get_attribute("aria-current") == "true"

    # Pause, then jump to the second line by its time: the playhead and highlight follow.
    await page.get_by_role("button", name="Pause").click()
    paused_at = await page.evaluate(POSITION)
    second = page.locator("#transcript li").nth(1)
    await second.get_by_role("button").click()
    await page.wait_for_function(f"() => ({POSITION})() >= {(rows[0].offset_ms + 1500) / 1000}")
    await expect(second).to_have_class("current")
    assert paused_at > first_line_s
    await page.screenshot(path=str(screenshots / "playback.png"), full_page=True)
