"""Staff share a case with a consulate as an explicit, recorded and revocable act; a consulate
sees only what is shared with it, only while shared; asylum claimants are protected."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from interviews import accounts
from interviews.sharing import CaseShare, name_supervisor
from tests.conftest import World
from tests.test_cases_support import (
    Client,
    Sessions,
    audit_rows,
    bearer,
    new_case,
    share_with,
)
from web.cli import main
from web.settings import Settings


async def _shares(db: Sessions) -> list[CaseShare]:
    async with db() as session:
        return list((await session.scalars(select(CaseShare).order_by(CaseShare.id))).all())


async def test_a_share_records_purpose_and_consent_and_is_listed_on_the_case(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    response = await share_with(client, staff, case["id"], world.india.id)
    assert response.status == 201, await response.text()
    share = await response.json()
    assert share["legal_basis"] == "consent" and share["active"] is True
    listed = await (await client.get(f"/api/cases/{case['id']}/shares", headers=staff)).json()
    assert [(s["consulate_name"], s["purpose"]) for s in listed["items"]] == [
        ("Embassy of India, Washington DC", "Identification interview")
    ]
    again = await share_with(client, staff, case["id"], world.india.id)
    assert again.status == 409
    rows = await audit_rows(db, "case.share")
    assert [(row.user_id, row.details["consulate_id"]) for row in rows] == [
        (world.staff.id, world.india.id)
    ]


async def test_missing_purpose_or_legal_basis_is_refused_and_nothing_is_shared(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    extra: dict[str, Any]
    for extra, field in [
        ({"purpose": ""}, "purpose"),
        ({"legal_basis": "because"}, "legal_basis"),
        ({"legal_basis_note": ""}, "legal_basis_note"),
        ({"consulate_id": 999}, "consulate_id"),
    ]:
        consulate = extra.pop("consulate_id", world.india.id)
        response = await share_with(client, staff, case["id"], consulate, **extra)
        assert response.status == 400, field
        assert field in str((await response.json())["error"]["details"])
    assert await _shares(db) == []


async def test_a_consul_of_another_consulate_cannot_read_the_shared_case(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    await share_with(client, staff, case["id"], world.india.id)
    nepal = await bearer(db, "consul.np@example.org")
    for url in (f"/api/cases/{case['id']}", f"/api/cases/{case['id']}/documents"):
        assert (await client.get(url, headers=nepal)).status == 403
    assert (await (await client.get("/api/cases", headers=nepal)).json())["items"] == []
    india = await bearer(db, "consul.in@example.org")
    assert (await client.get(f"/api/cases/{case['id']}", headers=india)).status == 200
    # Consuls never list or make shares themselves.
    assert (await client.get(f"/api/cases/{case['id']}/shares", headers=india)).status == 403
    assert (await share_with(client, india, case["id"], world.nepal.id)).status == 403


async def test_after_revocation_the_consul_loses_access_at_once(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    share = await (await share_with(client, staff, case["id"], world.india.id)).json()
    consul = await bearer(db, "consul.in@example.org")
    assert (await client.get(f"/api/cases/{case['id']}", headers=consul)).status == 200
    url = f"/api/cases/{case['id']}/shares/{share['id']}/revoke"
    no_reason = await client.post(url, json={"reason": ""}, headers=staff)
    assert no_reason.status == 400
    revoked = await client.post(url, json={"reason": "Person withdrew consent"}, headers=staff)
    assert revoked.status == 200
    assert (await revoked.json())["revoke_reason"] == "Person withdrew consent"
    assert (await client.get(f"/api/cases/{case['id']}", headers=consul)).status == 403
    assert (await (await client.get("/api/cases", headers=consul)).json())["items"] == []
    twice = await client.post(url, json={"reason": "again"}, headers=staff)
    assert twice.status == 409
    revokes = await audit_rows(db, "case.revoke")
    assert [row.note for row in revokes] == ["Person withdrew consent"]
    # Shown on the case, revoked but kept as a record.
    listed = await (await client.get(f"/api/cases/{case['id']}/shares", headers=staff)).json()
    assert listed["items"][0]["active"] is False
    # Sharing again is a new, explicit act.
    assert (await share_with(client, staff, case["id"], world.india.id)).status == 201
    assert (await client.get(f"/api/cases/{case['id']}", headers=consul)).status == 200


async def test_an_asylum_case_is_not_shared_with_the_country_fled_without_a_supervisor(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff, asylum_claim=True)
    refused = await share_with(
        client, staff, case["id"], world.india.id, supervisor_justification="x" * 40
    )
    assert refused.status == 403
    assert "supervisor" in (await refused.json())["error"]["message"]
    # Another country's consulate is not the one the person flees.
    assert (await share_with(client, staff, case["id"], world.nepal.id)).status == 201

    async with db() as session, session.begin():
        user = await accounts.find_user(session, "staff@example.org")
        assert user is not None
        await name_supervisor(session, user)
    short = await share_with(client, staff, case["id"], world.india.id)
    assert short.status == 400
    assert "supervisor_justification" in str((await short.json())["error"]["details"])
    justification = "Person asked for the consulate to confirm nationality for a family visa"
    allowed = await share_with(
        client, staff, case["id"], world.india.id, supervisor_justification=justification
    )
    assert allowed.status == 201
    assert (await allowed.json())["supervisor_justification"] == justification
    shares = await _shares(db)
    assert [(s.consulate_id, s.supervisor_id) for s in shares] == [
        (world.nepal.id, None),
        (world.india.id, world.staff.id),
    ]
    forbidden = await audit_rows(db, "auth.forbidden")
    assert forbidden and forbidden[-1].details["action"] == "case.share"


async def test_an_admin_counts_as_supervisor(client: Client, db: Sessions, world: World) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff, asylum_claim=True, other_nationalities=["NP"])
    admin = await bearer(db, "admin@example.org")
    # Other possible nationalities are protected too.
    assert (await share_with(client, staff, case["id"], world.nepal.id)).status == 403
    response = await share_with(
        client,
        admin,
        case["id"],
        world.nepal.id,
        supervisor_justification="Court order 123/2026 requires consular notification",
    )
    assert response.status == 201


async def test_recording_an_asylum_claim_revokes_unjustified_shares_with_that_country(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    await share_with(client, staff, case["id"], world.india.id)
    await share_with(client, staff, case["id"], world.nepal.id)
    consul = await bearer(db, "consul.in@example.org")
    assert (await client.get(f"/api/cases/{case['id']}", headers=consul)).status == 200
    edit = await client.patch(
        f"/api/cases/{case['id']}", json={"asylum_claim": True}, headers=staff
    )
    assert edit.status == 200
    assert (await client.get(f"/api/cases/{case['id']}", headers=consul)).status == 403
    nepal = await bearer(db, "consul.np@example.org")
    assert (await client.get(f"/api/cases/{case['id']}", headers=nepal)).status == 200
    revokes = await audit_rows(db, "case.revoke")
    assert len(revokes) == 1 and "asylum" in revokes[0].note


async def test_a_closed_case_is_not_shared(client: Client, db: Sessions, world: World) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    await client.post(
        f"/api/cases/{case['id']}/status",
        json={"status": "closed_transferred", "reason": "Moved to another station"},
        headers=staff,
    )
    assert (await share_with(client, staff, case["id"], world.india.id)).status == 409


async def test_an_operator_names_a_supervisor_from_the_command_line(
    client: Client, db: Sessions, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSULINK_DATABASE_URL", settings.resolved_database_url)
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff, asylum_claim=True)
    justified = {"supervisor_justification": "Family reunification requested by the person"}
    assert (await share_with(client, staff, case["id"], world.india.id, **justified)).status == 403
    argv = ["users", "supervisor", "staff@example.org", "--data-dir", str(settings.data_dir)]
    assert await asyncio.to_thread(main, argv) == 0
    assert (await share_with(client, staff, case["id"], world.india.id, **justified)).status == 201
    assert await asyncio.to_thread(main, [*argv, "--remove"]) == 0
    assert await asyncio.to_thread(main, [*argv[:2], "consul.in@example.org", *argv[3:]]) == 2
    rows = await audit_rows(db, "users.supervisor")
    assert [row.details["supervisor"] for row in rows] == [True, False]
