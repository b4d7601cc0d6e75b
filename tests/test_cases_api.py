"""Staff open, read and edit cases; scope by facility and share; status path with history."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from interviews.cases import Case, CaseLanguage
from tests.conftest import World
from tests.test_cases_support import (
    Client,
    Sessions,
    audit_rows,
    bearer,
    case_body,
    new_case,
    other_facility_staff,
    share_with,
)


async def test_staff_opens_a_case_with_a_reference_and_the_facility_deadline(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    detained = date.today() - timedelta(days=3)
    case = await new_case(client, staff, detention_date=detained.isoformat())
    assert case["reference"] == f"TAP-{date.today().year}-0001"
    assert case["facility_id"] == world.tapachula.id
    assert case["deadline"] == (detained + timedelta(days=60)).isoformat()
    assert case["status"] == "open"
    assert case["languages"] == [
        {"language": "pan", "note": "Doabi dialect"},
        {"language": "hin", "note": ""},
    ]
    second = await new_case(client, staff)
    assert second["reference"] == f"TAP-{date.today().year}-0002"
    created = await audit_rows(db, "case.create")
    assert [row.target_id for row in created] == [str(case["id"]), str(second["id"])]


async def test_a_child_by_date_of_birth_is_a_minor_whatever_the_form_says(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    birth = date.today() - timedelta(days=15 * 365)
    case = await new_case(
        client, staff, date_of_birth=birth.isoformat(), estimated_age=None, minor=False
    )
    assert case["minor"] is True
    alone = await new_case(client, staff, unaccompanied_minor=True, estimated_age=16)
    assert alone["minor"] is True and alone["unaccompanied_minor"] is True


async def test_bad_case_input_names_each_field_and_stores_nothing(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    cases = [
        (case_body(claimed_nationality="XX"), "claimed_nationality"),
        (case_body(languages=[{"language": "zzz"}]), "languages.0.language"),
        (case_body(detention_date=tomorrow), "detention_date"),
        (case_body(deadline="2000-01-01"), "deadline"),
        (case_body(given_names="", family_name="", aliases=""), "family_name"),
        (case_body(estimated_age=300), "estimated_age"),
        (case_body(shoe_size=44), "shoe_size"),
    ]
    for body, field in cases:
        response = await client.post("/api/cases", json=body, headers=staff)
        assert response.status == 400, (field, await response.text())
        details = (await response.json())["error"]["details"]
        assert field in [item["field"] for item in details], details
    async with db() as session:
        assert (await session.scalars(select(Case))).all() == []


async def test_html_in_names_is_stored_as_given(client: Client, db: Sessions, world: World) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff, family_name="<script>alert(1)</script>'; DROP TABLE x")
    response = await client.get(f"/api/cases/{case['id']}", headers=staff)
    assert (await response.json())["family_name"] == "<script>alert(1)</script>'; DROP TABLE x"


async def test_every_view_of_a_case_is_audited(client: Client, db: Sessions, world: World) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    for _ in range(2):
        response = await client.get(f"/api/cases/{case['id']}", headers=staff)
        assert response.status == 200
    views = await audit_rows(db, "case.view")
    assert [(row.user_id, row.target_id) for row in views] == [
        (world.staff.id, str(case["id"]))
    ] * 2


async def test_staff_of_another_facility_and_interpreters_cannot_see_the_case(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    _facility, email = await other_facility_staff(db)
    for outsider in (email, "interpreter@example.org", "consul.in@example.org"):
        headers = await bearer(db, outsider)
        response = await client.get(f"/api/cases/{case['id']}", headers=headers)
        assert response.status == 403, outsider
        edit = await client.patch(
            f"/api/cases/{case['id']}", json={"family_name": "X"}, headers=headers
        )
        assert edit.status == 403, outsider
    listing = await client.get("/api/cases", headers=await bearer(db, email))
    assert (await listing.json())["items"] == []
    assert len(await audit_rows(db, "auth.forbidden")) >= 6


async def test_admin_sees_every_case_and_opens_one_for_a_named_facility(
    client: Client, db: Sessions, world: World
) -> None:
    admin = await bearer(db, "admin@example.org")
    missing = await client.post("/api/cases", json=case_body(), headers=admin)
    assert missing.status == 400
    case = await new_case(client, admin, facility_id=world.tapachula.id)
    response = await client.get(f"/api/cases/{case['id']}", headers=admin)
    assert response.status == 200


async def test_edit_changes_only_the_fields_sent_and_refuses_a_stale_version(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    new_deadline = (date.today() + timedelta(days=10)).isoformat()
    response = await client.patch(
        f"/api/cases/{case['id']}",
        json={"deadline": new_deadline, "languages": [{"language": "hin"}], "version": 1},
        headers=staff,
    )
    assert response.status == 200, await response.text()
    edited = await response.json()
    assert edited["deadline"] == new_deadline
    assert edited["family_name"] == "Singh"
    assert edited["languages"] == [{"language": "hin", "note": ""}]
    assert edited["version"] == 2
    stale = await client.patch(
        f"/api/cases/{case['id']}", json={"family_name": "Kaur", "version": 1}, headers=staff
    )
    assert stale.status == 409
    facility = await client.patch(
        f"/api/cases/{case['id']}", json={"facility_id": 99}, headers=staff
    )
    assert facility.status == 400
    async with db() as session:
        stored = await session.get(Case, case["id"])
        assert stored is not None and stored.family_name == "Singh"
        languages = (await session.scalars(select(CaseLanguage.language))).all()
        assert languages == ["hin"]
    edits = await audit_rows(db, "case.edit")
    assert edits[0].details["fields"] == ["deadline", "languages"]


async def test_status_moves_along_the_path_with_reasons_and_refuses_jumps(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    url = f"/api/cases/{case['id']}/status"
    jump = await client.post(
        url, json={"status": "travel_document_issued", "reason": "hurry"}, headers=staff
    )
    assert jump.status == 409
    error = (await jump.json())["error"]
    assert "interview_requested" in error["details"]["allowed"]
    no_reason = await client.post(
        url, json={"status": "interview_requested", "reason": ""}, headers=staff
    )
    assert no_reason.status == 400
    for status, reason in [
        ("interview_requested", "Consulate asked for a video interview"),
        ("interview_held", "Interview on Monday"),
        ("identity_confirmed", "Consul confirmed 6 of 20 parameters"),
    ]:
        response = await client.post(url, json={"status": status, "reason": reason}, headers=staff)
        assert response.status == 200, await response.text()
    history = await (await client.get(f"/api/cases/{case['id']}/history", headers=staff)).json()
    assert [(h["from"], h["to"]) for h in history["items"]] == [
        ("open", "interview_requested"),
        ("interview_requested", "interview_held"),
        ("interview_held", "identity_confirmed"),
    ]
    assert history["items"][0]["user"] == world.staff.name
    assert len(await audit_rows(db, "case.status")) == 3
    closed = await client.post(
        url, json={"status": "closed_released", "reason": "deadline reached"}, headers=staff
    )
    assert closed.status == 200
    reopened = await client.post(url, json={"status": "open", "reason": "oops"}, headers=staff)
    assert reopened.status == 409
    assert (await reopened.json())["error"]["details"]["allowed"] == []


async def test_consul_sees_a_shared_case_without_its_protective_flags(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff, trafficking_victim=True, medical_needs=True)
    assert (await share_with(client, staff, case["id"], world.india.id)).status == 201
    consul = await bearer(db, "consul.in@example.org")
    response = await client.get(f"/api/cases/{case['id']}", headers=consul)
    assert response.status == 200
    seen = await response.json()
    assert seen["family_name"] == "Singh"
    for hidden in ("asylum_claim", "trafficking_victim", "medical_needs"):
        assert hidden not in seen
    edit = await client.patch(f"/api/cases/{case['id']}", json={"aliases": "x"}, headers=consul)
    assert edit.status == 403
    listing = await (await client.get("/api/cases", headers=consul)).json()
    assert [item["id"] for item in listing["items"]] == [case["id"]]
