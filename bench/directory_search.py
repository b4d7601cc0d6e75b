"""Directory search under load: requests/s and latency at N concurrent clients over HTTP.

Seeds 1,000 consulates into a temporary SQLite file, starts the real server
(`consulink serve`) in its own process on a free 127.0.0.1 port, then runs N concurrent
aiohttp clients for a fixed time, each sending varied searches (free text, each filter,
combinations, later pages) with a bearer token, as a script would. Prints figures; it is
not a test and asserts nothing. Goal on 2 cores: p95 <= 20 ms at 50 clients.

    .venv/bin/python bench/directory_search.py [--clients 50] [--seconds 10] [--entries 1000]
    .venv/bin/python bench/directory_search.py --floor   # GET /api/me: HTTP + auth only
    .venv/bin/python bench/directory_search.py --think 1  # 50 people, one search a second each
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
from pathlib import Path

import aiohttp
import pycountry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from interviews import accounts  # noqa: E402
from interviews.accounts import Role  # noqa: E402
from interviews.consulates import (  # noqa: E402
    Consulate,
    ConsulateEvidence,
    ConsulateJurisdiction,
    ConsulateLanguage,
)
from interviews.db import make_engine, make_sessionmaker, upgrade, utcnow  # noqa: E402

LANGUAGES = [
    "spa", "eng", "fra", "por", "hin", "nep", "ben", "urd", "pan", "ara", "cmn", "rus",
    "quc", "mam", "kek", "tzo", "hat", "amh", "tir", "som", "wol", "ful", "yor", "ibo",
    "vie", "tgl", "tam", "tel", "guj", "mar",
]  # fmt: skip
EVIDENCE = ["passport_copy", "national_id", "birth_certificate", "interview", "questionnaire"]
ZONES = ["America/Mexico_City", "America/Panama", "America/Costa_Rica", "America/Guatemala"]
HOSTS = ["MX", "PA", "CR", "GT", "US", "HN", "SV", "NI", "BZ", "CO"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seed(database_url: str, entries: int, rng: random.Random) -> str:
    """Migrate, add `entries` consulates and a staff user; returns the user's bearer token."""
    countries = sorted(str(c.alpha_2) for c in pycountry.countries)
    engine = make_engine(database_url)
    await upgrade(engine)
    async with make_sessionmaker(engine)() as session, session.begin():
        for number in range(entries):
            host = rng.choice(HOSTS)
            country = rng.choice(countries)
            served = sorted(set(rng.sample(HOSTS, rng.randint(1, 4))) | {host})
            spoken = list(dict.fromkeys(["spa", *rng.sample(LANGUAGES, rng.randint(1, 3))]))
            evidence = rng.sample(EVIDENCE, rng.randint(1, 4))
            session.add(
                Consulate(
                    name=f"Consulate {number:04d} of {country} in {host}",
                    country=country,
                    kind=rng.choice(["embassy", "consulate", "consular_section"]),
                    city=f"City {rng.randint(1, 150)}",
                    located_country=host,
                    time_zone=rng.choice(ZONES),
                    phone="+52 55 5555 0000",
                    email=f"c{number}@example.org",
                    website="https://example.org/",
                    emergency_phone="+52 55 5555 0001",
                    opening_hours="Mon–Fri 09:00–14:00",
                    holidays="National holidays",
                    video_interviews=rng.random() < 0.5,
                    questionnaire_name="",
                    notes="",
                    version=1,
                    updated_at=utcnow(),
                    jurisdiction_rows=[ConsulateJurisdiction(country=c) for c in served],
                    language_rows=[
                        ConsulateLanguage(language=code, position=i)
                        for i, code in enumerate(spoken)
                    ],
                    evidence_rows=[
                        ConsulateEvidence(evidence=ev, position=i) for i, ev in enumerate(evidence)
                    ],
                )
            )
        await session.flush()
        user = await accounts.create_user(
            session,
            email="bench@example.org",
            name="Bench",
            role=Role.INTERPRETER,
            password="bench password 123",
        )
        token = await accounts.issue_api_token(session, user, "bench")
    await engine.dispose()
    return token


