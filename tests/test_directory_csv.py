"""The directory as CSV: export and import round-trip, all-or-nothing import, the CLI."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.directory_csv import COLUMNS
from tests.conftest import Clock, World
from tests.test_directory_api import audit_actions, bearer, count_entries, entry_body
from web.app import create_app
from web.cli import main
from web.keys import CLOCK
from web.settings import Settings

CSV = {"Content-Type": "text/csv"}

# Entries whose text would break a careless CSV writer or reader.
AWKWARD = [
    entry_body(
        name='Consulate "General" of India, Panamá',
        country="IN",
        city="Panamá",
        located_country="PA",
        time_zone="America/Panama",
        jurisdiction=["PA", "CR", "NI"],
        languages=["hin", "eng", "spa"],
        opening_hours="Mon–Thu 09:00–13:00\nFri 09:00–12:00",
        holidays="26 January; 15 August, 2 October",
        accepted_evidence=["questionnaire", "interview", "passport_copy"],
        questionnaire_name="Twenty parameters",
        questionnaire_parameters=20,
        questionnaire_required=5,
        travel_document_days=None,
        notes='<b>Bring</b> copies, "originals" too;\r\nsecond line, =SUM(A1)',
        email=None,
        website=None,
        phone="-5",
        video_interviews=False,
    ),
    entry_body(
        name="Embajada de Guatemala en México",
        country="GT",
        city="Ciudad de México",
        located_country="MX",
        time_zone="America/Mexico_City",
        jurisdiction=[],
        languages=["spa", "quc", "mam"],
        accepted_evidence=[],
        travel_document_days=0,
        notes="K'iche' and Mam interpreters on request ✓",
    ),
]


async def _export(client: TestClient[Any, Any], headers: dict[str, str]) -> str:
    response = await client.get("/api/directory/export.csv", headers=headers)
    assert response.status == 200
    assert response.content_type == "text/csv" and response.charset == "utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    return await response.text()


async def _import(client: TestClient[Any, Any], headers: dict[str, str], text: str) -> Any:
    return await client.post(
        "/api/directory/import", data=text.encode(), headers={**headers, **CSV}
    )


async def test_export_then_import_changes_nothing_and_loses_nothing(
    aiohttp_client: Callable[..., Any],
    client: TestClient[Any, Any],
    world: World,
    db: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    clock: Clock,
) -> None:
    admin = await bearer(db, world.admin)
    for body in AWKWARD:
        created = await client.post("/api/directory", json=body, headers=admin)
        assert created.status == 201, await created.text()
    exported = await _export(client, admin)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == 4
    by_name = {row["name"]: row for row in rows}
    india = by_name['Consulate "General" of India, Panamá']
    assert india["jurisdiction"] == "CR;NI;PA" and india["languages"] == "hin;eng;spa"
    assert india["video_interviews"] == "false" and india["travel_document_days"] == ""

    # into the same database: every row matches its entry, nothing changes or is audited
    audited = await audit_actions(db, "directory.")
    response = await _import(client, admin, exported)
    assert response.status == 200, await response.text()
    assert await response.json() == {
        "created": 0,
        "updated": 0,
        "unchanged": 4,
        "created_names": [],
        "updated_names": [],
    }
    assert await audit_actions(db, "directory.") == audited
    assert await _export(client, admin) == exported

    # into an empty database: the same entries, field for field
    elsewhere = Settings(
        data_dir=tmp_path / "elsewhere",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'elsewhere.db'}",
        secret_key="another-test-secret",
    )
    other_app = create_app(elsewhere)
    other_app[CLOCK] = clock
    other: TestClient[Any, Any] = await aiohttp_client(other_app)
    await _create_admin(elsewhere)
    other_admin = await _token(elsewhere)
    fresh = await _import(other, other_admin, exported)
    assert (await fresh.json())["created"] == 4
    assert await _export(other, other_admin) == exported
    originals = await (await client.get("/api/directory", headers=admin)).json()
    copies = await (await other.get("/api/directory", headers=other_admin)).json()
    volatile = ("id", "updated_at")
    assert [{k: v for k, v in e.items() if k not in volatile} for e in copies["items"]] == [
        {k: v for k, v in e.items() if k not in volatile} for e in originals["items"]
    ]


async def _create_admin(settings: Settings) -> None:
    from interviews import accounts
    from interviews.db import make_engine, make_sessionmaker

    engine = make_engine(settings.resolved_database_url)
    async with make_sessionmaker(engine)() as session, session.begin():
        await accounts.create_user(
            session,
            email="root@example.org",
            name="Root",
            role=accounts.Role.ADMIN,
            password="another long password",
        )
    await engine.dispose()


async def _token(settings: Settings) -> dict[str, str]:
    from interviews import accounts
    from interviews.db import make_engine, make_sessionmaker

    engine = make_engine(settings.resolved_database_url)
    async with make_sessionmaker(engine)() as session, session.begin():
        user = await accounts.find_user(session, "root@example.org")
        assert user is not None
        token = await accounts.issue_api_token(session, user)
    await engine.dispose()
    return {"Authorization": f"Bearer {token}"}


async def test_import_updates_entries_by_name_creates_the_rest_and_audits_each(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    exported = await _export(client, admin)
    rows = list(csv.DictReader(io.StringIO(exported)))
    nepal = next(row for row in rows if row["country"] == "NP")
    nepal["name"] = nepal["name"].upper()  # names match ignoring case
    nepal["languages"] = "nep;eng"
    nepal["video_interviews"] = "yes"
    new = {column: "" for column in COLUMNS} | {
        "name": "Consulate of Honduras in Tapachula",
        "country": "HN",
        "kind": "consulate",
        "city": "Tapachula",
        "located_country": "MX",
        "time_zone": "America/Mexico_City",
        "jurisdiction": "MX",
        "languages": "es",
        "accepted_evidence": "national_id; birth_certificate",
        "video_interviews": "TRUE",
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(reversed(COLUMNS)))  # any column order
    writer.writeheader()
    writer.writerows([nepal, new])
    response = await _import(client, admin, "\ufeff" + out.getvalue())  # Excel's BOM is fine
    assert response.status == 200, await response.text()
    report = await response.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 1, 0)

    listed = await (await client.get("/api/directory?country=NP", headers=admin)).json()
    entry = listed["items"][0]
    assert entry["name"] == "EMBASSY OF NEPAL, WASHINGTON DC"
    assert entry["languages"] == ["nep", "eng"] and entry["video_interviews"] is True
    honduras = await (await client.get("/api/directory?country=HN", headers=admin)).json()
    assert honduras["items"][0]["languages"] == ["spa"]
    assert honduras["items"][0]["accepted_evidence"] == ["national_id", "birth_certificate"]
    assert await audit_actions(db, "directory.") == [
        "directory.export",
        "directory.update",
        "directory.create",
    ]
    history = await (
        await client.get(f"/api/directory/{world.nepal.id}/history", headers=admin)
    ).json()
    assert history["items"][0]["changes"]["languages"] == {"before": [], "after": ["nep", "eng"]}


def _csv(*rows: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


GOOD_ROW = {column: "" for column in COLUMNS} | {
    "name": "Consulate of El Salvador in Tapachula",
    "country": "SV",
    "kind": "consulate",
    "city": "Tapachula",
    "located_country": "MX",
    "time_zone": "America/Mexico_City",
    "video_interviews": "false",
}


async def test_a_bad_file_reports_every_row_and_field_and_imports_nothing(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    text = _csv(
        GOOD_ROW,  # row 2 is fine, but is not imported either
        GOOD_ROW | {"name": "Row three", "country": "XX", "languages": "spa;zzz"},
        GOOD_ROW | {"name": "Row four", "time_zone": "Mars/Olympus", "email": "nobody"},
        GOOD_ROW | {"name": "consulate of el salvador in tapachula"},
        GOOD_ROW | {"name": "Row six", "video_interviews": "maybe", "travel_document_days": "x"},
        GOOD_ROW | {"name": "Row seven", "kind": "palace", "website": "ftp://example.org"},
    )
    response = await _import(client, admin, text)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "invalid_csv"
    problems = {(d["row"], d["field"]) for d in error["details"]}
    assert problems == {
        (3, "country"),
        (3, "languages"),
        (4, "time_zone"),
        (4, "email"),
        (5, "name"),
        (6, "video_interviews"),
        (6, "travel_document_days"),
        (7, "kind"),
        (7, "website"),
    }
    assert all(d["message"] for d in error["details"])
    assert await count_entries(db) == 2
    assert await audit_actions(db, "directory.") == []


async def test_a_bad_header_or_ragged_rows_are_reported(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    header = ",".join(c for c in COLUMNS if c != "notes") + ",colour"
    response = await _import(client, admin, header + "\n")
    details = (await response.json())["error"]["details"]
    assert {(d["row"], d["field"], d["message"]) for d in details} == {
        (1, "colour", "unknown column"),
        (1, "notes", "column is missing"),
    }
    ragged = _csv(GOOD_ROW) + "too,few,cells\n"
    response = await _import(client, admin, ragged)
    details = (await response.json())["error"]["details"]
    assert [(d["row"], d["field"]) for d in details] == [(3, "")]
    empty = await _import(client, admin, "")
    assert (await empty.json())["error"]["details"][0]["message"] == "the file is empty"
    assert await count_entries(db) == 2


async def test_import_needs_an_admin_csv_and_utf8(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    text = _csv(GOOD_ROW)
    for user in (world.consul_india, world.staff, world.interpreter):
        response = await _import(client, await bearer(db, user), text)
        assert response.status == 403
    admin = await bearer(db, world.admin)
    as_json = await client.post("/api/directory/import", json={"csv": text}, headers=admin)
    assert as_json.status == 415
    latin1 = await client.post(
        "/api/directory/import",
        data=text.replace("Tapachula", "Tapachulá").encode("latin-1"),
        headers={**admin, **CSV},
    )
    assert latin1.status == 400
    assert await count_entries(db) == 2
    ok = await _import(client, admin, text)
    assert (await ok.json())["created"] == 1


async def test_everyone_signed_in_may_export_and_the_export_is_audited(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    text = await _export(client, await bearer(db, world.interpreter))
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert len(text.splitlines()) == 3
    assert await audit_actions(db, "directory.export") == ["directory.export"]
    assert (await client.get("/api/directory/export.csv")).status == 401


def test_the_cli_exports_and_imports_and_refuses_a_bad_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CONSULINK_DATABASE_URL", raising=False)
    data = ["--data-dir", str(tmp_path / "data")]
    source = tmp_path / "in.csv"
    source.write_text(
        _csv(GOOD_ROW, GOOD_ROW | {"name": "Second", "languages": "spa;mam"}),
        encoding="utf-8",
        newline="",
    )
    assert main(["directory", "import", str(source), *data]) == 0
    assert "2 added, 0 changed" in capsys.readouterr().out

    exported = tmp_path / "out.csv"
    assert main(["directory", "export", str(exported), *data]) == 0
    assert "Exported 2 entries" in capsys.readouterr().out
    first = exported.read_text(encoding="utf-8")
    assert main(["directory", "import", str(exported), *data]) == 0
    assert "0 added, 0 changed, 2 already up to date" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text(_csv(GOOD_ROW | {"name": "Third", "country": "XX", "time_zone": "Nowhere"}))
    assert main(["directory", "import", str(bad), *data]) == 2
    report = capsys.readouterr().err
    assert "nothing was imported" in report
    assert "row 2, column country: unknown country code 'XX'" in report
    assert "row 2, column time_zone:" in report

    again = tmp_path / "again.csv"
    assert main(["directory", "export", str(again), *data]) == 0
    assert again.read_text(encoding="utf-8") == first
    assert main(["directory", "import", str(tmp_path / "missing.csv"), *data]) == 2
    assert "cannot read" in capsys.readouterr().err
