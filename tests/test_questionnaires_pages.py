"""Questionnaire pages: a consul defines and answers in the browser's forms, in English
and Spanish; staff see the result; bad input comes back with the field named."""

from __future__ import annotations

import copy
import re
from typing import Any

import aiohttp_jinja2
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from interviews.access import Actor
from interviews.accounts import Role
from interviews.case_access import load_case
from interviews.questionnaire_answers import QuestionnaireAnswer
from interviews.questionnaire_demo import INDIA
from interviews.questionnaires import Questionnaire
from tests.conftest import World, sign_in
from tests.test_cases_support import Sessions, audit_rows, bearer, new_case, share_with
from web.keys import CATALOGS
from web.routes.questionnaires_pages import questionnaire_panel

Client = TestClient[Any, Any]


async def _india_defined(client: Client, world: World, db: Sessions) -> None:
    response = await client.put(
        f"/api/consulates/{world.india.id}/questionnaire",
        json=INDIA,
        headers=await bearer(db, "consul.in@example.org"),
    )
    assert response.status == 200


async def _shared_case(client: Client, world: World, db: Sessions) -> int:
    staff = await bearer(db, "staff@example.org")
    case = await new_case(client, staff)
    assert (await share_with(client, staff, case["id"], world.india.id)).status == 201
    return int(case["id"])


def _form_of(page: str) -> dict[str, str]:
    """The answer form's current values, as the browser would submit them."""
    values: dict[str, str] = {}
    for name, value in re.findall(r'name="(s-\w+)" value="(\w+)" checked', page):
        values[name] = value
    for name, text in re.findall(
        r'name="(n-\w+)" rows="2" maxlength="4000">([^<]*)</textarea>', page
    ):
        values[name] = text
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found
    values["version"] = found.group(1)
    return values


async def test_a_consul_defines_a_questionnaire_through_the_form(
    client: Client, world: World, db: Sessions
) -> None:
    csrf = await sign_in(client, "consul.in@example.org")
    start = await client.get("/questionnaire", allow_redirects=False)
    assert start.headers["Location"] == f"/consulates/{world.india.id}/questionnaire"
    empty = await (await client.get(start.headers["Location"])).text()
    assert "has not defined its questionnaire" in empty and "Define the questionnaire" in empty

    form = await client.get(f"/consulates/{world.india.id}/questionnaire/edit")
    assert form.status == 200
    assert 'name="p-4-key"' in await form.text()  # five empty rows to start with
    data = {
        "csrf_token": csrf,
        "based_on_version": "0",
        "name": "Cuestionario <b>breve</b>",
        "language": "hi",
        "required": "2",
        "p-0-key": "full_name", "p-0-label": "पूरा नाम", "p-0-label_en": "Full name",
        "p-0-label_es": "Nombre completo", "p-0-position": "2",
        "p-1-key": "district", "p-1-label": "ज़िला", "p-1-label_en": "District",
        "p-1-position": "1",
        "p-2-key": "", "p-2-label": "", "p-2-position": "3",
    }  # fmt: skip
    saved = await client.post(
        f"/consulates/{world.india.id}/questionnaire/edit", data=data, allow_redirects=False
    )
    assert saved.status == 303, await saved.text()
    page = await (await client.get(saved.headers["Location"])).text()
    assert "saved as a new version" in page
    assert "Cuestionario &lt;b&gt;breve&lt;/b&gt;" in page
    assert page.index("District") < page.index("Full name")  # the order numbers count
    assert "At least 2 of 2 parameters confirmed" in page
    assert 'lang="hin"' in page

    spanish = await (
        await client.get(saved.headers["Location"], cookies={"consulink_lang": "es"})
    ).text()
    assert "Nombre completo" in spanish and "Al menos 2 de 2 parámetros confirmados" in spanish


async def test_a_bad_definition_form_comes_back_with_errors_and_saves_nothing(
    client: Client, world: World, db: Sessions
) -> None:
    csrf = await sign_in(client, "consul.in@example.org")
    data = {
        "csrf_token": csrf,
        "based_on_version": "0",
        "name": "Q",
        "language": "hin",
        "required": "3",
        "p-0-key": "Full Name", "p-0-label": "पूरा नाम",
        "p-1-key": "district", "p-1-label": "ज़िला",
    }  # fmt: skip
    response = await client.post(f"/consulates/{world.india.id}/questionnaire/edit", data=data)
    assert response.status == 400
    page = await response.text()
    assert 'id="e-p-0-key"' in page and 'value="Full Name"' in page
    data["p-0-key"] = "full_name"
    response = await client.post(f"/consulates/{world.india.id}/questionnaire/edit", data=data)
    assert response.status == 400
    assert "cannot exceed the number of parameters (2)" in await response.text()
    async with db() as session:
        assert await session.scalar(select(func.count(Questionnaire.id))) == 0

    other = await client.get(f"/consulates/{world.nepal.id}/questionnaire/edit")
    assert other.status == 403


