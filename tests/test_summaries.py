"""Session summary stories: a real session (aiortc participants sending media to the
server, chat, a connection-quality report) ended by the host gets a summary with who was
there when, the chat and the consul's outcome; a session nobody ends gets one after the
scheduled end plus the grace period, exactly once across restarts; a later outcome makes
a new version and keeps the old; each side acknowledges a version.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews import accounts
from interviews.accounts import Role
from interviews.audit import AuditEvent
from interviews.case_status import status_history
from interviews.cases import Case
from interviews.questionnaire_demo import INDIA
from interviews.summaries import (
    SummaryAcknowledgement,
    SummaryVersion,
    canonical_json,
    current_summary,
    delete_summaries,
    summarised_interviews,
)
from interviews.summary_assembly import assemble_summary
from scheduling.appointments import Interview
from signaling.captions.events import Caption, Translation
from signaling.records import recordings
from signaling.transcripts import transcript_line
from tests.conftest import Clock
from tests.test_cases_support import bearer
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    MediaParticipant,
    connect,
    joined,
    media_participants,
    session_settings,
    two_interviews,
)
from web.app import create_app
from web.keys import CLOCK, JOB_RUNNER
from web.settings import Settings

OUTCOME = {
    "identity": "confirmed",
    "nationality": "confirmed",
    "nationality_country": "IN",
    "travel_document": "issue",
    "next_steps": "Emergency certificate within 10 days.",
    "notes": "Recognised the village school and the district.",
}


async def _versions(db: async_sessionmaker[AsyncSession], interview_id: int) -> list[int]:
    async with db() as session:
        rows = await session.scalars(
            select(SummaryVersion.version)
            .where(SummaryVersion.interview_id == interview_id)
            .order_by(SummaryVersion.version)
        )
        return list(rows)


async def _until_recorded(
    db: async_sessionmaker[AsyncSession], interview_id: int, count: int
) -> None:
    """Wait (bounded) until the server has its first frame of `count` tracks."""
    for _ in range(300):
        async with db() as session:
            if len(await recordings(session, interview_id)) >= count:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the server recorded nothing")


def _seconds(person: dict[str, Any], until: str) -> int:
    """A person's time in the session from their periods (an open one runs to `until`)."""
    return round(
        sum(
            (
                datetime.fromisoformat(period["left_at"] or until)
                - datetime.fromisoformat(period["joined_at"])
            ).total_seconds()
            for period in person["periods"]
        )
    )


async def answer_questionnaire(
    client: TestClient[Any, Any], db: async_sessionmaker[AsyncSession], interview_id: int
) -> None:
    """The interview's consulate defines the demo questionnaire (5 of 20 confirmed needed) and
    its consul answers it through the API: five parameters confirmed, one not."""
    consul = await bearer(db, "consul.in@example.org")
    async with db() as session:
        interview = await session.get(Interview, interview_id)
        assert interview is not None
    defined = await client.put(
        f"/api/consulates/{interview.consulate_id}/questionnaire", json=INDIA, headers=consul
    )
    assert defined.status == 200, await defined.text()
    confirmed = ["full_name", "fathers_name", "mothers_name", "village_town", "district"]
    answers = [{"key": key, "status": "confirmed", "notes": "matches"} for key in confirmed]
    answers.append({"key": "school", "status": "not_confirmed", "notes": "unsure"})
    saved = await client.put(
        f"/api/cases/{interview.case_id}/questionnaire/answers",
        json={"answers": answers},
        headers=consul,
    )
    assert saved.status == 200, await saved.text()


async def _case(db: async_sessionmaker[AsyncSession], interview_id: int) -> Case:
    async with db() as session:
        interview = await session.get(Interview, interview_id)
        assert interview is not None
        case = await session.get(Case, interview.case_id)
        assert case is not None
        return case


