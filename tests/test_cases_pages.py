"""Staff and consuls use the case pages in a browser-like way: forms, redirects, Spanish."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import aiohttp

from tests.conftest import World, sign_in
from tests.test_cases_support import (
    Client,
    Sessions,
    audit_rows,
    bearer,
    document_count,
    new_case,
    png_bytes,
    share_with,
)


def _form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, **fields}


async def test_staff_opens_a_case_from_the_form_and_sees_it_in_the_queue(
    client: Client, db: Sessions, world: World
) -> None:
    csrf = await sign_in(client, "staff@example.org")
    page = await client.get("/cases/new")
    assert page.status == 200
    assert 'name="csrf_token"' in await page.text()
    bad = await client.post(
        "/cases/new",
        data=_form(csrf, family_name="<b>Singh</b>", claimed_nationality="", language_1="zzz"),
    )
    assert bad.status == 400
    text = await bad.text()
    assert 'aria-invalid="true"' in text and "&lt;b&gt;Singh&lt;/b&gt;" in text
    detained = (date.today() - timedelta(days=58)).isoformat()
    created = await client.post(
        "/cases/new",
        data=_form(
            csrf,
            given_names="Ram",
            family_name="<b>Thapa</b>",
            claimed_nationality="NP",
            language_1="nep",
            note_1="Eastern dialect",
            detention_date=detained,
            unaccompanied_minor="on",
            estimated_age="16",
        ),
        allow_redirects=False,
    )
    assert created.status == 303, await created.text()
    location = created.headers["Location"]
    assert re.fullmatch(r"/cases/\d+\?done=created", location)
    case_page = await (await client.get(location)).text()
    assert "The case was opened." in case_page
    assert "&lt;b&gt;Thapa&lt;/b&gt;" in case_page and "<b>Thapa</b>" not in case_page
    assert "Unaccompanied minor" in case_page and "Eastern dialect" in case_page
    assert "2 days left" in case_page
    queue = await (await client.get("/cases")).text()
    assert "TAP-" in queue and "Unaccompanied minor" in queue and "2 days left" in queue
    assert len(await audit_rows(db, "case.view")) == 1


async def test_the_queue_says_overdue_in_words_and_in_spanish(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    await new_case(
        client,
        staff,
        detention_date=(date.today() - timedelta(days=70)).isoformat(),
        deadline=(date.today() - timedelta(days=3)).isoformat(),
    )
    await sign_in(client, "staff@example.org")
    english = await (await client.get("/cases")).text()
    assert "Overdue by 3 days" in english and "urgency-overdue" in english
    client.session.cookie_jar.update_cookies({"consulink_lang": "es"})  # the language switch
    spanish = await (await client.get("/cases")).text()
    assert "Cola de trabajo" in spanish and "Vencido hace 3 días" in spanish
    bad = await client.get("/cases?language=zzz")
    assert bad.status == 400 and "unknown language" in await bad.text()


async def test_status_share_revoke_and_upload_through_the_case_page(
    client: Client, db: Sessions, world: World
) -> None:
    staff_api = await bearer(db, "staff@example.org")
    case = await new_case(client, staff_api)
    csrf = await sign_in(client, "staff@example.org")
    url = f"/cases/{case['id']}"
    moved = await client.post(
        f"{url}/status",
        data=_form(csrf, status="interview_requested", reason="Consul asked"),
        allow_redirects=False,
    )
    assert moved.status == 303
    refused = await client.post(
        f"{url}/status", data=_form(csrf, status="closed_returned", reason="x")
    )
    assert refused.status == 400
    share_page = await client.get(f"{url}/share")
    assert share_page.status == 200
    missing = await client.post(
        f"{url}/share",
        data=_form(
            csrf,
            consulate_id=str(world.india.id),
            purpose="",
            legal_basis="consent",
            legal_basis_note="",
        ),
    )
    assert missing.status == 400
    shared = await client.post(
        f"{url}/share",
        data=_form(
            csrf,
            consulate_id=str(world.india.id),
            purpose="Identification",
            legal_basis="consent",
            legal_basis_note="Signed form",
        ),
        allow_redirects=False,
    )
    assert shared.status == 303
    page = await (await client.get(url)).text()
    assert "Embassy of India, Washington DC" in page and "Signed form" in page
    share_id = re.search(r"/shares/(\d+)/revoke", page)
    assert share_id
    revoked = await client.post(
        f"{url}/shares/{share_id.group(1)}/revoke",
        data=_form(csrf, reason="Consent withdrawn"),
        allow_redirects=False,
    )
    assert revoked.status == 303
    assert "Consent withdrawn" in await (await client.get(url)).text()

    upload_page = await client.get(f"{url}/upload")
    assert upload_page.status == 200 and "cases-upload" in await upload_page.text()
    form = aiohttp.FormData()
    form.add_field("csrf_token", csrf)
    form.add_field("kind", "photo")
    form.add_field("file", io.BytesIO(png_bytes()), filename="foto.png", content_type="image/png")
    uploaded = await client.post(f"{url}/upload", data=form, allow_redirects=False)
    assert uploaded.status == 303, await uploaded.text()
    assert "/thumbnail" in await (await client.get(url)).text()
    bad = aiohttp.FormData()
    bad.add_field("csrf_token", csrf)
    bad.add_field("kind", "photo")
    bad.add_field("file", io.BytesIO(b"<html>"), filename="x.jpg", content_type="image/jpeg")
    refused_upload = await client.post(f"{url}/upload", data=bad)
    assert refused_upload.status == 415
    assert "only PDF, JPEG and PNG" in await refused_upload.text()
    assert await document_count(db) == 1


async def test_the_consul_page_hides_protective_flags_and_staff_controls(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff, trafficking_victim=True)
    await share_with(client, staff, case["id"], world.india.id)
    await sign_in(client, "consul.in@example.org")
    queue = await (await client.get("/cases")).text()
    assert "Shared cases" in queue and case["reference"] in queue
    page = await client.get(f"/cases/{case['id']}")
    assert page.status == 200
    text = await page.text()
    assert "Possible trafficking victim" not in text
    assert "Each copy you open carries your name and the time." in text
    # The questionnaire result panel sits on the case page, with the consul's way in.
    assert "Identification questionnaire" in text and "Fill the questionnaire" in text
    assert "/status" not in text and "Share with a consulate" not in text
    assert (await client.get(f"/cases/{case['id']}/edit")).status == 403
    assert (await client.get("/cases/new")).status == 403


async def test_the_share_form_warns_about_an_asylum_claim_and_names_the_country(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff, asylum_claim=True, other_nationalities=["NP"])
    await sign_in(client, "staff@example.org")
    page = await client.get(f"/cases/{case['id']}/share")
    assert page.status == 200
    text = await page.text()
    assert "This person claims asylum or refugee status." in text
    assert "India, Nepal" in text
    assert "supervisor_justification" not in text  # only a supervisor gets that field
