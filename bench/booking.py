"""Booking throughput on one SQLite file: 50 concurrent clients each booking its own
distinct slots (goal ≥ 300 bookings/s, zero errors).

Each client has its own consul, interpreter and room (so no request clashes) and books a
run of consecutive slots, one case each, through
  1. the booking code in-process (`booking.request_interview`, what a request does after
     parsing and authentication, with the app's one WriteGate and its search cache), and
  2. POST /api/interviews over HTTP against `consulink serve` in its own process.
Every booking also writes its audit row, the case's status change and its notice and
expiry jobs, as in production. Prints figures; asserts nothing about time.

    .venv/bin/python bench/booking.py
    .venv/bin/python bench/booking.py --clients 50 --per-client 40
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

# Import this checkout's packages (a plain `python bench/x.py` would find the installed
# project first, which may be another worktree).
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.counting import (  # noqa: E402
    COUNTS,
    install,
    per_operation,
    process_cpu_seconds,
    round_trip_cpu_ms,
    settled_cpu_seconds,
    yardstick_ms,
)
from interviews.access import Actor  # noqa: E402
from interviews.accounts import ApiToken, Role, User, digest, hash_password  # noqa: E402
from interviews.cases import Case, CaseLanguage  # noqa: E402
from interviews.consulates import Consulate  # noqa: E402
from interviews.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from interviews.facilities import Facility  # noqa: E402
from interviews.sharing import CaseShare  # noqa: E402
from scheduling import booking  # noqa: E402
from scheduling.booking_rules import BookIn, BookingError  # noqa: E402
from scheduling.followups import Policy  # noqa: E402
from scheduling.resources import (  # noqa: E402
    AvailabilityWindow,
    ConsulateSchedule,
    InterpreterLanguage,
    InterpreterProfile,
    OwnerKind,
    VideoRoom,
)
from scheduling.writes import WriteGate  # noqa: E402

# Tomorrow at midnight: the server process books against the real clock.
NOW = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
TOKEN = "cl_bench_token_for_booking"
SLOT = timedelta(minutes=75)  # 60-minute interviews with a 15-minute buffer


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _slots(count: int, offset: int) -> list[datetime]:
    """Consecutive slots 08:00-20:30 UTC on every day, starting tomorrow."""
    out: list[datetime] = []
    day = NOW + timedelta(days=1 + offset)
    while len(out) < count:
        start = day.replace(hour=8)
        while start + SLOT <= day.replace(hour=20, minute=30) and len(out) < count:
            out.append(start)
            start += SLOT
        day += timedelta(days=1)
    return out


async def build(
    sessionmaker: async_sessionmaker[AsyncSession], lanes: int, per_lane: int
) -> dict[str, Any]:
    """One consulate, consul, interpreter and room per lane; cases for every booking."""
    password = hash_password("bench password 123")
    async with sessionmaker() as session, session.begin():
        await session.execute(
            insert(Facility),
            [{"id": 1, "name": "Facility", "country": "MX", "city": "Tapachula",
              "time_zone": "UTC", "language": "spa", "deadline_days": 60}],
        )  # fmt: skip
        consulates = [
            {
                "id": n + 1, "name": f"Consulate {n + 1}", "country": "IN", "kind": "consulate",
                "city": "City", "located_country": "US", "time_zone": "UTC", "phone": "",
                "email": "", "website": "", "emergency_phone": "", "opening_hours": "",
                "holidays": "", "video_interviews": True, "questionnaire_name": "", "notes": "",
                "version": 1, "updated_at": NOW,
            }
            for n in range(lanes)
        ]  # fmt: skip
        await session.execute(insert(Consulate), consulates)
        await session.execute(
            insert(ConsulateSchedule),
            [{"consulate_id": c["id"], "interview_minutes": 60, "buffer_minutes": 15,
              "step_minutes": 15, "notice_minutes": 0} for c in consulates],
        )  # fmt: skip

        def user(ident: int, role: Role, **org: int) -> dict[str, Any]:
            return {
                "id": ident, "email": f"u{ident}@bench.org", "name": f"User {ident}",
                "role": role.value, "facility_id": org.get("facility_id"),
                "consulate_id": org.get("consulate_id"), "language": "en", "time_zone": "UTC",
                "password_hash": password, "disabled": False, "failed_logins": 0,
                "created_at": NOW,
            }  # fmt: skip

        users = [user(1, Role.STAFF, facility_id=1)]
        users += [user(100 + n, Role.CONSUL, consulate_id=n + 1) for n in range(lanes)]
        users += [user(1000 + n, Role.INTERPRETER) for n in range(lanes)]
        await session.execute(insert(User), users)
        await session.execute(
            insert(ApiToken),
            [{"digest": digest(TOKEN), "user_id": 1, "label": "bench", "created_at": NOW,
              "revoked": False}],
        )  # fmt: skip
        await session.execute(
            insert(InterpreterProfile),
            [{"user_id": 1000 + n, "time_zone": "UTC", "max_per_day": 20, "active": True}
             for n in range(lanes)],
        )  # fmt: skip
        await session.execute(
            insert(InterpreterLanguage),
            [{"user_id": 1000 + n, "language": "pan", "proficiency": "native"}
             for n in range(lanes)],
        )  # fmt: skip
        await session.execute(
            insert(VideoRoom),
            [{"id": n + 1, "facility_id": 1, "name": f"Room {n + 1}", "active": True}
             for n in range(lanes)],
        )  # fmt: skip
        windows = [
            {"owner_kind": kind.value, "owner_id": owner, "weekday": day, "start_minute": 0,
             "end_minute": 1440, "priority_only": False}
            for n in range(lanes)
            for kind, owner in ((OwnerKind.CONSULATE, n + 1), (OwnerKind.INTERPRETER, 1000 + n),
                                (OwnerKind.ROOM, n + 1))
            for day in range(7)
        ]  # fmt: skip
        await session.execute(insert(AvailabilityWindow), windows)
        cases = []
        for n in range(lanes * per_lane * 3):  # enough for the three runs
            cases.append(
                {
                    "id": n + 1, "reference": f"B-{n + 1:06d}", "facility_id": 1,
                    "given_names": "", "family_name": "", "aliases": "", "sex": "unknown",
                    "claimed_nationality": "IN", "other_nationalities": [],
                    "detention_date": NOW.date() - timedelta(days=30),
                    "deadline": NOW.date() + timedelta(days=365),
                    "minor": False, "unaccompanied_minor": False, "asylum_claim": False,
                    "trafficking_victim": False, "medical_needs": False, "status": "open",
                    "queue_priority": 2, "version": 1, "created_at": NOW, "updated_at": NOW,
                }
            )  # fmt: skip
        await session.execute(insert(Case), cases)
        await session.execute(
            insert(CaseLanguage),
            [{"case_id": c["id"], "language": "pan", "note": "", "position": 0} for c in cases],
        )
        lane_of_case = {c["id"]: (c["id"] - 1) % lanes for c in cases}
        await session.execute(
            insert(CaseShare),
            [{"case_id": cid, "consulate_id": lane + 1, "purpose": "bench",
              "legal_basis": "consent", "legal_basis_note": "bench", "shared_by_name": "",
              "shared_at": NOW, "supervisor_justification": "", "revoked_by_name": "",
              "revoke_reason": ""} for cid, lane in lane_of_case.items()],
        )  # fmt: skip
    return {"lanes": lanes, "per_lane": per_lane}


def _plan(lanes: int, per_lane: int, run: int) -> list[list[dict[str, Any]]]:
    """Per lane, its bookings: distinct cases and consecutive slots (run 0 or 1)."""
    plans = []
    for lane in range(lanes):
        slots = _slots(per_lane, offset=run * 60)
        cases = [
            lanes * (run * per_lane + k) + lane + 1 for k in range(per_lane)
        ]  # case ids whose share is with this lane's consulate
        plans.append(
            [
                {
                    "case_id": case_id,
                    "starts_at": start.isoformat(),
                    "consul_id": 100 + lane,
                    "interpreter_id": 1000 + lane,
                    "room_id": lane + 1,
                }
                for case_id, start in zip(cases, slots, strict=True)
            ]
        )
    return plans


def _report(label: str, latencies: list[float], elapsed: float, errors: int) -> None:
    print(
        f"{label:<34} {len(latencies) / elapsed:7.0f} bookings/s  "
        f"p50={statistics.median(latencies):7.1f} ms  p95={_percentile(latencies, 0.95):7.1f} ms"
        f"  errors={errors}"
    )


STAFF = Actor(user_id=1, name="User 1", role=Role.STAFF, facility_id=1)


async def _signed_in(sessionmaker: async_sessionmaker[AsyncSession]) -> User:
    """The staff account, as the auth middleware hands it to a request."""
    async with sessionmaker() as session:
        user = await session.get(User, STAFF.user_id)
    assert user is not None
    return user


async def one_by_one(
    sessionmaker: async_sessionmaker[AsyncSession], lanes: int, per_lane: int, count: int
) -> None:
    """Bookings one after another: statements, thread hops and CPU per booking, and that CPU
    as a multiple of the cheapest round trip (figures that hardly depend on the load)."""
    gate = WriteGate(sessionmaker)
    requester = await _signed_in(sessionmaker)
    plans = _plan(lanes, per_lane, run=2)
    bodies = iter([plan[k] for k in range(per_lane) for plan in plans][: lanes + count])

    async def book() -> None:
        await booking.request_interview(
            gate,
            BookIn.model_validate(next(bodies)),
            booking.Change(STAFF, NOW),
            Policy(),
            requester=requester,
        )

    for _ in range(lanes):  # warm-up: compiled statements, and a server's search cache
        await book()
    statements, hops, cpu = await per_operation(book, count)
    floor = await round_trip_cpu_ms(sessionmaker)
    stick = yardstick_ms()
    print(
        f"one by one: {statements:.1f} statements and {hops:.1f} thread hops per booking; "
        f"CPU {cpu:.2f} ms per booking = {cpu / stick:.2f} yardsticks ({stick:.2f} ms) "
        f"= {cpu / floor:.1f} SELECT 1 round trips ({floor:.3f} ms)"
    )


async def in_process(
    sessionmaker: async_sessionmaker[AsyncSession], lanes: int, per_lane: int
) -> None:
    gate = WriteGate(sessionmaker)
    staff = STAFF
    requester = await _signed_in(sessionmaker)
    plans = _plan(lanes, per_lane, run=0)
    latencies: list[float] = []
    errors = 0

    async def client(plan: list[dict[str, Any]]) -> None:
        nonlocal errors
        for body in plan:
            started = time.perf_counter()
            try:
                await booking.request_interview(
                    gate,
                    BookIn.model_validate(body),
                    booking.Change(staff, NOW),
                    Policy(),
                    requester=requester,
                )
            except BookingError as error:
                errors += 1
                print("refused:", error.message)
            latencies.append((time.perf_counter() - started) * 1000)

    counted = COUNTS.snapshot()
    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(client(plan) for plan in plans))
    elapsed = time.perf_counter() - started
    cpu_ms = (time.process_time() - cpu) * 1000 / len(latencies)
    statements, hops = (b - a for a, b in zip(counted, COUNTS.snapshot(), strict=True))
    _report(f"in-process, {lanes} clients", latencies, elapsed, errors)
    # What the run cost per booking, whatever the wait: with many clients, writes that
    # share a transaction share its statements.
    print(
        f"  per booking: {statements / len(latencies):.1f} statements, "
        f"{hops / len(latencies):.1f} thread hops, CPU {cpu_ms:.2f} ms "
        f"= {cpu_ms / yardstick_ms():.2f} yardsticks"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def over_http(folder: Path, database: Path, lanes: int, per_lane: int) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "CONSULINK_DATA_DIR": str(folder / "data"),
        "CONSULINK_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "CONSULINK_SECRET_KEY": "bench-secret",
        "CONSULINK_PORT": str(port),
    }
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web.cli", "serve", env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as http:
            for _ in range(200):
                try:
                    async with http.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise SystemExit("the server did not start")
            plans = _plan(lanes, per_lane, run=1)
            latencies: list[float] = []
            errors = 0

            async def client(plan: list[dict[str, Any]]) -> None:
                nonlocal errors
                for body in plan:
                    started = time.perf_counter()
                    async with http.post(f"{base}/api/interviews", json=body) as response:
                        if response.status != 201:
                            errors += 1
                            print("refused:", response.status, await response.text())
                        await response.read()
                    latencies.append((time.perf_counter() - started) * 1000)

            cpu_before = process_cpu_seconds(server.pid)
            started = time.perf_counter()
            await asyncio.gather(*(client(plan) for plan in plans))
            elapsed = time.perf_counter() - started
            cpu_after = await settled_cpu_seconds(server.pid)
        _report(f"HTTP, {lanes} clients", latencies, elapsed, errors)
        if cpu_before is not None and cpu_after is not None:
            cpu = (cpu_after - cpu_before) * 1000 / len(latencies)
            print(
                f"  server CPU per booking, its notices included: {cpu:.1f} ms "
                f"= {cpu / yardstick_ms():.2f} yardsticks"
            )
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=20)
    parser.add_argument("--one-by-one", type=int, default=100, help="sequential bookings")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    random.seed(1)
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.db"
        engine = make_engine(f"sqlite+aiosqlite:///{database}")
        await upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        install(engine)
        await build(sessionmaker, args.clients, args.per_client)
        await one_by_one(sessionmaker, args.clients, args.per_client, args.one_by_one)
        await in_process(sessionmaker, args.clients, args.per_client)
        await engine.dispose()
        await over_http(Path(folder), database, args.clients, args.per_client)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
