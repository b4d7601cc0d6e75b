"""Helpers the case, queue, document and sharing tests share (no tests here).

Files are made for real (Pillow, fpdf2) so every check runs on genuine bytes.
"""

from __future__ import annotations

import io
import struct
import zlib
from datetime import date, timedelta
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from fpdf import FPDF
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews import accounts
from interviews.accounts import Role
from interviews.audit import AuditEvent
from interviews.documents import Document
from interviews.facilities import Facility

Client = TestClient[Any, Any]
Sessions = async_sessionmaker[AsyncSession]


async def bearer(db: Sessions, email: str) -> dict[str, str]:
    """Authorization headers with a fresh API token of the user."""
    async with db() as session, session.begin():
        user = await accounts.find_user(session, email)
        assert user is not None
        token = await accounts.issue_api_token(session, user, "tests")
    return {"Authorization": f"Bearer {token}"}


def case_body(**overrides: Any) -> dict[str, Any]:
    """A valid new case: an adult man who says he is from India and speaks Punjabi."""
    body: dict[str, Any] = {
        "given_names": "Gurpreet",
        "family_name": "Singh",
        "sex": "male",
        "estimated_age": 30,
        "claimed_nationality": "IN",
        "languages": [{"language": "pan", "note": "Doabi dialect"}, {"language": "hin"}],
        "detention_date": (date.today() - timedelta(days=3)).isoformat(),
    }
    body.update(overrides)
    return body


async def new_case(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """Open a case through the API and return it."""
    response = await client.post("/api/cases", json=case_body(**overrides), headers=headers)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def share_with(
    client: Client, headers: dict[str, str], case_id: int, consulate_id: int, **extra: Any
) -> Any:
    """Share a case with a consulate on the person's consent; returns the response."""
    body = {
        "consulate_id": consulate_id,
        "purpose": "Identification interview",
        "legal_basis": "consent",
        "legal_basis_note": "Signed consent form, read to him in Punjabi",
        **extra,
    }
    return await client.post(f"/api/cases/{case_id}/shares", json=body, headers=headers)


async def other_facility_staff(db: Sessions) -> tuple[Facility, str]:
    """A second facility with a staff member of its own; returns it and the e-mail."""
    async with db() as session, session.begin():
        facility = Facility(
            name="Estación Migratoria Acayucan",
            country="MX",
            city="Acayucan",
            time_zone="America/Mexico_City",
        )
        session.add(facility)
        await session.flush()
        await accounts.create_user(
            session,
            email="staff.acayucan@example.org",
            name="Staff Acayucan",
            role=Role.STAFF,
            password="correct horse battery",
            facility_id=facility.id,
        )
    return facility, "staff.acayucan@example.org"


async def audit_rows(db: Sessions, action: str) -> list[AuditEvent]:
    """Audit events of one kind, oldest first."""
    async with db() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows.all())


async def document_count(db: Sessions) -> int:
    """How many documents are stored."""
    async with db() as session:
        return int(await session.scalar(select(func.count()).select_from(Document)) or 0)


def jpeg_with_gps(size: tuple[int, int] = (800, 600)) -> bytes:
    """A JPEG photo carrying EXIF camera make and GPS position, as phones write them."""
    image = Image.new("RGB", size, (180, 200, 220))
    for x in range(0, size[0], 40):
        image.paste((20, 40, 60), (x, 0, x + 10, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (14.0, 54.0, 30.0), 3: "W", 4: (92.0, 15.0, 10.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (300, 200)) -> bytes:
    """A small PNG with a text chunk (metadata that must not survive)."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "scanner operator")
    out = io.BytesIO()
    Image.new("RGB", size, (250, 250, 250)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def pdf_bytes(pages: int = 2) -> bytes:
    """A real PDF of a passport copy, with document metadata."""
    pdf = FPDF()
    pdf.set_title("Passport scan")
    pdf.set_author("Scanner 3000")
    pdf.set_font("Helvetica", size=18)
    for number in range(pages):
        pdf.add_page()
        pdf.text(20, 30, f"PASSPORT / PASAPORTE - page {number + 1}")
    return bytes(pdf.output())


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG whose header claims width × height pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + _chunk(b"IEND", b"")
    )


async def upload(
    client: Client,
    headers: dict[str, str],
    case_id: int,
    data: bytes,
    filename: str,
    kind: str = "passport_copy",
) -> Any:
    """Upload a file as a browser would (multipart); returns the response."""
    form = aiohttp.FormData()
    form.add_field("kind", kind)
    # A file object, as aiohttp warns about (and tests turn into errors) large raw bytes.
    form.add_field(
        "file", io.BytesIO(data), filename=filename, content_type="application/octet-stream"
    )
    return await client.post(f"/api/cases/{case_id}/documents", data=form, headers=headers)


async def upload_raw_name(
    client: Client, headers: dict[str, str], case_id: int, data: bytes, raw_name: bytes
) -> Any:
    """Upload with the file name's bytes exactly as given (as a hostile client could)."""
    boundary = "----consulinktestboundary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="kind"\r\n\r\n'
        "photo\r\n"
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + raw_name
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return await client.post(
        f"/api/cases/{case_id}/documents",
        data=io.BytesIO(body),
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
