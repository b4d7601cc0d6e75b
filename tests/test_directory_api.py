"""The consular directory's JSON API, against the real server and database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews import accounts
from interviews.audit import AuditEvent, verify_chain
from interviews.consulates import Consulate
from tests.conftest import Clock, World, sign_in
from web.app import create_app
from web.keys import CLOCK
from web.settings import Settings

Headers = dict[str, str]


def entry_body(**overrides: Any) -> dict[str, Any]:
    """A complete, valid entry: Mexico's consulate in Guatemala City."""
    body: dict[str, Any] = {
        "name": "Consulado de México en Guatemala",
        "country": "MX",
        "kind": "consulate",
        "city": "Guatemala City",
        "located_country": "GT",
        "time_zone": "America/Guatemala",
        "jurisdiction": ["GT", "SV"],
        "languages": ["spa", "eng"],
        "phone": "+502 2420 3400",
        "email": "consulado@example.org",
        "website": "https://example.org/consulado",
        "emergency_phone": "+502 5555 0000",
        "opening_hours": "Mon–Fri 09:00–14:00",
        "holidays": "16 September",
        "video_interviews": True,
        "accepted_evidence": ["passport_copy", "birth_certificate", "interview"],
        "questionnaire_name": "",
        "questionnaire_parameters": None,
        "questionnaire_required": None,
        "travel_document_days": 10,
        "notes": "",
    }
    body.update(overrides)
    return body


async def bearer(db: async_sessionmaker[AsyncSession], user: accounts.User) -> Headers:
    """Authorization headers for `user` (bearer tokens need no CSRF token)."""
    async with db() as session, session.begin():
        row = await session.get(accounts.User, user.id)
        assert row is not None
        token = await accounts.issue_api_token(session, row, "test")
    return {"Authorization": f"Bearer {token}"}


async def count_entries(db: async_sessionmaker[AsyncSession]) -> int:
    """How many directory entries the database holds."""
    async with db() as session:
        return int(await session.scalar(select(func.count(Consulate.id))) or 0)


async def audit_actions(db: async_sessionmaker[AsyncSession], prefix: str) -> list[str]:
    """Actions of audit rows starting with `prefix`, in order."""
    async with db() as session:
        rows = await session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like(f"{prefix}%"))
            .order_by(AuditEvent.id)
        )
        return list(rows.all())


async def entry_json(client: TestClient[Any, Any], entry_id: int, headers: Headers) -> Any:
    """The entry as the API returns it."""
    response = await client.get(f"/api/directory/{entry_id}", headers=headers)
    assert response.status == 200
    return await response.json()


