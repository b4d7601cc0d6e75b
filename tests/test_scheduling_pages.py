"""Scheduling pages through real forms: find a slot and request it, the consul answers,
availability forms that keep what was typed when they refuse it, calendars in Spanish,
and one story in real Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling.appointments import Interview
from scheduling.resources import AvailabilityWindow
from tests.browser import browser_sign_in
from tests.conftest import Clock, World, sign_in
from tests.test_scheduling_support import Schedule, act_as, set_up_schedule


@pytest.fixture
async def schedule(db: async_sessionmaker[AsyncSession], world: World, clock: Clock) -> Schedule:
    """Hours, an interpreter, a room and a case shared with India."""
    return await set_up_schedule(db, world, clock)


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, name
    return found.group(1)


def first_slot(page: str) -> dict[str, str]:
    """The form fields of the first slot the search page offers."""
    fields = ("consulate_id", "starts_at", "consul_id", "interpreter_id", "room_id")
    return {name: hidden(page, name) for name in fields}


async def test_staff_request_a_slot_from_the_page_and_the_consul_confirms_it(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    csrf = await sign_in(client, "staff@example.org")
    overview = await client.get("/scheduling")
    assert overview.status == 200 and "TAP-2026-0001" in await overview.text()
    search = await client.get(f"/scheduling/cases/{schedule.case_id}")
    page = await search.text()
    assert search.status == 200
    assert "Monday, March 2, 2026 08:00 (America/Mexico_City)" in page
    assert "Consulate: Monday, March 2, 2026 09:00 (America/New_York)" in page
    form = first_slot(page)
    booked = await client.post(
        f"/scheduling/cases/{schedule.case_id}/book",
        data={**form, "csrf_token": csrf},
        allow_redirects=False,
    )
    assert booked.status == 303
    interview_url = booked.headers["Location"]
    shown = await (await client.get(interview_url)).text()
    assert "Awaiting the consulate" in shown
    # The same slot again (another browser tab): refused with the reason, nothing stored.
    again = await client.post(
        f"/scheduling/cases/{schedule.case_id}/book", data={**form, "csrf_token": csrf}
    )
    assert again.status == 409 and "already has an interview" in await again.text()

    csrf = await act_as(client, "consul.in@example.org")
    no_reason = await client.post(
        f"{interview_url}/decline", data={"csrf_token": csrf, "reason": ""}
    )
    assert no_reason.status == 400 and 'id="form-error"' in await no_reason.text()
    confirmed = await client.post(f"{interview_url}/confirm", data={"csrf_token": csrf})
    assert confirmed.status == 200  # followed the redirect back to the interview page
    assert 'id="interview-status">Confirmed' in await confirmed.text()
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Interview)) == 1


async def test_the_case_page_lists_its_interviews_and_offers_a_slot_search_until_one_is_booked(
    client: TestClient[Any, Any], schedule: Schedule
) -> None:
    csrf = await sign_in(client, "staff@example.org")
    before = await (await client.get(f"/cases/{schedule.case_id}")).text()
    assert "No interview booked yet." in before
    assert f'href="/scheduling/cases/{schedule.case_id}">Find a slot' in before
    search = await (await client.get(f"/scheduling/cases/{schedule.case_id}")).text()
    booked = await client.post(
        f"/scheduling/cases/{schedule.case_id}/book",
        data={**first_slot(search), "csrf_token": csrf},
        allow_redirects=False,
    )
    after = await (await client.get(f"/cases/{schedule.case_id}")).text()
    assert f'href="{booked.headers["Location"]}">Interview of' in after
    assert "Awaiting the consulate" in after
    assert "Find a slot" not in after, "one active interview per case"

    await act_as(client, "consul.in@example.org")
    consul_view = await (await client.get(f"/cases/{schedule.case_id}")).text()
    assert "Awaiting the consulate" in consul_view and "Find a slot" not in consul_view
    await act_as(client, "consul.np@example.org")
    assert (await client.get(f"/cases/{schedule.case_id}")).status == 403


async def test_a_cancel_reason_that_looks_like_html_is_shown_escaped(
    client: TestClient[Any, Any], schedule: Schedule
) -> None:
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews",
        json={
            "case_id": schedule.case_id,
            "starts_at": "2026-03-02T14:00:00Z",
            "consul_id": schedule.world.consul_india.id,
            "interpreter_id": schedule.interpreter_id,
            "room_id": schedule.room_id,
        },
    )
    interview = await booked.json()
    csrf = client.session.headers["X-CSRF-Token"]
    await client.post(
        f"/scheduling/interviews/{interview['id']}/cancel",
        data={"csrf_token": csrf, "reason": "<img src=x onerror=alert(1)>"},
    )
    page = await (await client.get(f"/scheduling/interviews/{interview['id']}")).text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page


async def test_the_hours_form_refuses_a_bad_line_keeps_the_input_and_stores_nothing(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    csrf = await sign_in(client, "consul.in@example.org")
    url = f"/scheduling/consulates/{schedule.world.india.id}/hours"
    form_page = await (await client.get(url)).text()
    assert 'value="09:00-13:00"' in form_page
    async with db() as session:
        before = await session.scalar(select(func.count()).select_from(AvailabilityWindow))
    data = {
        "csrf_token": csrf,
        "interview_minutes": "60",
        "buffer_minutes": "15",
        "step_minutes": "30",
        "notice_minutes": "120",
        "day-0": "9 to 5",
        "exceptions": "2026-12-25 closed Christmas",
    }
    refused = await client.post(url, data=data)
    text = await refused.text()
    assert refused.status == 400
    assert 'id="day-0" name="day-0" value="9 to 5" aria-invalid="true"' in text
    bad_date = await client.post(url, data={**data, "day-0": "09:00-12:00", "exceptions": "Xmas"})
    assert bad_date.status == 400 and "line 1" in await bad_date.text()
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(AvailabilityWindow)) == before
    saved = await client.post(
        url, data={**data, "day-0": "09:00-12:00, 13:00-15:00"}, allow_redirects=False
    )
    assert saved.status == 303
    shown = await (await client.get(saved.headers["Location"])).text()
    assert 'value="09:00-12:00, 13:00-15:00"' in shown and "2026-12-25 closed Christmas" in shown
    other = await client.get(f"/scheduling/consulates/{schedule.world.nepal.id}/hours")
    assert other.status == 403


async def test_the_calendar_page_speaks_spanish(
    client: TestClient[Any, Any], schedule: Schedule
) -> None:
    await act_as(client, "staff@example.org")
    await client.post(
        "/api/interviews",
        json={
            "case_id": schedule.case_id,
            "starts_at": "2026-03-04T14:00:00Z",
            "consul_id": schedule.world.consul_india.id,
            "interpreter_id": schedule.interpreter_id,
            "room_id": schedule.room_id,
        },
    )
    client.session.cookie_jar.update_cookies({"consulink_lang": "es"}, client.make_url("/"))
    mine = await client.get("/calendar")
    page = await mine.text()
    assert mine.status == 200 and "Semana del 2026-03-02" in page
    assert "08:00–09:00" in page and "Pendiente del consulado" in page


@pytest.mark.browser
async def test_staff_book_an_interview_in_the_browser_with_the_keyboard(
    page: Page, schedule: Schedule
) -> None:
    await browser_sign_in(page, "staff@example.org")
    await page.goto("/scheduling")
    await page.get_by_role("link", name="Find a slot").first.click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("TAP-2026-0001")
    request = page.get_by_role("button", name="Request this slot").first
    await request.focus()
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await expect(page.locator("#interview-status")).to_have_text("Awaiting the consulate")
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto("/calendar?week=2026-03-02")
    await expect(page.get_by_text("TAP-2026-0001")).to_be_visible()
