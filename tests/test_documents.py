"""Staff attach identity documents; the server checks them from their content, stores them
encrypted, and hands them out only to those entitled, watermarked for consuls."""

from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfReader

from interviews.document_store import MAGIC, DocumentKeyError, DocumentStore
from tests.conftest import World
from tests.test_cases_support import (
    Client,
    Sessions,
    audit_rows,
    bearer,
    document_count,
    jpeg_with_gps,
    new_case,
    other_facility_staff,
    pdf_bytes,
    png_bomb,
    png_bytes,
    share_with,
    upload,
    upload_raw_name,
)
from web.settings import Settings


async def test_a_phone_photo_loses_its_exif_and_gps_and_is_stored_encrypted(
    client: Client, db: Sessions, world: World, settings: Settings
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825), "fixture has GPS"
    response = await upload(client, staff, case["id"], original, "pasaporte.jpg")
    assert response.status == 201, await response.text()
    document = await response.json()
    assert document["content_type"] == "image/jpeg"
    assert (document["width"], document["height"]) == (800, 600)
    assert document["filename"] == "pasaporte.jpg"

    download = await client.get(document["url"], headers=staff)
    assert download.status == 200
    assert download.headers["Content-Type"] == "image/jpeg"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith('inline; filename="pasaporte.jpg"')
    served = await download.read()
    image = Image.open(io.BytesIO(served))
    assert image.size == (800, 600)
    assert len(image.getexif()) == 0
    assert b"PhoneMaker" not in served and b"Exif" not in served

    stored = [p for p in (settings.data_dir / "documents").rglob("*") if p.is_file()]
    assert len(stored) == 2  # the image and its thumbnail
    for path in stored:
        blob = path.read_bytes()
        assert blob.startswith(MAGIC)
        assert served not in blob and b"JFIF" not in blob
    assert (settings.data_dir / "document.key").stat().st_mode & 0o777 == 0o600
    assert [row.target_id for row in await audit_rows(db, "document.download")] == [
        str(document["id"])
    ]


async def test_a_png_keeps_its_pixels_but_not_its_text_chunks_and_has_a_thumbnail(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    response = await upload(client, staff, case["id"], png_bytes((1000, 700)), "id.png", "photo")
    assert response.status == 201
    document = await response.json()
    served = await (await client.get(document["url"], headers=staff)).read()
    assert b"scanner operator" not in served
    thumb = await client.get(f"/api/documents/{document['id']}/thumbnail", headers=staff)
    assert thumb.status == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(await thumb.read())).size) == 320
    seen = await (await client.get(f"/api/cases/{case['id']}", headers=staff)).json()
    assert seen["photo_document_id"] == document["id"]


async def test_a_pdf_is_rebuilt_without_metadata_and_downloads_as_an_attachment(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    response = await upload(client, staff, case["id"], pdf_bytes(3), "pasaporte copia.pdf")
    assert response.status == 201, await response.text()
    document = await response.json()
    assert document["pages"] == 3 and document["has_thumbnail"] is False
    download = await client.get(document["url"] + "?download=1", headers=staff)
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"pasaporte copia.pdf\"; filename*=UTF-8''pasaporte%20copia.pdf"
    )
    reader = PdfReader(io.BytesIO(await download.read()))
    assert len(reader.pages) == 3
    assert "PASSPORT / PASAPORTE - page 2" in reader.pages[1].extract_text()
    assert not (reader.metadata or {}).get("/Author")