async def test_admin_adds_an_entry_that_everyone_signed_in_can_read(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    created = await client.post("/api/directory", json=entry_body(), headers=admin)
    assert created.status == 201, await created.text()
    body = await created.json()
    assert created.headers["Location"] == f"/api/directory/{body['id']}"
    assert created.headers["ETag"] == '"1"'
    assert body["languages"] == ["spa", "eng"] and body["version"] == 1
    assert body["website"] == "https://example.org/consulado"

    for user in (world.staff, world.consul_nepal, world.interpreter):
        read = await entry_json(client, body["id"], await bearer(db, user))
        assert read == body
    assert (await client.get(f"/api/directory/{body['id']}")).status == 401
    assert (await client.get("/api/directory")).status == 401


async def test_staff_and_consuls_cannot_add_entries(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    for user in (world.staff, world.consul_india, world.interpreter):
        response = await client.post(
            "/api/directory", json=entry_body(), headers=await bearer(db, user)
        )
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "forbidden"
    assert await count_entries(db) == 2
    assert await audit_actions(db, "directory.") == []


async def test_a_consul_of_nepal_cannot_edit_indias_entry(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    nepal = await bearer(db, world.consul_nepal)
    before = await entry_json(client, world.india.id, nepal)
    body = entry_body(name="Hijacked", country="IN")
    response = await client.put(f"/api/directory/{world.india.id}", json=body, headers=nepal)
    assert response.status == 403
    assert (await response.json())["error"]["message"] == "this belongs to another consulate"
    assert await entry_json(client, world.india.id, nepal) == before
    assert await audit_actions(db, "auth.forbidden") == ["auth.forbidden"]


async def test_interpreters_and_staff_cannot_edit_the_directory(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    for user in (world.interpreter, world.staff):
        headers = await bearer(db, user)
        body = entry_body(name="Changed", country="NP")
        response = await client.put(f"/api/directory/{world.nepal.id}", json=body, headers=headers)
        assert response.status == 403
    admin = await bearer(db, world.admin)
    assert (await entry_json(client, world.nepal.id, admin))["version"] == 1


async def test_a_consul_edits_their_own_entry_and_the_history_shows_before_and_after(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    consul = await bearer(db, world.consul_india)
    body = entry_body(
        name="Embassy of India, Washington DC",
        country="IN",
        city="Washington",
        located_country="US",
        time_zone="America/New_York",
        jurisdiction=["US", "MX"],
        languages=["hin", "en"],
        accepted_evidence=["passport_copy", "questionnaire"],
        questionnaire_name="Twenty identification parameters",
        questionnaire_parameters=20,
        questionnaire_required=5,
    )
    saved = await client.put(f"/api/directory/{world.india.id}", json=body, headers=consul)
    assert saved.status == 200, await saved.text()
    entry = await saved.json()
    assert entry["version"] == 2 and saved.headers["ETag"] == '"2"'
    assert entry["languages"] == ["hin", "eng"]  # ISO 639-1 "en" widened to 639-3
    assert entry["questionnaire_required"] == 5

    history = await client.get(f"/api/directory/{world.india.id}/history", headers=consul)
    assert history.status == 200
    items = (await history.json())["items"]
    assert len(items) == 1
    change = items[0]
    assert change["user_id"] == world.consul_india.id
    assert change["user_name"] == "Consul.In" and change["role"] == "consul"
    assert change["action"] == "directory.update" and change["version"] == 2
    assert change["changes"]["jurisdiction"] == {"before": [], "after": ["MX", "US"]}
    assert change["changes"]["questionnaire_parameters"] == {"before": None, "after": 20}
    assert "name" not in change["changes"]  # unchanged fields are not listed

    # saving the same again changes nothing and records nothing
    again = await client.put(f"/api/directory/{world.india.id}", json=body, headers=consul)
    assert (await again.json())["version"] == 2
    assert await audit_actions(db, "directory.") == ["directory.update"]
    async with db() as session:
        assert (await verify_chain(session)).ok


async def test_history_of_a_created_entry_and_of_an_unknown_one(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    created = await (await client.post("/api/directory", json=entry_body(), headers=admin)).json()
    history = await (
        await client.get(f"/api/directory/{created['id']}/history", headers=admin)
    ).json()
    assert [item["action"] for item in history["items"]] == ["directory.create"]
    assert history["items"][0]["changes"]["city"] == {"before": None, "after": "Guatemala City"}
    missing = await client.get("/api/directory/9999/history", headers=admin)
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "not_found"
    assert (await client.get("/api/directory/9999", headers=admin)).status == 404
    put = await client.put("/api/directory/9999", json=entry_body(), headers=admin)
    assert put.status == 404


async def test_a_stale_save_is_refused_so_nobody_loses_changes_silently(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    consul = await bearer(db, world.consul_nepal)
    nepal = await entry_json(client, world.nepal.id, admin)
    base = {k: v for k, v in nepal.items() if k not in ("id", "version", "updated_at")}

    # the consul saves first, starting from version 1
    first = await client.put(
        f"/api/directory/{world.nepal.id}",
        json={**base, "phone": "+1 202 667 4550"},
        headers={**consul, "If-Match": '"1"'},
    )
    assert first.status == 200
    # the admin also started from version 1: refused, with the current version named
    second = await client.put(
        f"/api/directory/{world.nepal.id}",
        json={**base, "notes": "admin's note", "version": 1},
        headers=admin,
    )
    assert second.status == 409
    error = (await second.json())["error"]
    assert error["code"] == "stale" and error["details"]["current_version"] == 2
    stale_header = await client.put(
        f"/api/directory/{world.nepal.id}",
        json={**base, "notes": "admin's note"},
        headers={**admin, "If-Match": 'W/"1"'},
    )
    assert stale_header.status == 409
    now = await entry_json(client, world.nepal.id, admin)
    assert now["phone"] == "+1 202 667 4550" and now["notes"] == "" and now["version"] == 2

    bad_tag = await client.put(
        f"/api/directory/{world.nepal.id}", json=base, headers={**admin, "If-Match": "yesterday"}
    )
    assert bad_tag.status == 400
    assert (await bad_tag.json())["error"]["details"][0]["field"] == "If-Match"


async def test_two_saves_at_the_same_moment_one_wins_the_other_is_told(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    consul = await bearer(db, world.consul_nepal)
    nepal = await entry_json(client, world.nepal.id, admin)
    base = {k: v for k, v in nepal.items() if k not in ("id", "version", "updated_at")}
    url = f"/api/directory/{world.nepal.id}"
    responses = await asyncio.gather(
        client.put(url, json={**base, "phone": "111", "version": 1}, headers=admin),
        client.put(url, json={**base, "phone": "222", "version": 1}, headers=consul),
    )
    assert sorted(r.status for r in responses) == [200, 409]
    winner = next(r for r in responses if r.status == 200)
    final = await entry_json(client, world.nepal.id, admin)
    assert final["phone"] == (await winner.json())["phone"] and final["version"] == 2
    assert await audit_actions(db, "directory.") == ["directory.update"]


async def _seed(client: TestClient[Any, Any], admin: Headers) -> None:
    entries = [
        entry_body(),
        entry_body(
            name="Embassy of Guatemala in Mexico",
            country="GT",
            city="Mexico City",
            located_country="MX",
            time_zone="America/Mexico_City",
            jurisdiction=["MX"],
            languages=["spa", "quc", "mam"],
            video_interviews=False,
        ),
        entry_body(
            name="Consulate of India in Panama",
            country="IN",
            city="Panama City",
            located_country="PA",
            time_zone="America/Panama",
            jurisdiction=["PA", "CR"],
            languages=["hin", "eng"],
            video_interviews=True,
        ),
    ]
    for body in entries:
        response = await client.post("/api/directory", json=body, headers=admin)
        assert response.status == 201, await response.text()


async def _names(client: TestClient[Any, Any], headers: Headers, query: str) -> list[str]:
    response = await client.get(f"/api/directory?{query}", headers=headers)
    assert response.status == 200, await response.text()
    return [item["name"] for item in (await response.json())["items"]]


async def test_each_filter_narrows_the_search(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    await _seed(client, admin)
    staff = await bearer(db, world.staff)
    assert len(await _names(client, staff, "")) == 5
    assert await _names(client, staff, "q=panama") == ["Consulate of India in Panama"]
    assert await _names(client, staff, "q=WASHINGTON") == [
        "Embassy of India, Washington DC",
        "Embassy of Nepal, Washington DC",
    ]
    assert await _names(client, staff, "country=in") == [
        "Consulate of India in Panama",
        "Embassy of India, Washington DC",
    ]
    assert await _names(client, staff, "jurisdiction=MX") == ["Embassy of Guatemala in Mexico"]
    assert await _names(client, staff, "language=quc") == ["Embassy of Guatemala in Mexico"]
    assert await _names(client, staff, "language=hi") == ["Consulate of India in Panama"]
    assert await _names(client, staff, "video=true") == [
        "Consulate of India in Panama",
        "Consulado de México en Guatemala",
    ]
    assert len(await _names(client, staff, "video=false")) == 3
    assert await _names(client, staff, "country=IN&video=true&language=eng") == [
        "Consulate of India in Panama"
    ]
    # a LIKE wildcard in the text is taken literally
    assert await _names(client, staff, "q=%25") == []


async def test_paging_returns_total_limit_and_offset(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    await _seed(client, admin)
    first = await (await client.get("/api/directory?limit=2", headers=admin)).json()
    second = await (await client.get("/api/directory?limit=2&offset=2", headers=admin)).json()
    last = await (await client.get("/api/directory?limit=2&offset=4", headers=admin)).json()
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    assert [len(p["items"]) for p in (first, second, last)] == [2, 2, 1]
    every = [i["name"] for p in (first, second, last) for i in p["items"]]
    assert len(set(every)) == 5
    default = await (await client.get("/api/directory", headers=admin)).json()
    assert default["limit"] == 50


async def test_bad_search_parameters_are_refused_naming_the_parameter(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    staff = await bearer(db, world.staff)
    cases = {
        "country=XX": "country",
        "jurisdiction=Atlantis": "jurisdiction",
        "language=zzz": "language",
        "video=perhaps": "video",
        "limit=0": "limit",
        "limit=201": "limit",
        "offset=-1": "offset",
        "colour=blue": "colour",
    }
    for query, field in cases.items():
        response = await client.get(f"/api/directory?{query}", headers=staff)
        assert response.status == 400, query
        error = (await response.json())["error"]
        assert error["code"] == "invalid"
        assert [d["field"] for d in error["details"]] == [field], query


async def test_invalid_codes_and_e_mail_are_refused_naming_the_field(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"country": "XX"}, "country"),
        ({"located_country": "Mexico"}, "located_country"),
        ({"jurisdiction": ["GT", "QQ"]}, "jurisdiction.1"),
        ({"languages": ["klingon"]}, "languages.0"),
        ({"time_zone": "America/Atlantis"}, "time_zone"),
        ({"email": "not an address"}, "email"),
        ({"website": "javascript:alert(1)"}, "website"),
        ({"kind": "palace"}, "kind"),
        ({"accepted_evidence": ["dna"]}, "accepted_evidence.0"),
        ({"questionnaire_parameters": 5, "questionnaire_required": 6}, "questionnaire_required"),
        ({"name": ""}, "name"),
        ({"colour": "blue"}, "colour"),
    ]
    for change, field in cases:
        response = await client.post("/api/directory", json=entry_body(**change), headers=admin)
        assert response.status == 400, change
        error = (await response.json())["error"]
        assert error["code"] == "invalid"
        assert [d["field"] for d in error["details"]] == [field], change
    body = entry_body()
    del body["time_zone"]
    missing = await client.post("/api/directory", json=body, headers=admin)
    assert [d["field"] for d in (await missing.json())["error"]["details"]] == ["time_zone"]
    # and the same on a replace: nothing changed
    bad = await client.put(
        f"/api/directory/{world.india.id}", json=entry_body(country="XX"), headers=admin
    )
    assert bad.status == 400
    assert await count_entries(db) == 2
    assert (await entry_json(client, world.india.id, admin))["version"] == 1
    assert await audit_actions(db, "directory.") == []


async def test_malformed_json_wrong_content_type_and_non_object_bodies(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    json_type = {**admin, "Content-Type": "application/json"}
    malformed = await client.post("/api/directory", data='{"name": "x",', headers=json_type)
    assert malformed.status == 400
    assert (await malformed.json())["error"]["code"] == "malformed_json"
    not_utf8 = await client.post("/api/directory", data=b'{"name": "\xff"}', headers=json_type)
    assert not_utf8.status == 400
    form = await client.post("/api/directory", data={"name": "x"}, headers=admin)
    assert form.status == 415
    assert (await form.json())["error"]["code"] == "unsupported_media_type"
    listed = await client.post("/api/directory", json=[entry_body()], headers=admin)
    assert listed.status == 400
    put = await client.put(
        f"/api/directory/{world.india.id}",
        data=json.dumps(entry_body()),
        headers={**admin, "Content-Type": "text/plain"},
    )
    assert put.status == 415
    assert await count_entries(db) == 2


async def test_a_duplicate_name_is_a_conflict(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    clash = entry_body(name="embassy of india, washington dc")
    created = await client.post("/api/directory", json=clash, headers=admin)
    assert created.status == 409
    error = (await created.json())["error"]
    assert error["code"] == "conflict" and error["details"][0]["field"] == "name"
    renamed = await client.put(
        f"/api/directory/{world.nepal.id}",
        json=entry_body(name="Embassy of India, Washington DC", country="NP"),
        headers=admin,
    )
    assert renamed.status == 409
    assert await count_entries(db) == 2
    assert (await entry_json(client, world.nepal.id, admin))["name"].startswith("Embassy of Nepal")


async def test_html_and_sql_looking_text_is_stored_exactly_as_given(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    tricky = entry_body(
        name="<script>alert('x')</script> Consulate",
        city="Robert'); DROP TABLE consulates;--",
        notes='<img src=x onerror="alert(1)"> & 1=1 OR "a"="a"',
    )
    created = await client.post("/api/directory", json=tricky, headers=admin)
    assert created.status == 201
    stored = await entry_json(client, (await created.json())["id"], admin)
    assert (stored["name"], stored["city"], stored["notes"]) == (
        tricky["name"],
        tricky["city"],
        tricky["notes"],
    )
    assert await count_entries(db) == 3
    found = await _names(client, admin, "q=DROP TABLE")
    assert found == [tricky["name"]]


async def test_an_oversized_body_is_refused_with_413(
    aiohttp_client: Callable[..., Any],
    settings: Settings,
    clock: Clock,
    world: World,
    db: async_sessionmaker[AsyncSession],
) -> None:
    small = create_app(settings.model_copy(update={"max_body_bytes": 2048}))
    small[CLOCK] = clock
    client: TestClient[Any, Any] = await aiohttp_client(small)
    admin = await bearer(db, world.admin)
    big = entry_body(notes="x" * 4000)
    response = await client.post("/api/directory", json=big, headers=admin)
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "too_large"
    csv_body = "name\n" + "x" * 4000
    imported = await client.post(
        "/api/directory/import", data=csv_body, headers={**admin, "Content-Type": "text/csv"}
    )
    assert imported.status == 413
    assert await count_entries(db) == 2
    # a body under the limit still works on the same server
    ok = await client.post("/api/directory", json=entry_body(), headers=admin)
    assert ok.status == 201


async def test_a_browser_session_needs_the_csrf_token_to_write(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    csrf = await sign_in(client, "admin@example.org")
    refused = await client.post("/api/directory", json=entry_body())
    assert refused.status == 403
    accepted = await client.post(
        "/api/directory", json=entry_body(), headers={"X-CSRF-Token": csrf}
    )
    assert accepted.status == 201
    assert await count_entries(db) == 3


async def test_search_items_are_the_same_as_reading_each_entry(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    await _seed(client, admin)
    page = await (await client.get("/api/directory", headers=admin)).json()
    assert page["total"] == 5
    for item in page["items"]:
        assert item == await entry_json(client, item["id"], admin)
    beyond = await (await client.get("/api/directory?offset=10", headers=admin)).json()
    assert (beyond["items"], beyond["total"]) == ([], 5)


async def test_two_adds_of_one_name_at_the_same_moment_give_one_entry_and_a_conflict(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    responses = await asyncio.gather(
        *(client.post("/api/directory", json=entry_body(), headers=admin) for _ in range(3))
    )
    assert sorted(r.status for r in responses) == [201, 409, 409]
    assert await count_entries(db) == 3
