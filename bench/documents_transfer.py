"""Upload and download of 5 MB scans at 10 concurrent clients: MB/s and p95 latency.

Starts `consulink serve` in its own process on 127.0.0.1 (its own SQLite file and data
folder), seeds a facility, a staff member and a consul with tokens, then runs the clients
from this process: uploads of 5 MB JPEG scans (checked, re-encoded without metadata,
thumbnailed, encrypted) and 5 MB PDF scans (parsed, rebuilt, encrypted), then downloads
of them by staff (decrypted original) and by the consul (watermarked on the fly).
Prints figures; asserts nothing about time.

    .venv/bin/python bench/documents_transfer.py
    .venv/bin/python bench/documents_transfer.py --clients 10 --per-client 3
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from fpdf import FPDF
from PIL import Image

from interviews import accounts
from interviews.accounts import Role
from interviews.cases import Case
from interviews.consulates import Consulate
from interviews.db import make_engine, make_sessionmaker
from interviews.facilities import Facility
from interviews.sharing import CaseShare

ROOT = Path(__file__).resolve().parent.parent
TARGET = 5 * 1024 * 1024


def scan_jpeg(seed: int) -> bytes:
    """A noisy A4-ish scan that JPEG cannot shrink much: about 5 MB."""
    side = (2100, 2700)
    image = Image.effect_noise(side, 60 + seed % 7).convert("RGB")
    image.paste((seed * 37 % 255, 0, 0), (0, 0, 40, 40))  # distinct content per upload
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=93)
    return out.getvalue()


def scan_pdf(jpeg: bytes) -> bytes:
    """A one-page PDF wrapping a scanned JPEG, as scanners produce."""
    pdf = FPDF(unit="pt", format=(595, 842))
    pdf.add_page()
    pdf.image(io.BytesIO(jpeg), x=0, y=0, w=595, h=842)
    return bytes(pdf.output())


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seed(database_url: str) -> tuple[str, str, int]:
    """A facility, staff member, consul, one case shared with the consul; their tokens."""
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        facility = Facility(name="Bench", country="MX", city="Tapachula", time_zone="UTC")
        consulate = Consulate(
            name="Bench consulate",
            country="IN",
            kind="embassy",
            city="Washington",
            located_country="US",
            time_zone="America/New_York",
        )
        session.add_all([facility, consulate])
        await session.flush()
        staff = await accounts.create_user(
            session,
            email="staff@bench.org",
            name="Bench Staff",
            role=Role.STAFF,
            password="correct horse battery",
            facility_id=facility.id,
        )
        consul = await accounts.create_user(
            session,
            email="consul@bench.org",
            name="Bench Consul",
            role=Role.CONSUL,
            password="correct horse battery",
            consulate_id=consulate.id,
        )
        today = date.today()
        case = Case(
            reference="TAP-2026-0001",
            facility_id=facility.id,
            family_name="Bench",
            claimed_nationality="IN",
            detention_date=today,
            deadline=today + timedelta(days=60),
        )
        session.add(case)
        await session.flush()
        session.add(
            CaseShare(
                case_id=case.id,
                consulate_id=consulate.id,
                purpose="bench",
                legal_basis="consent",
                legal_basis_note="bench",
            )
        )
        tokens = (
            await accounts.issue_api_token(session, staff),
            await accounts.issue_api_token(session, consul),
            case.id,
        )
    await engine.dispose()
    return tokens


def figures(label: str, seconds: list[float], total_bytes: int, wall: float) -> None:
    """Print throughput and latency of one phase."""
    ordered = sorted(seconds)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(
        f"{label:<36} n={len(ordered):3d}  {total_bytes / wall / 1e6:6.1f} MB/s  "
        f"p50={statistics.median(ordered) * 1000:7.0f} ms  p95={p95 * 1000:7.0f} ms"
    )


async def run(args: argparse.Namespace) -> None:
    """Start the server, seed, run the phases, print."""
    print("making scans…", flush=True)
    count = args.clients * args.per_client
    jpegs = [scan_jpeg(n) for n in range(count)]
    pdfs = [scan_pdf(jpeg) for jpeg in jpegs]
    print(
        f"JPEG scans ≈ {statistics.mean(map(len, jpegs)) / 1e6:.1f} MB, "
        f"PDF scans ≈ {statistics.mean(map(len, pdfs)) / 1e6:.1f} MB"
    )
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        env = {
            **os.environ,
            "CONSULINK_DATA_DIR": folder,
            "CONSULINK_SECRET_KEY": "bench-secret",
            "CONSULINK_MAX_DOCUMENT_BYTES": str(12 * 1024 * 1024),
        }
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from web.cli import main; main()",
            "serve",
            "--port",
            str(port),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as http:
                for _ in range(200):  # up to 20 s for migrations and start-up
                    try:
                        async with http.get(base + "/healthz") as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        pass
                    await asyncio.sleep(0.1)
                staff, consul, case_id = await seed(
                    f"sqlite+aiosqlite:///{Path(folder) / 'consulink.db'}"
                )
                await phases(http, base, staff, consul, case_id, jpegs, pdfs, args)
        finally:
            server.terminate()
            await server.wait()


async def phases(
    http: aiohttp.ClientSession,
    base: str,
    staff: str,
    consul: str,
    case_id: int,
    jpegs: list[bytes],
    pdfs: list[bytes],
    args: argparse.Namespace,
) -> None:
    """Upload both kinds, then download as staff and as consul, `clients` at a time."""
    gate = asyncio.Semaphore(args.clients)

    async def upload(data: bytes, name: str) -> tuple[float, int]:
        form = aiohttp.FormData()
        form.add_field("kind", "passport_copy")
        form.add_field("file", io.BytesIO(data), filename=name)
        async with gate:
            begin = time.perf_counter()
            async with http.post(
                f"{base}/api/cases/{case_id}/documents",
                data=form,
                headers={"Authorization": f"Bearer {staff}"},
            ) as response:
                body: dict[str, Any] = await response.json()
                assert response.status == 201, body
            return time.perf_counter() - begin, int(body["id"])

    async def download(document_id: int, token: str) -> tuple[float, int]:
        async with gate:
            begin = time.perf_counter()
            async with http.get(
                f"{base}/api/documents/{document_id}/content",
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                data = await response.read()
                assert response.status == 200
            return time.perf_counter() - begin, len(data)

    ids: dict[str, list[int]] = {}
    for kind, scans in (("JPEG", jpegs), ("PDF", pdfs)):
        begin = time.perf_counter()
        done = await asyncio.gather(
            *(upload(d, f"scan{i}.{kind.lower()}") for i, d in enumerate(scans))
        )
        figures(
            f"upload {kind} ({args.clients} clients)",
            [t for t, _ in done],
            sum(map(len, scans)),
            time.perf_counter() - begin,
        )
        ids[kind] = [document_id for _, document_id in done]
    for who, token in (("staff", staff), ("consul, watermarked", consul)):
        for kind in ("JPEG", "PDF"):
            begin = time.perf_counter()
            done = await asyncio.gather(*(download(i, token) for i in ids[kind]))
            figures(
                f"download {kind} {who}",
                [t for t, _ in done],
                sum(size for _, size in done),
                time.perf_counter() - begin,
            )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--per-client", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