async def test_bad_files_are_refused_with_a_clear_error_and_nothing_is_stored(
    client: Client, db: Sessions, world: World, settings: Settings
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    pdf = pdf_bytes(1)
    refused = [
        (png_bytes(), "scan.pdf", "passport_copy", 415, "PNG"),
        (b"<!doctype html><script>alert(1)</script>", "photo.jpg", "photo", 415, "PDF, JPEG"),
        (b"", "empty.pdf", "passport_copy", 400, "empty"),
        (png_bomb(), "bomb.png", "photo", 413, "20000 × 20000"),
        (pdf[: len(pdf) // 2], "cut.pdf", "passport_copy", 400, "incomplete"),
        (pdf[:-200] + b"\n%%EOF\n", "cut-but-ended.pdf", "passport_copy", 400, "cannot be read"),
        (png_bytes(), "../../etc/passwd.png", "photo", 400, "plain name"),
        (png_bytes(), "gpj.\u202epng", "photo", 400, "plain name"),
        (pdf, "certificate.pdf", "photo", 400, "JPEG or PNG"),
        (png_bytes(), "ok.png", "selfie", 400, "kind"),
    ]
    for data, name, kind, status, words in refused:
        response = await upload(client, staff, case["id"], data, name, kind)
        assert response.status == status, (name, await response.text())
        error = (await response.json())["error"]
        assert words in error["message"] + str(error["details"]), (name, error)
    for raw in (b"photo\x07.png", b"..\\..\\boot.png", b"a\x1b[31m.png"):
        response = await upload_raw_name(client, staff, case["id"], png_bytes(), raw)
        assert response.status == 400, (raw, await response.text())
    assert await document_count(db) == 0
    store = settings.data_dir / "documents"
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))
    assert await audit_rows(db, "document.upload") == []


async def test_a_file_over_the_limit_is_refused_with_413(
    client: Client, db: Sessions, world: World, settings: Settings
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    limit = settings.max_document_bytes
    big = pdf_bytes(1) + b"\n%" + b"x" * (limit + 10)
    response = await upload(client, staff, case["id"], big, "huge.pdf")
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "too_large"
    assert await document_count(db) == 0


async def test_uploads_bigger_than_the_json_body_limit_are_accepted_up_to_the_document_limit(
    client: Client, db: Sessions, world: World, settings: Settings
) -> None:
    assert settings.max_document_bytes > 3 * settings.max_body_bytes
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    noisy = Image.effect_noise((1400, 1000), 90).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, format="PNG")
    assert len(out.getvalue()) > settings.max_body_bytes
    response = await upload(client, staff, case["id"], out.getvalue(), "scan.png")
    assert response.status == 201, await response.text()


async def test_another_facility_cannot_download_or_list_the_documents(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    document = await (await upload(client, staff, case["id"], jpeg_with_gps(), "p.jpg")).json()
    _facility, email = await other_facility_staff(db)
    outsider = await bearer(db, email)
    for url in (
        document["url"],
        f"/api/documents/{document['id']}/thumbnail",
        f"/api/documents/{document['id']}",
        f"/api/cases/{case['id']}/documents",
    ):
        response = await client.get(url, headers=outsider)
        assert response.status == 403, url
        assert response.headers["Content-Type"].startswith("application/json")
    again = await upload(client, outsider, case["id"], jpeg_with_gps(), "mine.jpg")
    assert again.status == 403
    missing = await client.get("/api/documents/9999/content", headers=staff)
    assert missing.status == 404
    assert await audit_rows(db, "document.download") == []


async def test_the_consul_gets_a_copy_watermarked_with_their_name_and_the_time(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    image = await (await upload(client, staff, case["id"], png_bytes((900, 600)), "p.png")).json()
    pdf = await (await upload(client, staff, case["id"], pdf_bytes(2), "passport.pdf")).json()
    consul = await bearer(db, "consul.in@example.org")
    before = await client.get(image["url"], headers=consul)
    assert before.status == 403
    assert (await share_with(client, staff, case["id"], world.india.id)).status == 201

    original = Image.open(io.BytesIO(await (await client.get(image["url"], headers=staff)).read()))
    marked_response = await client.get(image["url"], headers=consul)
    assert marked_response.status == 200
    marked = Image.open(io.BytesIO(await marked_response.read())).convert("RGB")
    assert marked.size == original.size
    # The page was plain white; the watermark put dark text in the band at the foot.
    foot = marked.crop((0, 560, 900, 600)).convert("L")
    assert foot.getextrema()[0] < 80
    assert original.convert("L").getextrema()[0] > 200

    text = PdfReader(io.BytesIO(await (await client.get(pdf["url"], headers=consul)).read()))
    for page in text.pages:
        words = page.extract_text()
        assert "Consul.In" in words and "consul.in@example.org" in words and "UTC" in words
    rows = await audit_rows(db, "document.download")
    assert [(row.user_id, row.details["watermarked"]) for row in rows] == [
        (world.staff.id, False),
        (world.consul_india.id, True),
        (world.consul_india.id, True),
    ]


async def test_a_wrong_document_key_refuses_to_serve_rather_than_serving_garbage(
    client: Client, db: Sessions, world: World, settings: Settings
) -> None:

    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    document = await (await upload(client, staff, case["id"], png_bytes(), "p.png")).json()
    served = await (await client.get(document["url"], headers=staff)).read()
    other = DocumentStore(settings.data_dir / "documents", b"k" * 32)
    digest = next(p.name for p in (settings.data_dir / "documents").rglob("*") if p.is_file())
    try:
        other.get(digest)
    except DocumentKeyError as error:
        assert "another document key" in str(error)
    else:
        raise AssertionError("a wrong key decrypted the file")
    assert served.startswith(b"\x89PNG")