def queries(rng: random.Random, count: int) -> list[str]:
    """Varied searches, as people use the directory."""
    out = []
    for _ in range(count):
        kind = rng.randrange(8)
        if kind == 0:
            query = ""
        elif kind == 1:
            query = f"country={rng.choice(['IN', 'NP', 'GT', 'HN', 'SV', 'CN', 'CO', 'HT'])}"
        elif kind == 2:
            query = f"jurisdiction={rng.choice(HOSTS)}"
        elif kind == 3:
            query = f"language={rng.choice(LANGUAGES)}"
        elif kind == 4:
            query = f"q=city+{rng.randint(1, 150)}"
        elif kind == 5:
            query = f"jurisdiction={rng.choice(HOSTS)}&language=spa&video=true"
        elif kind == 6:
            query = f"offset={rng.randrange(0, 950, 50)}"
        else:
            query = f"q={rng.randint(0, 9)}&video=false&limit=20"
        out.append("/api/directory" + (f"?{query}" if query else ""))
    return out


async def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    """Poll /healthz for up to 30 s."""
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.poll() is not None:
                raise SystemExit("the server exited during start-up")
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the server did not start within 30 s")


async def load(
    base: str,
    token: str,
    clients: int,
    seconds: float,
    rng: random.Random,
    *,
    only_me: bool = False,
    think: float = 0.0,
) -> None:
    """Run the clients and print the figures.

    With `think` 0 each client sends its next request as soon as the last one is answered
    (a closed loop at saturation: latency is then mostly queueing, clients / throughput).
    With `think` > 0 each client pauses that long between requests, like a person reading
    results, so latency shows the service time at a realistic offered load.
    """
    plan = ["/api/me"] if only_me else queries(rng, 5000)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base, connector=connector, headers=headers) as session:
        # Warm-up: connections, caches, the server's first-request costs.
        for path in plan[:100]:
            async with session.get(path) as response:
                await response.read()
        deadline = time.perf_counter() + seconds

        async def client(number: int) -> None:
            index = number
            while time.perf_counter() < deadline:
                path = plan[index % len(plan)]
                index += clients
                started = time.perf_counter()
                async with session.get(path) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if think:
                    await asyncio.sleep(think)

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    cuts = statistics.quantiles(latencies, n=100)
    print(f"clients          {clients}  (think time {think:.2f} s between requests)")
    print(f"duration         {elapsed:.1f} s")
    print(f"requests         {len(latencies)}  statuses {dict(sorted(statuses.items()))}")
    print(f"requests/s       {len(latencies) / elapsed:.0f}")
    print(f"latency p50      {cuts[49] * 1000:.1f} ms")
    print(f"latency p95      {cuts[94] * 1000:.1f} ms")
    print(f"latency p99      {cuts[98] * 1000:.1f} ms")
    print(f"latency max      {latencies[-1] * 1000:.1f} ms")


def run(arguments: argparse.Namespace) -> None:
    """Seed, serve in another process, load, stop."""
    rng = random.Random(20121203)
    with tempfile.TemporaryDirectory(prefix="consulink-bench-") as folder:
        data_dir = Path(folder)
        database_url = f"sqlite+aiosqlite:///{data_dir / 'consulink.db'}"
        started = time.perf_counter()
        token = asyncio.run(seed(database_url, arguments.entries, rng))
        took = time.perf_counter() - started
        print(f"seeded           {arguments.entries} consulates in {took:.1f} s")
        port = free_port()
        env = {**os.environ, "CONSULINK_DATA_DIR": str(data_dir), "CONSULINK_SECRET_KEY": "bench"}
        env.pop("CONSULINK_DATABASE_URL", None)
        command = [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1"]
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
        )
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(wait_until_up(base, process))
            asyncio.run(
                load(
                    base,
                    token,
                    arguments.clients,
                    arguments.seconds,
                    rng,
                    only_me=arguments.floor,
                    think=arguments.think,
                )
            )
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument(
        "--floor",
        action="store_true",
        help="load GET /api/me instead: the cost of HTTP plus sign-in checks alone",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds each client waits between requests (0: closed loop at saturation)",
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
