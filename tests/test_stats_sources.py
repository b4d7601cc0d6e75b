"""Where statistics come from and go: shortfalls recorded by real searches, the command line,
and the JSON Schema agreeing with the code lists."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.audit import AuditEvent
from interviews.stats_exchange import INDICATORS
from interviews.stats_imports import ImportedStatistic
from scheduling.shortfalls import InterpreterShortfall
from tests import stats_support
from tests.conftest import Clock, World
from tests.test_scheduling_support import act_as, add_case, set_up_schedule
from web.cli import main
from web.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "statistics.schema.json").read_text())


def test_the_schema_lists_exactly_the_indicators_the_code_exports() -> None:
    assert SCHEMA["$defs"]["row"]["properties"]["indicator"]["enum"] == list(INDICATORS)
    doc = (ROOT / "docs" / "statistics.md").read_text()
    missing = [name for name in INDICATORS if f"`{name}" not in doc]
    assert missing == [], f"indicators not defined in docs/statistics.md: {missing}"


async def test_a_search_that_finds_no_interpreter_is_recorded_for_the_shortfall(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    world: World,
    clock: Clock,
) -> None:
    schedule = await set_up_schedule(db, world, clock)
    async with db() as session, session.begin():
        sinhala = await add_case(
            session, world.tapachula.id, "TAP-2026-0007", languages=("sin", "tam"),
            deadline=date(2026, 3, 20), share_with=world.india.id,
        )  # fmt: skip
    await act_as(client, "staff@example.org")
    found = await client.get(f"/api/cases/{schedule.case_id}/slots")  # Punjabi: covered
    assert (await found.json())["slots"]
    missing = await client.get(f"/api/cases/{sinhala}/slots")
    assert [p["code"] for p in (await missing.json())["problems"]] == ["no_interpreter"]
    page = await client.get(f"/scheduling/cases/{sinhala}")
    assert page.status == 200
    async with db() as session:
        rows = (await session.scalars(select(InterpreterShortfall))).all()
    # Two searches (API and page), each for both of the person's languages; none for Punjabi.
    assert sorted((r.case_id, r.language, r.reason) for r in rows) == [
        (sinhala, "sin", "none_registered"), (sinhala, "sin", "none_registered"),
        (sinhala, "tam", "none_registered"), (sinhala, "tam", "none_registered"),
    ]  # fmt: skip


@pytest.fixture
def run_cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    """`await run_cli(*args)` -> (exit status, stdout, stderr) on the test's database."""
    monkeypatch.setenv("CONSULINK_DATABASE_URL", settings.resolved_database_url)

    async def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            status = await asyncio.to_thread(main, [*args, "--data-dir", str(settings.data_dir)])
        except SystemExit as exit_:
            status = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return status, out, err

    return run


async def test_the_command_line_exports_valid_files_and_imports_them_once(
    run_cli: Any,
    db: async_sessionmaker[AsyncSession],
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with db() as session, session.begin():
        await stats_support.build(session, world)
    status, out, err = await run_cli(
        "stats", "export", "--from", "2026-01", "--to", "2026-02", "--format", "json"
    )
    assert status == 0, err
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    target = tmp_path / "mx.csv"
    status, _, err = await run_cli(
        "stats", "export", "--from", "2026-01", "--to", "2026-02", "--format", "csv",
        "--output", str(target), "--by", "admin@example.org",
    )  # fmt: skip
    assert status == 0, err
    assert target.read_text().startswith("schema_version,source,")
    # Bad input: exit 2 and a message, nothing recorded.
    for bad in (["--from", "2026-1", "--to", "2026-02"], ["--from", "2026-03", "--to", "2026-01"]):
        status, _, err = await run_cli("stats", "export", *bad, "--format", "csv")
        assert status == 2 and "consulink:" in err
    async with db() as session:
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "stats.export"))
        ).all()
    assert [(e.user_name, e.remote) for e in events] == [("", "cli"), (world.admin.name, "cli")]
    # Our own export is refused on import; as another installation's, it imports once.
    status, _, err = await run_cli("stats", "import", str(target))
    assert status == 2 and "own export" in err
    monkeypatch.setenv("CONSULINK_STATS_SOURCE", "REGIONAL")
    for _ in range(2):
        status, out, err = await run_cli("stats", "import", str(target))
        assert status == 0, err
    async with db() as session:
        stored = await session.scalar(select(func.count(ImportedStatistic.id)))
    assert stored == len(doc["rows"])
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**doc, "schema_version": "9"}))
    status, _, err = await run_cli("stats", "import", str(broken))
    assert status == 2 and "schema_version" in err
