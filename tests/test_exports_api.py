"""Export downloads over the API: each format sealed and audited, the public key published
to anyone, and refusals (another consulate, the interpreter, no sign-in, no such version,
no font, a revoked share) that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.audit import AuditEvent
from interviews.outcomes import InterviewOutcome
from interviews.seal import load_public_key, read_signing_key
from interviews.sharing import active_share, revoke_share
from interviews.summaries import SummaryAcknowledgement
from interviews.verify import verify_export
from scheduling.appointments import Interview
from tests.conftest import sign_in
from tests.test_cases_support import bearer
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    joined,
    session_settings,
    two_interviews,
)
from web.keys import JOB_RUNNER, SETTINGS

FORMATS = {
    "pdf": "application/pdf",
    "html": "text/html",
    "vtt": "text/vtt",
    "json": "application/json",
}


async def _summarised(client: TestClient[Any, Any], interviews: Interviews) -> int:
    """Interview A held and left by everyone: its summary's version 1 exists."""
    a = interviews.a
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")
    await host.send({"type": "open"})
    await consul.expect("admitted")
    for signal in (consul, host):
        await signal.send({"type": "leave"})
        await signal.closed()
    await client.app[JOB_RUNNER].run_due()
    return a.interview_id


async def _exports_audited(db: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    async with db() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "summary.export").order_by(AuditEvent.id)
        )
        return [{"user": e.user_name, **e.details} for e in rows]


async def test_each_format_downloads_sealed_verifies_and_is_audited(
    client: TestClient[Any, Any], interviews: Interviews, db: async_sessionmaker[AsyncSession]
) -> None:
    interview_id = await _summarised(client, interviews)
    published = await client.get("/api/records/public-key")  # no sign-in needed
    assert published.status == 200
    key_info = await published.json()
    assert key_info["algorithm"] == "Ed25519"
    public = load_public_key(key_info["pem"].encode())
    assert load_public_key(key_info["public_key"].encode()) == public

    # The key was made on first start, private to the service account, and is the one
    # the API publishes.
    data_dir: Path = client.app[SETTINGS].data_dir
    key_file = data_dir / "signing.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert read_signing_key(key_file).public_key() == public

    staff = await bearer(db, "staff@example.org")
    for fmt, media_type in FORMATS.items():
        response = await client.get(
            f"/api/interviews/{interview_id}/summary/exports/{fmt}", headers=staff
        )
        assert response.status == 200, await response.text()
        assert response.content_type == media_type
        assert response.headers["Content-Disposition"].startswith(
            f'attachment; filename="consulink-summary-{interview_id}-v1.{fmt}"'
        )
        assert response.headers["Cache-Control"] == "no-store"
        report = verify_export(await response.read(), [public], data_dir)
        assert report.ok, (fmt, report.problems)

    audited = await _exports_audited(db)
    assert [(e["user"], e["format"], e["version"]) for e in audited] == [
        ("Staff", fmt, 1) for fmt in FORMATS
    ]
    assert len({e["summary_sha256"] for e in audited}) == 1  # one summary, four exports

    # A named version, by the consul of the interview's consulate.
    consul = await bearer(db, "consul.in@example.org")
    response = await client.get(
        f"/api/interviews/{interview_id}/summary/versions/1/exports/vtt", headers=consul
    )
    assert response.status == 200
    assert (await response.text()).startswith("WEBVTT")
    assert len(await _exports_audited(db)) == len(FORMATS) + 1


async def test_refusals_change_nothing_and_are_not_exports(
    client: TestClient[Any, Any], interviews: Interviews, db: async_sessionmaker[AsyncSession]
) -> None:
    interview_id = await _summarised(client, interviews)
    base = f"/api/interviews/{interview_id}/summary"
    for email in ("consul.np@example.org", "interpreter@example.org"):
        headers = await bearer(db, email)
        for path in (f"{base}/exports/pdf", f"{base}/versions/1/exports/json"):
            response = await client.get(path, headers=headers)
            assert response.status == 403, (email, path)
    assert (await client.get(f"{base}/exports/json")).status == 401
    staff = await bearer(db, "staff@example.org")
    assert (await client.get(f"{base}/versions/9/exports/json", headers=staff)).status == 404
    assert (await client.get(f"{base}/exports/docx", headers=staff)).status == 404
    other = interviews.b.interview_id  # booked, never held: no summary
    response = await client.get(f"/api/interviews/{other}/summary/exports/pdf", headers=staff)
    assert response.status == 404
    assert (
        await client.get("/api/interviews/999999/summary/exports/pdf", headers=staff)
    ).status == 404

    # The operator's font is gone: PDF exports say which font is missing; others still work.
    client.app[SETTINGS].export_font = Path("/nonexistent/font.ttf")
    response = await client.get(f"{base}/exports/pdf", headers=staff)
    assert response.status == 503
    assert "/nonexistent/font.ttf" in (await response.json())["error"]["message"]
    assert await _exports_audited(db) == []
    assert (await client.get(f"{base}/exports/html", headers=staff)).status == 200
    async with db() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "summary.export")
        )
    assert count == 1


async def test_the_summary_page_links_each_export(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    interview_id = await _summarised(client, interviews)
    await sign_in(client, "staff@example.org")
    page = await (await client.get(f"/interviews/{interview_id}/summary")).text()
    for fmt in FORMATS:
        assert f'href="/api/interviews/{interview_id}/summary/versions/1/exports/{fmt}"' in page
    assert 'href="/api/records/public-key"' in page


async def test_a_consul_whose_share_was_revoked_loses_the_summary_exports_and_outcome(
    client: TestClient[Any, Any], interviews: Interviews, db: async_sessionmaker[AsyncSession]
) -> None:
    """Recording an asylum claim revokes the case's shares; from then on the consul of the
    interview's consulate may not read its records, nor record or acknowledge anything."""
    interview_id = await _summarised(client, interviews)
    async with db() as session, session.begin():
        interview = await session.get(Interview, interview_id)
        assert interview is not None
        share = await active_share(session, interview.case_id, interview.consulate_id)
        assert share is not None
        await revoke_share(session, share, "asylum claim", actor=None, now=datetime.now(UTC))
    before = await _records_audited(db)
    consul = await bearer(db, "consul.in@example.org")
    base = f"/api/interviews/{interview_id}"
    for path in (
        f"{base}/summary",
        f"{base}/summary/versions",
        f"{base}/summary/exports/json",
        f"{base}/summary/versions/1/exports/pdf",
        f"{base}/outcome",
    ):
        assert (await client.get(path, headers=consul)).status == 403, path
    outcome = {
        "identity": "not_confirmed",
        "nationality": "not_confirmed",
        "travel_document": "refuse",
    }
    put = await client.put(f"{base}/outcome", json=outcome, headers=consul)
    assert put.status == 403, await put.text()
    ack = await client.post(f"{base}/summary/versions/1/acknowledgements", headers=consul)
    assert ack.status == 403, await ack.text()
    await sign_in(client, "consul.in@example.org")
    for page in (f"/interviews/{interview_id}/summary", f"/interviews/{interview_id}/outcome"):
        assert (await client.get(page)).status == 403, page
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(InterviewOutcome)) == 0
        assert await session.scalar(select(func.count()).select_from(SummaryAcknowledgement)) == 0
    assert await _records_audited(db) == before


async def _records_audited(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as session:
        # Refusals and sign-ins are audited too (auth.*); the records' own actions are not.
        query = select(func.count()).where(AuditEvent.action.not_like("auth.%"))
        return await session.scalar(query) or 0
