"""Outcome and summary pages: the consul reaches the outcome form from the interview page
and the call page, saves it in English or Spanish, and each side acknowledges the summary
from its page; bad input comes back on the form and changes nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.cases import Case
from scheduling.appointments import Interview
from signaling.records import Recording
from tests.conftest import sign_in
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    joined,
    session_settings,
    two_interviews,
)
from tests.test_summaries import answer_questionnaire
from web.keys import JOB_RUNNER

FORM = {
    "identity": "confirmed",
    "nationality": "confirmed",
    "nationality_country": "IN",
    "travel_document": "pending",
    "next_steps": "Ask the family for a birth certificate.",
    "notes": "",
}


async def _case_status(db: async_sessionmaker[AsyncSession], interview_id: int) -> str:
    async with db() as session:
        interview = await session.get(Interview, interview_id)
        assert interview is not None
        case = await session.get(Case, interview.case_id)
        assert case is not None
        return case.status


async def _held(client: TestClient[Any, Any], interviews: Interviews) -> None:
    """A short session the host opens and ends, then its summary job runs."""
    host = await joined(client, interviews.a, "staff")
    consul = await joined(client, interviews.a, "consul")
    await host.send({"type": "open"})
    await consul.expect("admitted")
    await host.send({"type": "end"})
    await consul.closed()
    await client.app[JOB_RUNNER].run_due()


async def test_the_consul_records_the_outcome_and_both_sides_acknowledge_in_spanish(
    client: TestClient[Any, Any], interviews: Interviews, db: async_sessionmaker[AsyncSession]
) -> None:
    a = interviews.a
    await _held(client, interviews)
    await answer_questionnaire(client, db, a.interview_id)
    async with db() as session, session.begin():  # a video track, as the recorder leaves it
        session.add(
            Recording(
                interview_id=a.interview_id,
                participant_id=a.participants["consul"],
                peer_id="consul",
                kind="video",
                path=f"{a.interview_id}/consul-1-video.webm",
                content_type="video/webm",
                started_at=datetime.now(UTC),
                offset_ms=0,
            )
        )
    csrf = await sign_in(client, "consul.in@example.org")
    interview_page = await (await client.get(f"/scheduling/interviews/{a.interview_id}")).text()
    assert f'href="/interviews/{a.interview_id}/outcome"' in interview_page
    assert f'href="/interviews/{a.interview_id}/summary"' in interview_page

    client.session.cookie_jar.update_cookies({"consulink_lang": "es"}, client.make_url("/"))
    form = await client.get(f"/interviews/{a.interview_id}/outcome")
    assert form.status == 200
    text = await form.text()
    assert "Resultado de la entrevista" in text and 'for="identity-confirmed"' in text
    result = re.search(r'<p id="questionnaire-result">(.*?)</p>', text, re.S)
    assert result is not None
    assert " ".join(result.group(1).split()) == "Cumplido: 5 de 20 confirmados, 5 requeridos"

    saved = await client.post(
        f"/interviews/{a.interview_id}/outcome",
        data={**FORM, "csrf_token": csrf},
        allow_redirects=False,
    )
    assert saved.status == 303, await saved.text()
    page = await (await client.get(saved.headers["Location"])).text()
    assert "Resumen de la sesión" in page and "Versión 2 de 2" in page
    assert "Identidad confirmada" in page and "Resultado automático" in page
    assert "Cumplido — 5 de 20 confirmados, 5 requeridos" in page
    assert "Consul.In · video ·" in page
    assert await _case_status(db, a.interview_id) == "identity_confirmed"

    acknowledged = await client.post(
        f"/interviews/{a.interview_id}/summary/acknowledge",
        data={"version": "2", "csrf_token": csrf},
        allow_redirects=False,
    )
    assert acknowledged.status == 303
    page = await (await client.get(acknowledged.headers["Location"])).text()
    assert "conformidad de Consul.In" in page and 'id="acknowledge"' not in page

    # The facility's side, in English, sees the consul's acknowledgement and gives its own.
    await client.post("/logout", data={"csrf_token": csrf})
    client.session.cookie_jar.update_cookies({"consulink_lang": "en"}, client.make_url("/"))
    staff_csrf = await sign_in(client, "staff@example.org")
    page = await (await client.get(f"/interviews/{a.interview_id}/summary")).text()
    assert "Session summary" in page and 'id="acknowledge"' in page
    assert "acknowledged by Consul.In" in page
    done = await client.post(
        f"/interviews/{a.interview_id}/summary/acknowledge",
        data={"version": "2", "csrf_token": staff_csrf},
        allow_redirects=False,
    )
    assert done.status == 303
    old = await (await client.get(f"/interviews/{a.interview_id}/summary?version=1")).text()
    assert "A newer version exists." in old and old.count("not yet acknowledged") == 2


async def test_an_unknown_value_on_the_form_comes_back_and_changes_nothing(
    client: TestClient[Any, Any], interviews: Interviews, db: async_sessionmaker[AsyncSession]
) -> None:
    a = interviews.a
    csrf = await sign_in(client, "consul.in@example.org")
    before = await _case_status(db, a.interview_id)
    response = await client.post(
        f"/interviews/{a.interview_id}/outcome",
        data={**FORM, "travel_document": "maybe", "csrf_token": csrf},
    )
    assert response.status == 400
    text = await response.text()
    assert 'id="outcome-errors"' in text and 'id="e-travel_document"' in text
    assert "Ask the family for a birth certificate." in text  # what was typed is kept
    assert await _case_status(db, a.interview_id) == before
    summary = await (await client.get(f"/interviews/{a.interview_id}/summary")).text()
    assert 'id="no-summary"' in summary and "Outcome:" not in summary

    # In Spanish, each refused field is named and explained in Spanish, not by its code.
    client.session.cookie_jar.update_cookies({"consulink_lang": "es"}, client.make_url("/"))
    response = await client.post(
        f"/interviews/{a.interview_id}/outcome",
        data={**FORM, "travel_document": "maybe", "nationality_country": "XX", "csrf_token": csrf},
    )
    assert response.status == 400
    errors = re.search(r"<ul>(.*?)</ul>", (await response.text()).split('id="outcome-errors"')[1])
    assert errors is not None
    assert re.findall(r"<li>(.*?)</li>", errors.group(1)) == [
        "País de nacionalidad: No es un país conocido: indique su código ISO, como IN o IND.",
        "Documento de viaje: Elija una decisión sobre el documento de viaje.",
    ]
    assert await _case_status(db, a.interview_id) == before


async def test_others_are_refused_the_pages(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    a = interviews.a
    # (email, summary status, outcome form status)
    expected = [
        ("consul.np@example.org", 403, 403),  # another consulate
        ("interpreter@example.org", 403, 403),  # interpreters do not see summaries
        ("staff@example.org", 200, 403),  # the facility reads, but records no outcome
    ]
    for email, summary, outcome in expected:
        csrf = await sign_in(client, email)
        assert (await client.get(f"/interviews/{a.interview_id}/summary")).status == summary
        assert (await client.get(f"/interviews/{a.interview_id}/outcome")).status == outcome
        await client.post("/logout", data={"csrf_token": csrf})


async def test_the_call_page_links_the_consul_to_the_outcome_form(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    a = interviews.a
    await sign_in(client, "consul.in@example.org")
    call = await client.get(f"/session/{a.interview_id}")
    assert call.status == 200
    text = await call.text()
    assert f'href="/interviews/{a.interview_id}/outcome" target="_blank"' in text
