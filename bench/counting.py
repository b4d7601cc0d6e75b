"""Machine-independent figures for the benchmarks: SQL statements and aiosqlite thread hops.

Timings on the shared 2-core machine swing with other people's load; how many statements
an operation sends and how many times it crosses to aiosqlite's worker thread do not.
Both counters are for benchmarks only (a listener on the engine, a wrapper around
aiosqlite's one entry to its thread); nothing in the product uses them.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import aiosqlite
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


@dataclass
class Counts:
    """Running totals; subtract two snapshots to get one operation's share."""

    statements: int = 0
    hops: int = 0

    def snapshot(self) -> tuple[int, int]:
        return self.statements, self.hops


COUNTS = Counts()
_original_execute = aiosqlite.Connection._execute


async def _counted_execute(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
    COUNTS.hops += 1
    return await _original_execute(self, fn, *args, **kwargs)


def install(engine: AsyncEngine) -> Counts:
    """Count every statement `engine` sends and every hop to any aiosqlite thread."""
    aiosqlite.Connection._execute = _counted_execute  # type: ignore[method-assign]

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        COUNTS.statements += 1

    return COUNTS


async def per_operation(
    operation: Callable[[], Coroutine[Any, Any, Any]], repeats: int
) -> tuple[float, float, float]:
    """Statements, hops and CPU milliseconds per call of `operation`, run `repeats` times
    one after another (no concurrency, so the figures are the operation's own)."""
    before = COUNTS.snapshot()
    cpu = time.process_time()
    for _ in range(repeats):
        await operation()
    cpu_ms = (time.process_time() - cpu) * 1000 / repeats
    after = COUNTS.snapshot()
    return (after[0] - before[0]) / repeats, (after[1] - before[1]) / repeats, cpu_ms


def yardstick_ms() -> float:
    """CPU milliseconds of a fixed pure-Python workload (JSON and SHA-256 of a small
    document, 2,000 times): dividing CPU figures by it makes them comparable across
    machines and loads, and it does not change with consulink's code."""
    document = {"id": 1, "names": ["a" * 20] * 10, "times": list(range(50)), "ok": True}
    best = float("inf")
    for _ in range(5):  # the least of five: other processes only ever add time
        started = time.process_time()
        for n in range(2000):
            document["id"] = n
            sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
        best = min(best, (time.process_time() - started) * 1000)
    return best


async def round_trip_cpu_ms(sessionmaker: async_sessionmaker[AsyncSession]) -> float:
    """CPU milliseconds of the cheapest database round trip (a session, `SELECT 1`, close)."""

    async def one() -> None:
        async with sessionmaker() as session:
            await session.execute(text("SELECT 1"))

    for _ in range(20):
        await one()
    _, _, cpu = await per_operation(one, 200)
    return cpu


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds another process has used so far (Linux /proc), or None
    where /proc is not available. The benches read the server's before and after a run:
    its CPU per request does not include queueing, so it varies far less with the load."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def settled_cpu_seconds(pid: int, *, limit: float = 120.0) -> float | None:
    """`process_cpu_seconds` once the process has gone (nearly) idle: work a run left
    queued, such as the job runner's notices after a booking run, is counted too."""
    last = process_cpu_seconds(pid)
    waited = 0.0
    while last is not None and waited < limit:
        await asyncio.sleep(0.5)
        waited += 0.5
        now = process_cpu_seconds(pid)
        if now is None or now - last < 0.05:  # under 10% of a core for half a second
            return now
        last = now
    return last
