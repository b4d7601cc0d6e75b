"""Playback stories: a session recorded by the real server from aiortc participants is
played back by those entitled (facility staff, the consulate's consul), track by track with
byte ranges, with its transcript as WebVTT; everyone else is refused and every playback is
audited. Legal holds: set and cleared with a reason by staff or admins only.

Transcript lines are added as rows here: producing them needs the speech model, which
test_captions_call.py exercises; playback only reads them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import webvtt
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.audit import AuditEvent
from interviews.legal_holds import LegalHold
from interviews.sharing import CaseShare
from interviews.webvtt import timestamp
from scheduling.appointments import Interview
from signaling.records import Recording, recordings
from signaling.transcripts import TranscriptLine
from tests.conftest import Clock
from tests.test_scheduling_support import act_as
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    MediaParticipant,
    joined,
    media_participants,
    session_settings,
    two_interviews,
)
from web.keys import SETTINGS

CALL_S = 3.0


async def record_session(
    client: TestClient[Any, Any],
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
    *,
    video: bool = True,
) -> list[Recording]:
    """Staff and consul in interview A for a few seconds; the finished track rows."""
    a = interviews.a
    signals = [await joined(client, a, role) for role in ("staff", "consul")]
    await signals[0].send({"type": "open", "record_video": video})
    for signal in signals:
        await signal.expect("connect")
        participants.append(MediaParticipant(signal, video=True))
    await asyncio.gather(*(p.start() for p in participants))
    await asyncio.gather(*(p.connected() for p in participants))
    await asyncio.sleep(CALL_S)
    for signal in signals:
        await signal.send({"type": "leave"})
    expected = 4 if video else 2
    async with asyncio.timeout(15):
        while True:
            async with db() as session:
                rows = await recordings(session, a.interview_id)
            if len(rows) == expected and all(r.ended_at is not None for r in rows):
                return rows
            await asyncio.sleep(0.1)


async def add_transcript(
    db: async_sessionmaker[AsyncSession], interview_id: int, clock: Clock, rows: list[Recording]
) -> None:
    """Two transcript lines inside the recorded time, one with a Spanish translation."""
    speaker = rows[0]
    async with db() as session, session.begin():
        for offset_ms, text, translations in (
            (
                speaker.offset_ms + 200,
                "My name is Test Person",
                '{"spa": {"text": "Me llamo '
                'Test Person", "status": "translated", "engine": "apertium"}}',
            ),
            (speaker.offset_ms + 1500, "I was born in Amritsar", "{}"),
        ):
            session.add(
                TranscriptLine(
                    interview_id=interview_id,
                    at=clock.now,
                    offset_ms=offset_ms,
                    duration_ms=1200,
                    participant_id=speaker.participant_id,
                    peer_id=speaker.peer_id,
                    name="Staff",
                    language="eng",
                    text=text,
                    translations=translations,
                    confidence=0.9,
                )
            )


async def audit_count(db: async_sessionmaker[AsyncSession], action: str) -> int:
    async with db() as session:
        found = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        )
    return int(found or 0)


async def test_entitled_people_play_each_track_by_range_and_every_playback_is_audited(
    client: TestClient[Any, Any],
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
    clock: Clock,
    tmp_path: Any,
) -> None:
    rows = await record_session(client, interviews, participants, db)
    interview_id = interviews.a.interview_id
    await add_transcript(db, interview_id, clock, rows)
    audio = next(r for r in rows if r.kind == "audio")
    video = next(r for r in rows if r.kind == "video")

    await act_as(client, "staff@example.org")
    page = await client.get(f"/session/{interview_id}/playback")
    assert page.status == 200
    html = await page.text()
    for row in rows:
        assert f'src="/api/recordings/{row.id}/media"' in html
        assert f'data-offset-ms="{row.offset_ms}"' in html
    assert "transcript.vtt" in html and "I was born in Amritsar" in html
    assert await audit_count(db, "session.playback") == 1
    async with db() as session:
        interview = await session.get(Interview, interview_id)
        assert interview is not None
    case_page = await (await client.get(f"/cases/{interview.case_id}")).text()
    assert f'href="/session/{interview_id}/playback"' in case_page  # reached from the case
    # In Spanish, with the transcript's Spanish translation asked for in its <track>.
    client.session.cookie_jar.update_cookies({"consulink_lang": "es"})
    spanish = await (await client.get(f"/session/{interview_id}/playback")).text()
    client.session.cookie_jar.update_cookies({"consulink_lang": "en"})
    assert "Grabación de la sesión" in spanish and "Reproducir" in spanish
    assert "transcript.vtt?lang=spa" in spanish

    assert await audit_count(db, "session.playback") == 2
    await act_as(client, "consul.in@example.org")
    whole = await client.get(f"/api/recordings/{audio.id}/media")
    assert whole.status == 200
    assert whole.headers["Content-Type"] == "audio/ogg; codecs=opus"
    assert whole.headers["Accept-Ranges"] == "bytes"
    body = await whole.read()
    assert body[:4] == b"OggS"
    start = await client.get(f"/api/recordings/{video.id}/media", headers={"Range": "bytes=0-99"})
    assert start.status == 206
    assert start.headers["Content-Type"] == "video/webm; codecs=vp8"
    assert start.headers["Content-Range"].startswith("bytes 0-99/")
    assert (await start.read())[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WebM file
    # A seek further in is served but not audited again: the track's playback already was.
    seeked = await client.get(
        f"/api/recordings/{audio.id}/media", headers={"Range": f"bytes={len(body) // 2}-"}
    )
    assert seeked.status == 206
    assert await seeked.read() == body[len(body) // 2 :]
    assert await audit_count(db, "recording.play") == 2

    vtt = await client.get(f"/api/sessions/{interview_id}/transcript.vtt?lang=spa")
    assert vtt.status == 200 and vtt.content_type == "text/vtt"
    path = tmp_path / "t.vtt"
    path.write_text(await vtt.text())
    captions = webvtt.read(str(path))
    # On the session's timeline: where the speaker's track starts, plus the line's offset.
    assert [c.start for c in captions] == [
        timestamp(rows[0].offset_ms + 200),
        timestamp(rows[0].offset_ms + 1500),
    ]
    assert "Me llamo Test Person" in captions[0].text


async def test_a_download_from_any_offset_is_audited_and_seeks_within_ten_minutes_are_not(
    client: TestClient[Any, Any],
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    """Whoever takes a track's bytes is in the audit log, whatever range they ask for (a
    suffix range as long as the file, or everything but the first byte); a player seeking
    in a track it already fetched adds no rows until ten minutes have passed."""
    rows = await record_session(client, interviews, participants, db, video=False)
    track = rows[0]
    url = f"/api/recordings/{track.id}/media"
    size = (client.app[SETTINGS].data_dir / "recordings" / track.path).stat().st_size
    await act_as(client, "staff@example.org")
    whole = await client.get(url, headers={"Range": "bytes=-999999999"})
    assert whole.status in (200, 206) and len(await whole.read()) == size
    assert await audit_count(db, "recording.play") == 1
    seek = await client.get(url, headers={"Range": f"bytes={size // 2}-"})
    assert seek.status == 206
    assert await audit_count(db, "recording.play") == 1

    await act_as(client, "consul.in@example.org")
    rest = await client.get(url, headers={"Range": "bytes=1-"})
    assert rest.status == 206 and len(await rest.read()) == size - 1
    assert await audit_count(db, "recording.play") == 2
    clock.advance(minutes=11)
    again = await client.get(url, headers={"Range": f"bytes={size // 2}-"})
    assert again.status == 206
    assert await audit_count(db, "recording.play") == 3
    async with db() as session:
        who = await session.scalars(
            select(AuditEvent.user_name)
            .where(AuditEvent.action == "recording.play")
            .order_by(AuditEvent.id)
        )
        assert len(set(who)) == 2


async def test_others_are_refused_and_missing_things_are_404(
    client: TestClient[Any, Any],
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
) -> None:
    rows = await record_session(client, interviews, participants, db, video=False)
    interview_id = interviews.a.interview_id
    track = rows[0].id
    urls = (
        f"/session/{interview_id}/playback",
        f"/api/recordings/{track}/media",
        f"/api/sessions/{interview_id}/transcript.vtt",
    )
    # Another consulate's consul, the interpreter who was there, and an admin.
    for email in ("consul.np@example.org", "interpreter@example.org", "admin@example.org"):
        await act_as(client, email)
        for url in urls:
            response = await client.get(url)
            assert response.status == 403, (email, url)
    assert await audit_count(db, "session.playback") == 0
    assert await audit_count(db, "recording.play") == 0
    assert await audit_count(db, "auth.forbidden") >= 9

    # The consul of the interview's consulate, once the case's share is revoked.
    async with db() as session, session.begin():
        interview = await session.get(Interview, interview_id)
        assert interview is not None
        await session.execute(
            update(CaseShare)
            .where(CaseShare.case_id == interview.case_id)
            .values(revoked_at=func.now(), revoke_reason="identity established")
        )
    await act_as(client, "consul.in@example.org")
    for url in urls:
        assert (await client.get(url)).status == 403, url

    await act_as(client, "staff@example.org")
    assert (await client.get("/api/recordings/999999/media")).status == 404
    assert (await client.get("/session/999999/playback")).status == 404
    assert (await client.get("/api/sessions/999999/transcript.vtt")).status == 404
    # A track whose file is gone (e.g. deleted by hand) is a 404 too, not a 500.
    async with db() as session:
        row = await session.get(Recording, track)
        assert row is not None
    (client.app[SETTINGS].data_dir / "recordings" / row.path).unlink()
    assert (await client.get(f"/api/recordings/{track}/media")).status == 404


async def hold_rows(db: async_sessionmaker[AsyncSession]) -> list[LegalHold]:
    async with db() as session:
        return list((await session.scalars(select(LegalHold).order_by(LegalHold.id))).all())


async def test_legal_holds_are_set_and_cleared_with_a_reason_by_staff_or_admins_only(
    client: TestClient[Any, Any],
    interviews: Interviews,
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session:
        interview = await session.get(Interview, interviews.a.interview_id)
        assert interview is not None
        case_id = interview.case_id
    url = f"/api/cases/{case_id}/legal-hold"

    for email in ("consul.in@example.org", "interpreter@example.org"):
        csrf = await act_as(client, email)
        refused = await client.post(url, json={"reason": "x"}, headers={"X-CSRF-Token": csrf})
        assert refused.status == 403, email
        assert (await client.get(url)).status == 403
    assert await hold_rows(db) == []

    csrf = await act_as(client, "staff@example.org")
    headers = {"X-CSRF-Token": csrf}
    for body in ({}, {"reason": ""}, {"reason": "x" * 2001}, {"reason": "ok", "extra": 1}):
        bad = await client.post(url, json=body, headers=headers)
        assert bad.status == 400, body
    assert (await client.post(url, data="reason=x", headers=headers)).status == 415
    assert (
        await client.post("/api/cases/999999/legal-hold", json={"reason": "x"}, headers=headers)
    ).status == 404
    assert (
        await client.post(f"{url}/release", json={"reason": "no hold"}, headers=headers)
    ).status == 409
    assert await hold_rows(db) == []

    held = await client.post(url, json={"reason": "court order 12/2026"}, headers=headers)
    assert held.status == 201
    again = await client.post(url, json={"reason": "twice"}, headers=headers)
    assert again.status == 409
    state = await (await client.get(url)).json()
    assert state["held"] and state["hold"]["reason"] == "court order 12/2026"
    assert state["hold"]["set_by"] == "Staff"

    csrf = await act_as(client, "admin@example.org")
    released = await client.post(
        f"{url}/release", json={"reason": "order lifted"}, headers={"X-CSRF-Token": csrf}
    )
    assert released.status == 200
    rows = await hold_rows(db)
    assert len(rows) == 1 and not rows[0].active and rows[0].cleared_by_name == "Admin"
    assert await audit_count(db, "case.legal_hold.set") == 1
    assert await audit_count(db, "case.legal_hold.cleared") == 1

    # The case page's control, as staff use it.
    csrf = await act_as(client, "staff@example.org")
    form = await client.post(
        f"/cases/{case_id}/legal-hold",
        data={"csrf_token": csrf, "action": "set", "reason": "complaint filed"},
        allow_redirects=False,
    )
    assert form.status == 303
    page = await (await client.get(f"/cases/{case_id}")).text()
    assert "On legal hold" in page and "complaint filed" in page
    assert "Clear the hold" in page
    assert len(await hold_rows(db)) == 2


async def test_a_refused_hold_from_the_case_page_is_explained_in_spanish(
    client: TestClient[Any, Any],
    interviews: Interviews,
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session:
        interview = await session.get(Interview, interviews.a.interview_id)
        assert interview is not None
        case_id = interview.case_id
    csrf = await act_as(client, "staff@example.org")
    client.session.cookie_jar.update_cookies({"consulink_lang": "es"}, client.make_url("/"))

    async def hold(**form: str) -> tuple[int, str]:
        response = await client.post(
            f"/cases/{case_id}/legal-hold", data={"csrf_token": csrf, **form}
        )
        return response.status, await response.text()

    status, page = await hold(action="set", reason="  ")
    assert status == 400
    assert "Indique el motivo (una orden judicial, una apelación, una queja…)." in page
    assert "reason:" not in page and "Say why" not in page
    status, page = await hold(action="release", reason="nada que levantar")
    assert (status, "Este caso no está en retención legal." in page) == (409, True)
    assert (await hold(action="set", reason="queja presentada"))[0] == 200  # followed: the case
    status, page = await hold(action="set", reason="otra vez")
    assert (status, "Este caso ya está en retención legal." in page) == (409, True)
    status, page = await hold(action="forget", reason="x")
    assert (status, "Elija si establece o levanta la retención." in page) == (400, True)
    assert len(await hold_rows(db)) == 1
