"""The directory's pages: search, detail, history, forms and CSV import, as a browser sees them."""

from __future__ import annotations

import html
import re
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import World, sign_in
from tests.test_directory_api import audit_actions, bearer, count_entries, entry_body, entry_json
from tests.test_directory_csv import GOOD_ROW, _csv


def form_of(entry: dict[str, Any], csrf: str, **changes: Any) -> FormData:
    """What the edit form posts for an entry, with some fields changed."""
    data = {**entry, **changes}
    form: dict[str, Any] = {
        "csrf_token": csrf,
        **{
            k: "" if data.get(k) is None else str(data[k])
            for k in (
                "name",
                "country",
                "kind",
                "city",
                "located_country",
                "time_zone",
                "phone",
                "email",
                "website",
                "emergency_phone",
                "opening_hours",
                "holidays",
                "questionnaire_name",
                "questionnaire_parameters",
                "questionnaire_required",
                "travel_document_days",
                "notes",
            )
        },
        "jurisdiction": ", ".join(data.get("jurisdiction", [])),
        "languages": ", ".join(data.get("languages", [])),
    }
    if "version" in data:
        form["version"] = str(data["version"])
    if data.get("video_interviews"):
        form["video_interviews"] = "on"
    posted = FormData()
    for key, value in form.items():
        posted.add_field(key, value)
    for evidence in data["accepted_evidence"]:
        posted.add_field("accepted_evidence", evidence)
    return posted


async def _page(client: TestClient[Any, Any], url: str, status: int = 200) -> str:
    response = await client.get(url)
    text = await response.text()
    assert response.status == status, text[:2000]
    return text


