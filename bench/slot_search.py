"""Slot search speed: 30 days for a case with 50 consulates, 200 interpreters, 20 rooms and
5,000 existing bookings (goals: p95 ≤ 10 ms in-process, ≤ 25 ms over HTTP at 50 clients).

Builds the data in a temporary SQLite file (rows inserted directly, no password hashing),
then times
  1. the pure search (`slots.search` on loaded data),
  2. the whole in-process path a request takes (the case, its consulate, `load_context`
     with the search cache a server keeps, and `search`; a fresh session each),
  3. GET /api/cases/{id}/slots over HTTP against `consulink serve` in its own process,
     with 50 concurrent clients.
Prints figures; asserts nothing about time.

    .venv/bin/python bench/slot_search.py
    .venv/bin/python bench/slot_search.py --searches 1000 --clients 50 --requests 2000
    .venv/bin/python bench/slot_search.py --think 1   # 50 people, a search every ~second each
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

# Import this checkout's packages (a plain `python bench/x.py` would find the installed
# project first, which may be another worktree).
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.counting import COUNTS, install, process_cpu_seconds, yardstick_ms  # noqa: E402
from interviews.access import Action, Actor  # noqa: E402
from interviews.accounts import ApiToken, Role, User, digest, hash_password  # noqa: E402
from interviews.case_access import load_case  # noqa: E402
from interviews.cases import Case, CaseLanguage  # noqa: E402
from interviews.consulates import Consulate, ConsulateLanguage  # noqa: E402
from interviews.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from interviews.facilities import Facility  # noqa: E402
from interviews.sharing import CaseShare  # noqa: E402
from scheduling import slots, zones  # noqa: E402
from scheduling.appointments import Interview  # noqa: E402
from scheduling.booking_rules import consulate_for  # noqa: E402
from scheduling.resources import (  # noqa: E402
    AvailabilityWindow,
    ConsulateSchedule,
    InterpreterLanguage,
    InterpreterProfile,
    OwnerKind,
    VideoRoom,
)
from scheduling.search import load_context  # noqa: E402
from scheduling.search_cache import SearchCache  # noqa: E402

CONSULATE_ZONES = (
    "America/New_York",
    "America/Mexico_City",
    "America/Guatemala",
    "America/Panama",
    "America/Costa_Rica",
    "Asia/Kathmandu",
    "Asia/Kolkata",
    "America/Bogota",
)
INTERPRETER_ZONES = ("America/Mexico_City", "America/New_York", "America/Panama", "Asia/Kolkata")
LANGUAGES = (
    "hin", "pan", "ben", "nep", "sin", "tam", "urd", "amh", "tir", "orm",
    "pus", "fas", "ara", "fra", "por", "hat", "kor", "vie", "cmn", "rus",
)  # fmt: skip
# The server over HTTP searches at the real time, so the data is laid out from the real
# time too (a fixed date in the past made every HTTP search stop at "deadline passed").
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
TOKEN = "cl_bench_token_for_slot_search"
ADMIN = Actor(user_id=1, name="Admin 1", role=Role.ADMIN)  # the first user `build` makes


@dataclass
class BenchWorld:
    """Ids the timings pick from."""

    cases: list[int]
    token: str


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _report(label: str, millis: list[float]) -> None:
    print(
        f"{label:<44} n={len(millis):>5}  p50={statistics.median(millis):7.2f} ms  "
        f"p95={_percentile(millis, 0.95):7.2f} ms  max={max(millis):7.2f} ms"
    )


async def build(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    consulates: int = 50,
    interpreters: int = 200,
    facilities: int = 5,
    rooms_per_facility: int = 4,
    bookings: int = 5000,
    cases: int = 500,
    seed: int = 7,
) -> BenchWorld:
    """A world of the requested size with `bookings` non-overlapping interviews in 30 days."""
    rng = random.Random(seed)
    password = hash_password("bench password 123")
    async with sessionmaker() as session, session.begin():
        consulate_rows = [
            {
                "id": n + 1,
                "name": f"Consulate {n + 1}",
                "country": "IN",
                "kind": "consulate",
                "city": "City",
                "located_country": "US",
                "time_zone": CONSULATE_ZONES[n % len(CONSULATE_ZONES)],
                "phone": "",
                "email": "",
                "website": "",
                "emergency_phone": "",
                "opening_hours": "",
                "holidays": "",
                "video_interviews": True,
                "questionnaire_name": "",
                "notes": "",
                "version": 1,
                "updated_at": NOW,
            }
            for n in range(consulates)
        ]
        await session.execute(insert(Consulate), consulate_rows)
        await session.execute(
            insert(ConsulateLanguage),
            [{"consulate_id": c["id"], "language": "eng", "position": 0} for c in consulate_rows],
        )
        await session.execute(
            insert(ConsulateSchedule),
            [
                {
                    "consulate_id": c["id"],
                    "interview_minutes": 60,
                    "buffer_minutes": 15,
                    "step_minutes": 30,
                    "notice_minutes": 120,
                }
                for c in consulate_rows
            ],
        )
        facility_rows = [
            {
                "id": n + 1,
                "name": f"Facility {n + 1}",
                "country": "MX",
                "city": "City",
                "time_zone": "America/Mexico_City",
                "language": "spa",
                "deadline_days": 60,
            }
            for n in range(facilities)
        ]
        await session.execute(insert(Facility), facility_rows)
        users = []
        next_id = 1

        def user(role: Role, **org: int | None) -> int:
            nonlocal next_id
            users.append(
                {
                    "id": next_id,
                    "email": f"{role.value}{next_id}@bench.org",
                    "name": f"{role.value.title()} {next_id}",
                    "role": role.value,
                    "facility_id": org.get("facility_id"),
                    "consulate_id": org.get("consulate_id"),
                    "language": "en",
                    "time_zone": "UTC",
                    "password_hash": password,
                    "disabled": False,
                    "failed_logins": 0,
                    "created_at": NOW,
                }
            )
            next_id += 1
            return next_id - 1

        admin = user(Role.ADMIN)
        staff = [user(Role.STAFF, facility_id=f["id"]) for f in facility_rows]
        consuls = [user(Role.CONSUL, consulate_id=c["id"]) for c in consulate_rows for _ in (0, 1)]
        interpreter_ids = [user(Role.INTERPRETER) for _ in range(interpreters)]
        await session.execute(insert(User), users)
        await session.execute(
            insert(ApiToken),
            [
                {
                    "digest": digest(TOKEN),
                    "user_id": admin,
                    "label": "bench",
                    "created_at": NOW,
                    "revoked": False,
                }
            ],
        )
        await session.execute(
            insert(InterpreterProfile),
            [
                {
                    "user_id": i,
                    "time_zone": rng.choice(INTERPRETER_ZONES),
                    "max_per_day": 4,
                    "active": True,
                }
                for i in interpreter_ids
            ],
        )
        spoken: dict[int, list[str]] = {
            i: rng.sample(LANGUAGES, rng.randint(1, 3)) for i in interpreter_ids
        }
        await session.execute(
            insert(InterpreterLanguage),
            [
                {
                    "user_id": i,
                    "language": code,
                    "proficiency": rng.choice(["native", "fluent", "working"]),
                }
                for i, codes in spoken.items()
                for code in codes
            ],
        )
        room_rows = [
            {"id": f["id"] * 100 + n, "facility_id": f["id"], "name": f"Room {n}", "active": True}
            for f in facility_rows
            for n in range(rooms_per_facility)
        ]
        await session.execute(insert(VideoRoom), room_rows)
        windows = []
        for c in consulate_rows:
            for day in range(5):
                windows.append((OwnerKind.CONSULATE, c["id"], day, 9 * 60, 13 * 60))
                windows.append((OwnerKind.CONSULATE, c["id"], day, 14 * 60, 17 * 60))
        for i in interpreter_ids:
            for day in range(5):
                windows.append((OwnerKind.INTERPRETER, i, day, 8 * 60, 18 * 60))
        for r in room_rows:
            for day in range(7):
                windows.append((OwnerKind.ROOM, r["id"], day, 7 * 60, 19 * 60))
        await session.execute(
            insert(AvailabilityWindow),
            [
                {
                    "owner_kind": kind.value,
                    "owner_id": owner,
                    "weekday": day,
                    "start_minute": start,
                    "end_minute": end,
                    "priority_only": False,
                }
                for kind, owner, day, start, end in windows
            ],
        )
        case_rows = []
        for n in range(cases):
            facility = rng.choice(facility_rows)
            case_rows.append(
                {
                    "id": n + 1,
                    "reference": f"B-{n + 1:05d}",
                    "facility_id": facility["id"],
                    "given_names": "",
                    "family_name": "",
                    "aliases": "",
                    "sex": "unknown",
                    "claimed_nationality": "IN",
                    "other_nationalities": [],
                    "detention_date": NOW.date() - timedelta(days=10),
                    "deadline": NOW.date() + timedelta(days=49),
                    "minor": False,
                    "unaccompanied_minor": False,
                    "asylum_claim": False,
                    "trafficking_victim": False,
                    "medical_needs": False,
                    "status": "open",
                    "queue_priority": 2,
                    "version": 1,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        await session.execute(insert(Case), case_rows)
        await session.execute(
            insert(CaseLanguage),
            [
                {"case_id": c["id"], "language": code, "note": "", "position": p}
                for c in case_rows
                for p, code in enumerate(rng.sample(LANGUAGES, rng.randint(1, 2)))
            ],
        )
        await session.execute(
            insert(CaseShare),
            [
                {
                    "case_id": c["id"],
                    "consulate_id": rng.choice(consulate_rows)["id"],
                    "purpose": "bench",
                    "legal_basis": "consent",
                    "legal_basis_note": "bench",
                    "shared_by_name": "",
                    "shared_at": NOW,
                    "supervisor_justification": "",
                    "revoked_by_name": "",
                    "revoke_reason": "",
                }
                for c in case_rows
            ],
        )
        # Bookings: random grid times on weekdays, never overlapping for any resource.
        busy: dict[tuple[str, int], list[tuple[int, int]]] = {}
        interview_rows = []
        start_minute = zones.to_minute(NOW)
        attempts = 0
        while len(interview_rows) < bookings and attempts < bookings * 50:
            attempts += 1
            # Rooms are open every day 07:00-19:00 Mexico City (13:00-01:00 UTC).
            day = rng.randrange(40)
            when = start_minute + day * 1440 + rng.randrange(2, 2 + 2 * 11) * 30
            consul = rng.choice(consuls)
            interpreter = rng.choice(interpreter_ids)
            room = rng.choice(room_rows)["id"]
            span = (when, when + 75)
            keys = [("c", consul), ("i", interpreter), ("r", room)]
            if any(s < span[1] and span[0] < e for key in keys for s, e in busy.get(key, [])):
                continue
            for key in keys:
                busy.setdefault(key, []).append(span)
            consulate_id = users[consul - 1]["consulate_id"]
            interview_rows.append(
                {
                    "uid": f"bench-{len(interview_rows)}@consulink",
                    "case_id": rng.choice(case_rows)["id"],
                    "consulate_id": consulate_id,
                    "facility_id": room // 100,
                    "consul_id": consul,
                    "interpreter_id": interpreter,
                    "language": spoken[interpreter][0],
                    "room_id": room,
                    "starts_at": zones.from_minute(when),
                    "ends_at": zones.from_minute(when + 60),
                    "busy_until": zones.from_minute(when + 75),
                    "status": "confirmed",
                    "priority_hold": False,
                    "sequence": 1,
                    "requested_at": NOW,
                    "reason": "",
                    "updated_at": NOW,
                }
            )
        await session.execute(insert(Interview), interview_rows)
        print(
            f"built: {consulates} consulates ({len(consuls)} consuls), {interpreters} "
            f"interpreters, {len(room_rows)} rooms, {len(case_rows)} cases, "
            f"{len(interview_rows)} bookings; staff ids {staff[:1]}…"
        )
    return BenchWorld([c["id"] for c in case_rows], TOKEN)


async def in_process(
    sessionmaker: async_sessionmaker[AsyncSession], world: BenchWorld, searches: int
) -> None:
    """Time the pure search and the whole load + search path."""
    rng = random.Random(11)
    cache = SearchCache()  # the app keeps one per database (on its WriteGate)
    pure: list[float] = []
    whole: list[float] = []
    cpu: list[float] = []
    found = 0
    before = COUNTS.snapshot()
    for _ in range(searches):
        case_id = rng.choice(world.cases)
        started = time.perf_counter()
        cpu_started = time.process_time()
        async with sessionmaker() as session:
            case = await load_case(session, ADMIN, case_id, Action.SLOT_SEARCH)
            consulate_id = await consulate_for(session, case, None)
            context = await load_context(session, case, consulate_id, cache=cache, now=NOW)
        middle = time.perf_counter()
        result = slots.search(context.request)
        ended = time.perf_counter()
        cpu.append((time.process_time() - cpu_started) * 1000)
        found += bool(result.slots)
        pure.append((ended - middle) * 1000)
        whole.append((ended - started) * 1000)
    after = COUNTS.snapshot()
    stick = yardstick_ms()
    print(
        f"  per search: {(after[0] - before[0]) / searches:.1f} statements, "
        f"{(after[1] - before[1]) / searches:.1f} thread hops; CPU p50 of load + search = "
        f"{statistics.median(cpu) / stick:.2f} yardsticks ({stick:.2f} ms)"
    )
    _report("in-process: pure slot search", pure)
    _report("in-process: load from database + search", whole)
    _report("in-process: CPU time of load + search", cpu)
    print(f"  searches with at least one slot: {found}/{searches}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def over_http(
    folder: Path, database: Path, world: BenchWorld, clients: int, requests: int, think: float
) -> None:
    """GET /api/cases/{id}/slots with `clients` concurrent connections to a server process.

    With `think` 0 each client sends its next search as soon as the last one is answered
    (a closed loop: latency is then mostly the queue of the other 49); with `think` > 0 it
    pauses that long on average (uniformly 0 to 2x) before its first search and between
    searches, like a person reading the slots, so the server sees a realistic offered load
    (not 50 searches in the same instant at the start).
    """
    port = _free_port()
    env = {
        **os.environ,
        "CONSULINK_DATA_DIR": str(folder / "data"),
        "CONSULINK_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "CONSULINK_SECRET_KEY": "bench-secret",
        "CONSULINK_JOBS_POLL_SECONDS": "3600",
        "CONSULINK_PORT": str(port),
    }
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "web.cli",
        "serve",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            headers={"Authorization": f"Bearer {world.token}"},
        ) as http:
            for _ in range(200):  # wait (bounded) for the server to listen
                try:
                    async with http.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise SystemExit("the server did not start")
            rng = random.Random(13)
            queue = [rng.choice(world.cases) for _ in range(requests)]
            latencies: list[float] = []
            errors = 0

            async def client() -> None:
                nonlocal errors
                if think:  # people do not all press "search" in the same instant
                    await asyncio.sleep(rng.uniform(0, 2 * think))
                while queue:
                    case_id = queue.pop()
                    started = time.perf_counter()
                    async with http.get(f"{base}/api/cases/{case_id}/slots") as response:
                        await response.read()
                        if response.status != 200:
                            errors += 1
                    latencies.append((time.perf_counter() - started) * 1000)
                    if think:
                        await asyncio.sleep(rng.uniform(0, 2 * think))

            # Warm up, then measure.
            warm = queue[:50]
            del queue[:50]
            for case_id in warm:
                async with http.get(f"{base}/api/cases/{case_id}/slots") as response:
                    await response.read()
            cpu_before = process_cpu_seconds(server.pid)
            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(clients)))
            elapsed = time.perf_counter() - started
            cpu_after = process_cpu_seconds(server.pid)
        _report(f"HTTP, {clients} clients, think {think:g} s", latencies)
        if cpu_before is not None and cpu_after is not None:
            cpu = (cpu_after - cpu_before) * 1000 / len(latencies)
            print(f"  server CPU per search {cpu:.1f} ms = {cpu / yardstick_ms():.2f} yardsticks")
        print(f"  throughput {len(latencies) / elapsed:.0f} searches/s, errors: {errors}")
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)


async def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument(
        "--think", type=float, default=0.0, help="mean seconds each client waits between searches"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.db"
        engine = make_engine(f"sqlite+aiosqlite:///{database}")
        await upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        world = await build(sessionmaker)
        install(engine)
        await in_process(sessionmaker, world, args.searches)
        await engine.dispose()
        await over_http(Path(folder), database, world, args.clients, args.requests, args.think)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