async def test_a_session_ended_by_the_host_gets_a_summary_with_people_chat_and_outcome(
    client: TestClient[Any, Any],
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")
    interpreter = await joined(client, a, "interpreter")
    await host.send({"type": "open", "record_video": False})
    for signal in (host, consul):
        await signal.expect("connect")
        participants.append(MediaParticipant(signal, video=False))
    await asyncio.gather(*(p.start() for p in participants))
    await asyncio.gather(*(p.connected() for p in participants))

    await _until_recorded(db, a.interview_id, 2)
    await consul.send({"type": "chat", "text": "Can you hear me?"})
    await interpreter.expect("chat")
    # The page reports every 10 s; one report per peer every 5 s is kept.
    await interpreter.send({"type": "quality", "peer": consul.peer, "level": "poor"})
    for _ in range(2):  # the interpreter's link to the consul failed twice and was restarted
        await interpreter.send({"type": "restart", "peer": consul.peer})
        clock.advance(seconds=10)
        await interpreter.send({"type": "ping"})
        await interpreter.expect("pong")
    await interpreter.send({"type": "quality", "peer": consul.peer, "level": "good"})
    await interpreter.send({"type": "ping"})
    await interpreter.expect("pong")  # the reports are in before the consul saves
    await answer_questionnaire(client, db, a.interview_id)

    # The consul records the outcome during the call.
    consul_api = await bearer(db, "consul.in@example.org")
    saved = await client.put(
        f"/api/interviews/{a.interview_id}/outcome", json=OUTCOME, headers=consul_api
    )
    assert saved.status == 200, await saved.text()
    body = await saved.json()
    assert body["case_status"] == "identity_confirmed"
    assert body["summary_version"] is None  # no summary yet: the session is still going

    await host.send({"type": "end"})
    await consul.closed()
    await client.app[JOB_RUNNER].run_due()

    staff_api = await bearer(db, "staff@example.org")
    response = await client.get(f"/api/interviews/{a.interview_id}/summary", headers=staff_api)
    assert response.status == 200, await response.text()
    summary = await response.json()
    assert summary["version"] == 1 and summary["reason"] == "ended"
    document = summary["document"]
    assert document["format"] == "consulink-summary/1" and document["version"] == 1
    assert document["case"]["reference"] == "A-1"
    assert document["interview"]["status"] == "held"
    assert document["interview"]["closed_at"] is not None
    people = {p["role"]: p for p in document["participants"]}
    assert set(people) == {"facility", "consul", "interpreter"}
    assert people["consul"]["organisation"] == "Embassy of India, Washington DC"
    assert people["facility"]["organisation"] == "Estación Migratoria Siglo XXI"
    for person in people.values():
        [period] = person["periods"]
        assert period["joined_at"] <= period["left_at"] == document["interview"]["closed_at"]
        assert person["reconnects"] == 0
        assert person["seconds"] == _seconds(person, document["generated_at"])
    # The host joined first and everyone stayed to the end: the facility was there longest.
    assert people["facility"]["seconds"] >= people["consul"]["seconds"] >= 0
    assert people["interpreter"]["ice_restarts"] == 2
    assert people["consul"]["ice_restarts"] == people["facility"]["ice_restarts"] == 0
    # The questionnaire as it stood: the result only (the consul's notes stay with the case).
    questionnaire = document["questionnaire"]
    assert questionnaire["consulate_name"] == "Embassy of India, Washington DC"
    assert questionnaire["questionnaire"] == {
        "name": INDIA["name"],
        "version": 1,
        "current_version": 1,
        "outdated": False,
    }
    assert (questionnaire["version"], questionnaire["updated_by_name"]) == (1, "Consul.In")
    assert questionnaire["updated_at"].endswith("Z")
    assert questionnaire["result"] == {
        "met": True,
        "confirmed": 5,
        "not_confirmed": 1,
        "not_asked": 14,
        "total": 20,
        "required": 5,
        "needed": 0,
        "still_possible": True,
    }
    assert "answers" not in questionnaire
    [poor] = people["interpreter"]["poor_quality"]
    assert poor["from"] <= poor["to"]
    assert people["consul"]["poor_quality"] == []
    assert [(m["name"], m["text"]) for m in document["chat"]] == [("Consul", "Can you hear me?")]
    assert document["outcome"]["identity"] == "confirmed"
    assert document["outcome"]["recorded_by"] == "Consul.In"
    assert {r["participant"] for r in document["recordings"]} == {"Staff", "Consul.In"}
    assert all(r["kind"] == "audio" for r in document["recordings"])

    # The stored bytes are the canonical form of the document.
    async with db() as session:
        stored = await current_summary(session, a.interview_id)
        assert stored is not None
        assert stored.document_json.encode() == canonical_json(stored.document)
    # The case walked its path one recorded step at a time.
    async with db() as session:
        history = await status_history(session, (await _case(db, a.interview_id)).id)
    assert [(h.from_status, h.to_status) for h in history] == [
        ("open", "interview_requested"),
        ("interview_requested", "interview_held"),
        ("interview_held", "identity_confirmed"),
    ]

    # Another consulate's consul may not see it; nor may the interpreter.
    for email in ("consul.np@example.org", "interpreter@example.org"):
        denied = await client.get(
            f"/api/interviews/{a.interview_id}/summary", headers=await bearer(db, email)
        )
        assert denied.status == 403, email


async def _everyone_leaves(client: TestClient[Any, Any], interviews: Interviews) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")
    await host.send({"type": "open"})
    await consul.expect("admitted")
    for signal in (consul, host):
        await signal.send({"type": "leave"})
        await signal.closed()
    await client.app[JOB_RUNNER].run_due()


async def test_a_later_outcome_makes_a_new_version_and_acknowledgements_stay_with_theirs(
    client: TestClient[Any, Any],
    interviews: Interviews,
    db: async_sessionmaker[AsyncSession],
) -> None:
    a = interviews.a
    await _everyone_leaves(client, interviews)
    assert await _versions(db, a.interview_id) == [1]
    consul_api = await bearer(db, "consul.in@example.org")
    staff_api = await bearer(db, "staff@example.org")
    base = f"/api/interviews/{a.interview_id}/summary"
    first = await (await client.get(base, headers=consul_api)).json()
    assert first["reason"] == "left" and first["document"]["outcome"] is None

    acknowledged = await client.post(f"{base}/versions/1/acknowledgements", headers=consul_api)
    assert acknowledged.status == 201, await acknowledged.text()
    again = await client.post(f"{base}/versions/1/acknowledgements", headers=consul_api)
    assert again.status == 409

    saved = await client.put(
        f"/api/interviews/{a.interview_id}/outcome",
        json={**OUTCOME, "identity": "more_information_needed", "travel_document": "pending"},
        headers=consul_api,
    )
    assert saved.status == 200, await saved.text()
    assert (await saved.json())["summary_version"] == 2
    assert await _versions(db, a.interview_id) == [1, 2]

    # Version 1 is kept as it was, with its acknowledgement; version 2 has none yet.
    old = await (await client.get(f"{base}/versions/1", headers=staff_api)).json()
    assert old["document"] == first["document"] and old["sha256"] == first["sha256"]
    assert [a["party"] for a in old["acknowledgements"]] == ["consul"]
    new = await (await client.get(base, headers=staff_api)).json()
    assert new["version"] == 2 and new["reason"] == "outcome"
    assert new["document"]["outcome"]["identity"] == "more_information_needed"
    assert new["acknowledgements"] == []
    assert new["document"]["participants"] == first["document"]["participants"]

    done = await client.post(f"{base}/versions/2/acknowledgements", headers=staff_api)
    assert done.status == 201
    listed = await (await client.get(f"{base}/versions", headers=staff_api)).json()
    assert [
        (v["version"], [a["party"] for a in v["acknowledgements"]]) for v in listed["items"]
    ] == [
        (2, ["facility"]),
        (1, ["consul"]),
    ]
    async with db() as session:
        audited = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "summary.acknowledge")
        )
        assert sorted((e.details["version"], e.details["party"]) for e in audited) == [
            (1, "consul"),
            (2, "facility"),
        ]


