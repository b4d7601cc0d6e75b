"""The case file beside the video: the consul of the case's consulate sees its documents
and fills the questionnaire during the call; the facility's staff see the documents; the
interpreter and people who only hold a link (not signed in) see no case data.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.audit import AuditEvent
from interviews.questionnaire_answers import filled
from interviews.questionnaire_demo import INDIA
from interviews.questionnaire_results import AnswerStatus
from scheduling.appointments import Interview
from tests.browser import browser_sign_in, new_context
from tests.conftest import World, sign_in
from tests.test_browser_call import media_browser  # noqa: F401 - fixture
from tests.test_cases_support import bearer, pdf_bytes, png_bytes, upload
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    session_settings,
    two_interviews,
)

Client = TestClient[Any, Any]
Sessions = async_sessionmaker[AsyncSession]


async def _case_id(db: Sessions, interview_id: int) -> int:
    async with db() as session:
        interview = await session.get(Interview, interview_id)
        assert interview is not None
        return interview.case_id


async def _file_the_case(client: Client, db: Sessions, world: World, case_id: int) -> None:
    """Staff attach a passport photo page and a PDF; India's questionnaire exists."""
    staff = await bearer(db, "staff@example.org")
    consul = await bearer(db, "consul.in@example.org")
    for data, name in ((png_bytes(), "passport.png"), (pdf_bytes(), "birth-certificate.pdf")):
        response = await upload(client, staff, case_id, data, name)
        assert response.status == 201, await response.text()
    response = await client.put(
        f"/api/consulates/{world.india.id}/questionnaire", json=INDIA, headers=consul
    )
    assert response.status == 200, await response.text()


async def _case_views(db: Sessions) -> int:
    async with db() as session:
        rows = await session.scalars(select(AuditEvent).where(AuditEvent.action == "case.view"))
        return len(rows.all())


async def test_only_the_consul_and_the_facility_staff_see_the_case_file(
    client: Client, db: Sessions, world: World, interviews: Interviews
) -> None:
    a = interviews.a
    await _file_the_case(client, db, world, await _case_id(db, a.interview_id))

    await sign_in(client, "consul.in@example.org")
    page = await (await client.get(f"/session/{a.interview_id}")).text()
    assert 'id="case-file"' in page
    assert "passport.png" in page and "birth-certificate.pdf" in page
    assert 'class="q-answers"' in page  # the consul answers here
    assert await _case_views(db) == 1  # opening the panel is audited like the case page
    spanish = await client.get(f"/session/{a.interview_id}", cookies={"consulink_lang": "es"})
    assert "Ver: " in await spanish.text() and "Cerrar el documento" in await spanish.text()

    client.session.cookie_jar.clear()
    await sign_in(client, "staff@example.org")
    page = await (await client.get(f"/session/{a.interview_id}")).text()
    assert "passport.png" in page
    assert 'class="q-answers"' not in page  # staff do not answer the consul's questionnaire

    client.session.cookie_jar.clear()
    await sign_in(client, "interpreter@example.org")
    page = await (await client.get(f"/session/{a.interview_id}")).text()
    assert 'id="case-file"' not in page and "passport.png" not in page

    # Nepal's consul may knock as a guest (same region) but sees no case data.
    client.session.cookie_jar.clear()
    await sign_in(client, "consul.np@example.org")
    response = await client.get(f"/session/{a.interview_id}")
    assert "passport.png" not in await response.text()

    # The consul's join link alone (not signed in here): told to sign in, shown nothing.
    client.session.cookie_jar.clear()
    response = await client.post(
        f"/api/sessions/{a.interview_id}/passes", json={"token": a.tokens["consul"]}
    )
    assert response.status == 200, await response.text()
    page = await (await client.get(f"/session/{a.interview_id}")).text()
    assert "Sign in in this browser to see the case file" in page
    assert "passport.png" not in page
    assert await _case_views(db) == 3  # the consul (twice) and the staff, nobody else


async def _join(page: Page, interview_id: int) -> None:
    await page.goto(f"/session/{interview_id}")
    await page.get_by_label("I understand the session is recorded").check()
    await page.get_by_role("button", name="Join", exact=True).click()


@pytest.mark.browser
@pytest.mark.slow
async def test_the_consul_reads_the_documents_and_saves_an_answer_during_the_call(
    media_browser: Browser,  # noqa: F811
    live_server: str,
    client: Client,
    db: Sessions,
    world: World,
    interviews: Interviews,
) -> None:
    a = interviews.a
    case_id = await _case_id(db, a.interview_id)
    await _file_the_case(client, db, world, case_id)
    host_context = await new_context(media_browser, live_server)
    consul_context = await new_context(media_browser, live_server)
    try:
        host = await host_context.new_page()
        await browser_sign_in(host, "staff@example.org")
        consul = await consul_context.new_page()
        await browser_sign_in(consul, "consul.in@example.org")
        await _join(host, a.interview_id)
        await _join(consul, a.interview_id)
        await host.get_by_role("button", name="Open the session").click()
        await consul.locator("#call").wait_for()
        await consul.locator("video.remote").first.wait_for(state="attached")

        panel = consul.get_by_role("region", name="Case file")
        await panel.get_by_role("button", name="View: Passport copy · passport.png").click()
        image = consul.locator("#document-image")
        await image.wait_for()
        await consul.wait_for_function(
            "() => document.getElementById('document-image').naturalWidth > 0"
        )
        assert await consul.evaluate("document.activeElement.id") == "document-viewer"
        await consul.keyboard.press("Escape")
        await image.wait_for(state="hidden")
        pdf = panel.get_by_role("button", name="View: Passport copy · birth-certificate.pdf")
        await pdf.click()
        frame = consul.locator("#document-frame")
        await frame.wait_for()
        assert await frame.get_attribute("src") == await pdf.get_attribute("data-src")

        # Keyboard: tick "Confirmed" for the full name and type a note, then save.
        await consul.locator("#s-full_name-confirmed").focus()
        await consul.keyboard.press("Space")
        await consul.locator("#n-full_name").fill("Matches the passport copy")
        url = consul.url
        await panel.get_by_role("button", name="Save the answers").click()
        await (
            consul.locator("#questionnaire-status")
            .get_by_text("The answers were saved.")
            .wait_for()
        )
        assert consul.url == url  # still in the call
        assert await consul.locator("#call").is_visible()
        verdict = await consul.locator("#questionnaire-result .q-verdict").inner_text()
        assert "1 of 20 parameters confirmed" in verdict

        # A second save from the same form works: it carries the new version.
        await consul.locator("#s-fathers_name-confirmed").check()
        await panel.get_by_role("button", name="Save the answers").click()
        await (
            consul.locator("#questionnaire-result")
            .get_by_text("2 of 20 parameters confirmed")
            .wait_for()
        )
    finally:
        await consul_context.close()
        await host_context.close()

    async with db() as session:
        view = await filled(session, case_id, world.india.id)
    assert view is not None
    assert view.answers["full_name"].status is AnswerStatus.CONFIRMED
    assert view.answers["full_name"].notes == "Matches the passport copy"
    assert view.answers["fathers_name"].status is AnswerStatus.CONFIRMED