async def test_the_consul_fills_the_questionnaire_and_staff_see_the_result(
    client: Client, world: World, db: Sessions
) -> None:
    await _india_defined(client, world, db)
    case_id = await _shared_case(client, world, db)
    csrf = await sign_in(client, "consul.in@example.org")
    page = await (await client.get(f"/cases/{case_id}/questionnaire")).text()
    assert "Rule not met" in page and "0 of 20 parameters confirmed, 5 required" in page
    assert 'lang="hin">पिता का नाम' in page

    form = _form_of(page)
    assert len([k for k in form if k.startswith("s-")]) == 20
    for key in ("full_name", "fathers_name", "district", "state", "school"):
        form[f"s-{key}"] = "confirmed"
    form["n-school"] = "Govt. Senior Secondary School, <Nakodar>"
    form["s-passport_number"] = "not_confirmed"
    saved = await client.post(
        f"/cases/{case_id}/questionnaire", data={**form, "csrf_token": csrf}, allow_redirects=False
    )
    assert saved.status == 303, await saved.text()
    after = await (await client.get(saved.headers["Location"])).text()
    assert "The answers were saved." in after
    assert "Rule met" in after and "5 of 20 parameters confirmed, 5 required" in after
    assert "Govt. Senior Secondary School, &lt;Nakodar&gt;" in after
    [event] = await audit_rows(db, "questionnaire.answer")
    assert set(event.details["changes"]) == {
        "full_name", "fathers_name", "district", "state", "school", "passport_number"
    }  # fmt: skip

    await client.post("/logout", data={"csrf_token": csrf})
    await sign_in(client, "staff@example.org")
    staff_page = await (await client.get(f"/cases/{case_id}/questionnaire")).text()
    assert "Rule met" in staff_page and world.india.name in staff_page
    assert "Nakodar" not in staff_page  # the consul's notes stay with the consulate
    assert 'name="s-' not in staff_page
    assert len(await audit_rows(db, "questionnaire.view")) == 3


async def test_a_forged_parameter_in_the_answer_form_is_refused_and_nothing_changes(
    client: Client, world: World, db: Sessions
) -> None:
    await _india_defined(client, world, db)
    case_id = await _shared_case(client, world, db)
    csrf = await sign_in(client, "consul.in@example.org")
    form = _form_of(await (await client.get(f"/cases/{case_id}/questionnaire")).text())
    form["s-full_name"] = "confirmed"
    form["s-caste_certificate"] = "confirmed"
    response = await client.post(
        f"/cases/{case_id}/questionnaire", data={**form, "csrf_token": csrf}
    )
    assert response.status == 400
    assert "caste_certificate" in await response.text()
    bad_status = {**form, "s-caste_certificate": "", "s-full_name": "probably"}
    bad_status.pop("s-caste_certificate")
    response = await client.post(
        f"/cases/{case_id}/questionnaire", data={**bad_status, "csrf_token": csrf}
    )
    assert response.status == 400
    assert 'id="e-full_name"' in await response.text()
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(QuestionnaireAnswer)) == 0


async def test_a_newer_version_is_offered_and_answers_move_to_it(
    client: Client, world: World, db: Sessions
) -> None:
    await _india_defined(client, world, db)
    case_id = await _shared_case(client, world, db)
    consul = await bearer(db, "consul.in@example.org")
    await client.put(
        f"/api/cases/{case_id}/questionnaire/answers",
        json={"answers": [{"key": "district", "status": "confirmed"}]},
        headers=consul,
    )
    newer = copy.deepcopy(INDIA)
    newer["required"] = 4
    await client.put(f"/api/consulates/{world.india.id}/questionnaire", json=newer, headers=consul)

    csrf = await sign_in(client, "consul.in@example.org")
    page = await (await client.get(f"/cases/{case_id}/questionnaire")).text()
    assert "These answers use version 1; the consulate has since published version 2." in page
    moved = await client.post(
        f"/cases/{case_id}/questionnaire/move", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert moved.status == 303
    page = await (await client.get(moved.headers["Location"])).text()
    assert "1 of 20 parameters confirmed, 4 required" in page
    assert "since published" not in page


async def test_the_case_page_panel_renders_the_result_for_staff(
    client: Client, world: World, db: Sessions
) -> None:
    """The partial the case page includes, filled by `questionnaire_panel` as it would be."""
    await _india_defined(client, world, db)
    case_id = await _shared_case(client, world, db)
    consul = await bearer(db, "consul.in@example.org")
    await client.put(
        f"/api/cases/{case_id}/questionnaire/answers",
        json={"answers": [{"key": k, "status": "confirmed"} for k in ("state", "district")]},
        headers=consul,
    )
    staff = Actor(user_id=world.staff.id, name="Staff", role=Role.STAFF,
                  facility_id=world.tapachula.id)  # fmt: skip
    async with db() as session:
        case = await load_case(session, staff, case_id)
        panel = await questionnaire_panel(session, staff, case)
    spanish = client.app[CATALOGS].get("es")
    html = (
        aiohttp_jinja2.get_env(client.app)
        .get_template("questionnaires/_result.html")
        .render(_=spanish.gettext, ngettext=spanish.ngettext, **panel)
    )
    assert "Regla no cumplida" in html
    assert "2 de 20 parámetros confirmados, 5 requeridos" in html
    assert "faltan 3" in html
    assert f'href="/cases/{case_id}/questionnaire"' in html