async def test_the_transcript_is_kept_as_machine_output_with_the_translations_made(
    client: TestClient[Any, Any],
    interviews: Interviews,
    db: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    """Transcript rows are written as the caption pipeline writes them (`transcript_line`
    from a final `Caption`); the pipeline itself is tested in test_captions_call.py."""
    a = interviews.a
    await _everyone_leaves(client, interviews)
    said = Caption(
        session_id="s",
        speaker="p1",
        language="eng",
        offset_s=12.5,
        duration_s=2.0,
        text="Which village are you from?",
        confidence=0.8,
        translations={
            "spa": Translation("spa", "¿De qué pueblo es usted?", "translated", "apertium"),
            "pan": Translation("pan", "Which village are you from?", "missing"),
            "eng": Translation("eng", "Which village are you from?", "same"),
        },
    )
    async with db() as session, session.begin():
        session.add(
            transcript_line(
                a.interview_id,
                said,
                clock.now,
                participant_id=a.participants["consul"],
                user_id=None,
                peer_id="p1",
                name="Consul",
            )
        )
        await assemble_summary(session, a.interview_id, reason="refresh", now=clock.now)
    consul_api = await bearer(db, "consul.in@example.org")
    summary = await (
        await client.get(f"/api/interviews/{a.interview_id}/summary", headers=consul_api)
    ).json()
    assert summary["version"] == 2
    [line] = summary["document"]["transcript"]
    assert line == {
        "offset_ms": 12500,
        "duration_ms": 2000,
        "at": clock.now.isoformat().replace("+00:00", "Z"),
        "speaker": "Consul",
        "role": "consul",
        "language": "eng",
        "text": "Which village are you from?",
        "translations": {"spa": "¿De qué pueblo es usted?"},  # not the missing one
        "machine": True,
    }


async def test_bad_input_is_refused_and_changes_nothing(
    client: TestClient[Any, Any],
    interviews: Interviews,
    db: async_sessionmaker[AsyncSession],
) -> None:
    a = interviews.a
    await _everyone_leaves(client, interviews)
    consul_api = await bearer(db, "consul.in@example.org")
    before = (await _case(db, a.interview_id)).status

    # An unknown value: 400 naming the field, no outcome saved, the case status unchanged.
    wrong = await client.put(
        f"/api/interviews/{a.interview_id}/outcome",
        json={**OUTCOME, "identity": "probably"},
        headers=consul_api,
    )
    assert wrong.status == 400
    assert [d["field"] for d in (await wrong.json())["error"]["details"]] == ["identity"]
    current = await (
        await client.get(f"/api/interviews/{a.interview_id}/outcome", headers=consul_api)
    ).json()
    assert current == {"outcome": None, "case_status": before}
    assert (await _case(db, a.interview_id)).status == before
    assert await _versions(db, a.interview_id) == [1]

    # Another consulate's consul: 403 on the summary and on the outcome.
    nepal = await bearer(db, "consul.np@example.org")
    assert (
        await client.get(f"/api/interviews/{a.interview_id}/summary", headers=nepal)
    ).status == 403
    assert (
        await client.put(f"/api/interviews/{a.interview_id}/outcome", json=OUTCOME, headers=nepal)
    ).status == 403

    # A consul of the right consulate who did not take part may read but not acknowledge.
    async with db() as session, session.begin():
        interview = await session.get(Interview, a.interview_id)
        assert interview is not None
        await accounts.create_user(
            session,
            email="consul2.in@example.org",
            name="Second Consul",
            role=Role.CONSUL,
            password="correct horse battery",
            consulate_id=interview.consulate_id,
        )
    absent = await bearer(db, "consul2.in@example.org")
    base = f"/api/interviews/{a.interview_id}/summary"
    assert (await client.get(base, headers=absent)).status == 200
    refused = await client.post(f"{base}/versions/1/acknowledgements", headers=absent)
    assert refused.status == 403
    listed = await (await client.get(f"{base}/versions", headers=absent)).json()
    assert listed["items"][0]["acknowledgements"] == []


@pytest.fixture
def start_app(settings: Settings, clock: Clock) -> Callable[[], Any]:
    """Start the real app on a real port: each call is a fresh server process's state."""

    async def start() -> TestClient[Any, Any]:
        application: web.Application = create_app(settings)
        application[CLOCK] = clock
        started: TestClient[Any, Any] = TestClient(TestServer(application))
        await started.start_server()
        return started

    return start


@pytest.fixture
async def stopper() -> AsyncIterator[list[TestClient[Any, Any]]]:
    """Clients to close at the end, whatever happened."""
    running: list[TestClient[Any, Any]] = []
    yield running
    for started in running:
        await started.close()


async def test_a_session_nobody_ends_is_summarised_after_the_grace_period_once_across_restarts(
    client: TestClient[Any, Any],
    interviews: Interviews,
    db: async_sessionmaker[AsyncSession],
    clock: Clock,
    start_app: Callable[[], Any],
    stopper: list[TestClient[Any, Any]],
) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")
    await host.send({"type": "open"})
    await consul.expect("admitted")
    # The consul reloads the page: the new connection replaces the old (one reconnect).
    again = await connect(client, a.interview_id, a.tokens["consul"], "Consul", rejoin=True)
    assert (await again.expect("welcome"))["admitted"] is True
    assert await consul.closed() == 4409
    consul = again
    await consul.send({"type": "chat", "text": "Hello"})
    await host.expect("chat")
    # Nobody ends it or leaves; before the end plus grace, nothing is assembled.
    clock.advance(minutes=5 + 60 + 29)
    await client.app[JOB_RUNNER].run_due()
    assert await _versions(db, a.interview_id) == []

    # The server stops (people dropped by a shutdown have not "left"), and starts again
    # after the grace period: the pending job is still there and runs once.
    await client.close()
    assert await _versions(db, a.interview_id) == []
    clock.advance(minutes=2)
    first = await start_app()
    stopper.append(first)
    await first.app[JOB_RUNNER].run_due()
    assert await _versions(db, a.interview_id) == [1]
    async with db() as session:
        stored = await current_summary(session, a.interview_id)
        assert stored is not None and stored.reason == "grace"
        document = stored.document
    assert [m["text"] for m in document["chat"]] == ["Hello"]
    people = {p["role"]: p for p in document["participants"]}
    assert set(people) == {"facility", "consul"}
    assert people["consul"]["reconnects"] == 1 and len(people["consul"]["periods"]) == 2
    assert people["facility"]["reconnects"] == 0
    # Nobody left or ended it: the open periods count up to the assembly (the grace run).
    assert all(person["periods"][-1]["left_at"] is None for person in people.values())
    for person in people.values():
        assert person["seconds"] == _seconds(person, document["generated_at"])
    assert people["facility"]["seconds"] >= (5 + 60 + 30) * 60  # from the start to the run
    assert document["questionnaire"] is None  # never started
    await first.close()

    second = await start_app()
    stopper.append(second)
    await second.app[JOB_RUNNER].run_due()
    await asyncio.sleep(0.2)  # give a wrongly repeated assembly the chance to show itself
    assert await _versions(db, a.interview_id) == [1]


def test_the_grace_period_is_the_settings_value(settings: Settings) -> None:
    assert settings.summary_grace_minutes == 30
    assert timedelta(minutes=settings.summary_grace_minutes) == timedelta(minutes=30)


async def test_retention_can_find_and_delete_a_cases_summaries(
    client: TestClient[Any, Any],
    interviews: Interviews,
    db: async_sessionmaker[AsyncSession],
) -> None:
    """What the retention job calls once a case's summaries have outlived their period."""
    a = interviews.a
    await _everyone_leaves(client, interviews)
    consul_api = await bearer(db, "consul.in@example.org")
    await client.post(
        f"/api/interviews/{a.interview_id}/summary/versions/1/acknowledgements",
        headers=consul_api,
    )
    await client.put(f"/api/interviews/{a.interview_id}/outcome", json=OUTCOME, headers=consul_api)
    case_id = (await _case(db, a.interview_id)).id
    async with db() as session, session.begin():
        assert await summarised_interviews(session, case_id) == [(a.interview_id, 2)]
        assert await delete_summaries(session, a.interview_id) == 2
    async with db() as session:
        assert await summarised_interviews(session, case_id) == []
        assert (await session.scalars(select(SummaryAcknowledgement))).all() == []