async def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient[Any, Any]) -> None:
    response = await client.get("/directory?country=NP", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login?next=")


async def test_staff_search_by_country_and_see_the_count(
    client: TestClient[Any, Any], world: World
) -> None:
    await sign_in(client, "staff@example.org")
    page = await _page(client, "/directory")
    assert "2 entries found" in page
    assert '<option value="NP">Nepal</option>' in page
    nepal = await _page(client, "/directory?country=NP")
    assert "1 entry found" in nepal
    assert "Embassy of Nepal, Washington DC" in nepal
    assert "Embassy of India" not in nepal
    assert '<option value="NP" selected>' in nepal
    # staff may not add or import, and get no edit links
    assert "/directory/new" not in page and "/directory/import" not in page
    assert "/edit" not in page


async def test_the_search_page_in_spanish_with_localized_names(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    body = entry_body(country="DE", jurisdiction=["MX"], languages=["deu"])
    assert (await client.post("/api/directory", json=body, headers=admin)).status == 201
    await sign_in(client, "interpreter@example.org")
    client.session.cookie_jar.update_cookies({"consulink_lang": "es"})
    page = await _page(client, "/directory?language=deu")
    assert '<html lang="es">' in page
    assert "Directorio consular" in page and "Buscar" in page
    assert "1 entrada encontrada" in page
    assert '<option value="DE">Alemania</option>' in page
    assert '<option value="deu" selected>Alemán</option>' in page
    assert "Alemán" in page and "Sí" in page


async def test_bad_filters_on_the_page_are_explained_not_crashed(
    client: TestClient[Any, Any], world: World
) -> None:
    await sign_in(client, "staff@example.org")
    page = await _page(client, "/directory?country=XX&language=zzz", status=400)
    assert "Unknown country code: XX" in page
    assert "Unknown language code: zzz" in page


async def test_paging_through_results(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    for number in range(28):
        body = entry_body(name=f"Consulate number {number:02d}", country="GT", jurisdiction=["MX"])
        assert (await client.post("/api/directory", json=body, headers=admin)).status == 201
    await sign_in(client, "staff@example.org")
    first = await _page(client, "/directory?country=GT")
    assert "28 entries found" in first and "showing 1–25" in first
    assert first.count('href="/directory/') - first.count('href="/directory/new') >= 25
    links = re.findall(r'href="([^"]+)" rel="next"', first)
    assert links == ["/directory?country=GT&amp;offset=25"]
    second = await _page(client, html.unescape(links[0]))
    assert "showing 26–28" in second
    assert "Consulate number 27" in second and "Consulate number 00" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second


async def test_the_detail_page_shows_everything_and_edit_only_where_allowed(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    body = entry_body(
        name="Embassy of India, Washington DC",
        country="IN",
        located_country="US",
        city="Washington",
        time_zone="America/New_York",
        languages=["hin", "eng"],
        accepted_evidence=["questionnaire", "passport_copy"],
        questionnaire_name="Twenty parameters",
        questionnaire_parameters=20,
        questionnaire_required=5,
        travel_document_days=21,
        opening_hours="Mon–Fri 9–17",
    )
    saved = await client.put(f"/api/directory/{world.india.id}", json=body, headers=admin)
    assert saved.status == 200
    await sign_in(client, "consul.in@example.org")
    page = await _page(client, f"/directory/{world.india.id}")
    for text in (
        "Embassy of India, Washington DC",
        "India (IN)",
        "America/New_York",
        "Hindi",
        "Questionnaire",
        "Passport copy",
        "Twenty parameters",
        "5 of 20 questions must be confirmed",
        "21",
        "Mon–Fri 9–17",
        'href="mailto:consulado@example.org"',
        'href="https://example.org/consulado"',
        "Guatemala",
        "El Salvador",
        f'href="/directory/{world.india.id}/history"',
    ):
        assert text in page, text
    assert f'href="/directory/{world.india.id}/edit"' in page
    other = await _page(client, f"/directory/{world.nepal.id}")
    assert "/edit" not in other
    listing = await _page(client, "/directory")
    assert f'href="/directory/{world.india.id}/edit"' in listing
    assert f'href="/directory/{world.nepal.id}/edit"' not in listing
    await _page(client, "/directory/9999", status=404)


async def test_a_consul_edits_their_entry_through_the_form(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    entry = await entry_json(client, world.india.id, admin)
    csrf = await sign_in(client, "consul.in@example.org")
    form_page = await _page(client, f"/directory/{world.india.id}/edit")
    assert 'name="version" value="1"' in form_page
    assert 'for="f-name"' in form_page and 'id="f-name"' in form_page
    data = form_of(
        entry,
        csrf,
        phone="+1 202 939 7000",
        languages=["hin", "en"],
        accepted_evidence=["passport_copy"],
        video_interviews=True,
    )
    response = await client.post(
        f"/directory/{world.india.id}/edit", data=data, allow_redirects=False
    )
    assert response.status == 303, (await response.text())[:3000]
    assert response.headers["Location"] == f"/directory/{world.india.id}?saved=1"
    shown = await _page(client, response.headers["Location"])
    assert "Your changes were saved." in shown and "+1 202 939 7000" in shown
    saved = await entry_json(client, world.india.id, admin)
    assert saved["languages"] == ["hin", "eng"] and saved["video_interviews"] is True
    assert saved["version"] == 2
    history = await _page(client, f"/directory/{world.india.id}/history")
    assert "Consul.In" in history and "+1 202 939 7000" in history
    assert "Hindi, English" in history and "Passport copy" in history  # names, not codes


async def test_bad_form_input_is_shown_again_with_errors_and_nothing_saved(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    entry = await entry_json(client, world.nepal.id, admin)
    csrf = await sign_in(client, "consul.np@example.org")
    data = form_of(
        entry,
        csrf,
        time_zone="Asia/Atlantis",
        email="not-an-address",
        languages=["nep", "zzz"],
        city="",
        phone="+977 my typed phone",
        travel_document_days="soon",
        accepted_evidence=[],
    )
    response = await client.post(f"/directory/{world.nepal.id}/edit", data=data)
    page = await response.text()
    assert response.status == 400
    for text in (
        "Please correct these fields:",
        'id="e-email"',
        "Not a valid e-mail address.",
        "Unknown language code: zzz",
        "This field is required.",
        "Enter a whole number.",
        'value="not-an-address"',
        'value="+977 my typed phone"',
        'value="nep, zzz"',
        'aria-invalid="true"',
    ):
        assert text in page, text
    assert await entry_json(client, world.nepal.id, admin) == entry
    assert await audit_actions(db, "directory.") == []


async def test_a_consul_of_nepal_cannot_open_or_post_indias_form(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    india = await entry_json(client, world.india.id, admin)
    csrf = await sign_in(client, "consul.np@example.org")
    await _page(client, f"/directory/{world.india.id}/edit", status=403)
    response = await client.post(
        f"/directory/{world.india.id}/edit", data=form_of(india, csrf, name="Mine now")
    )
    assert response.status == 403
    assert await entry_json(client, world.india.id, admin) == india
    await _page(client, "/directory/new", status=403)


async def test_interpreters_cannot_edit_add_or_import(
    client: TestClient[Any, Any], world: World
) -> None:
    await sign_in(client, "interpreter@example.org")
    for url in (f"/directory/{world.nepal.id}/edit", "/directory/new", "/directory/import"):
        await _page(client, url, status=403)


async def test_a_stale_form_is_refused_with_the_newer_values_and_the_input_kept(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    entry = await entry_json(client, world.nepal.id, admin)
    csrf = await sign_in(client, "consul.np@example.org")
    await _page(client, f"/directory/{world.nepal.id}/edit")  # the consul opens the form
    base = {k: v for k, v in entry.items() if k not in ("id", "version", "updated_at")}
    by_admin = await client.put(
        f"/api/directory/{world.nepal.id}", json={**base, "phone": "+1 555 0100"}, headers=admin
    )
    assert by_admin.status == 200
    mine = form_of(entry, csrf, notes="consul's careful note")
    response = await client.post(f"/directory/{world.nepal.id}/edit", data=mine)
    page = await response.text()
    assert response.status == 409
    assert "Someone else saved this entry while you were editing it." in page
    assert "+1 555 0100" in page  # what the other person saved
    assert "consul&#39;s careful note" in page  # what this consul typed, kept
    assert 'name="version" value="2"' in page
    now = await entry_json(client, world.nepal.id, admin)
    assert now["notes"] == "" and now["phone"] == "+1 555 0100"
    # saving again, knowingly, goes through
    again = form_of(entry, csrf, notes="consul's careful note", version=2)
    response = await client.post(
        f"/directory/{world.nepal.id}/edit", data=again, allow_redirects=False
    )
    assert response.status == 303


async def test_an_admin_adds_an_entry_and_a_duplicate_name_is_explained(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    csrf = await sign_in(client, "admin@example.org")
    page = await _page(client, "/directory")
    assert 'href="/directory/new"' in page and 'href="/directory/import"' in page
    await _page(client, "/directory/new")
    body = entry_body(accepted_evidence=["interview"])
    response = await client.post("/directory/new", data=form_of(body, csrf), allow_redirects=False)
    assert response.status == 303
    assert re.fullmatch(r"/directory/\d+\?created=1", response.headers["Location"])
    assert "The entry was added." in await _page(client, response.headers["Location"])
    again = await client.post("/directory/new", data=form_of(body, csrf))
    assert again.status == 409
    assert "Another entry already has this name." in await again.text()
    assert await count_entries(db) == 3


async def test_html_and_sql_looking_input_is_shown_escaped(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    admin = await bearer(db, world.admin)
    body = entry_body(
        name="<script>alert('x')</script>",
        city="'; DROP TABLE consulates; --",
        notes='<img src=x onerror="alert(1)">',
    )
    created = await (await client.post("/api/directory", json=body, headers=admin)).json()
    await sign_in(client, "staff@example.org")
    for url in (f"/directory/{created['id']}", "/directory?q=DROP"):
        page = await _page(client, url)
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
        assert "&#39;; DROP TABLE consulates; --" in page
    assert await count_entries(db) == 3


async def test_an_admin_imports_csv_on_the_page_and_sees_every_problem(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    csrf = await sign_in(client, "admin@example.org")
    page = await _page(client, "/directory/import")
    assert 'href="/api/directory/export.csv"' in page and "<code>time_zone</code>" in page

    def upload(text: str) -> FormData:
        form = FormData()
        form.add_field("csrf_token", csrf)
        form.add_field("file", text.encode(), filename="dir.csv", content_type="text/csv")
        return form

    bad = _csv(GOOD_ROW | {"country": "XX"}, GOOD_ROW | {"name": "Two", "time_zone": "Nowhere"})
    response = await client.post("/directory/import", data=upload(bad))
    text = await response.text()
    assert response.status == 400
    assert "Nothing was imported." in text
    assert re.search(r"<td>2</td><td>country</td><td>Unknown country code: XX", text)
    assert re.search(r"<td>3</td><td>time_zone</td><td>Unknown time zone: Nowhere", text)
    assert await count_entries(db) == 2

    response = await client.post("/directory/import", data=upload(_csv(GOOD_ROW)))
    assert response.status == 200
    assert "The file was imported." in await response.text()
    assert await count_entries(db) == 3


async def test_the_language_switch_shows_the_pages_in_spanish(
    client: TestClient[Any, Any], world: World
) -> None:
    csrf = await sign_in(client, "consul.in@example.org")
    switched = await client.post(
        "/language",
        data={"csrf_token": csrf, "lang": "es", "next": f"/directory/{world.india.id}"},
        allow_redirects=False,
    )
    assert switched.status == 303
    page = await _page(client, f"/directory/{world.india.id}")
    for text in ("Cómo certifica la identidad", "Editar", "Historial de cambios", "Embajada"):
        assert text in page, text
    form = await _page(client, f"/directory/{world.india.id}/edit")
    for text in ("Editar la entrada", "País representado", "Guardar", "Zona horaria"):
        assert text in form, text
