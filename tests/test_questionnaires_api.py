"""Identification questionnaires through the API: a consulate defines its rule, a consul
answers it for a case shared with them, and the server alone decides whether it is met."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from interviews.audit import verify_chain
from interviews.consulates import Consulate
from interviews.questionnaire_answers import QuestionnaireAnswer
from interviews.questionnaire_demo import ETHIOPIA, INDIA
from interviews.questionnaires import Questionnaire
from tests.conftest import World
from tests.test_cases_support import Sessions, audit_rows, bearer, new_case, share_with

Client = TestClient[Any, Any]


@pytest.fixture
async def tokens(world: World, db: Sessions) -> dict[str, dict[str, str]]:
    """Bearer headers per role: staff, consul (India), consul_nepal, admin."""
    return {
        "staff": await bearer(db, "staff@example.org"),
        "consul": await bearer(db, "consul.in@example.org"),
        "consul_nepal": await bearer(db, "consul.np@example.org"),
        "admin": await bearer(db, "admin@example.org"),
    }


async def define(client: Client, world: World, headers: dict[str, str], body: Any) -> Any:
    """PUT a definition for India's consulate; returns the response."""
    return await client.put(
        f"/api/consulates/{world.india.id}/questionnaire", json=body, headers=headers
    )


async def shared_case(client: Client, world: World, tokens: dict[str, dict[str, str]]) -> int:
    """A case at Tapachula shared with India's consulate; returns its id."""
    case = await new_case(client, tokens["staff"])
    assert (await share_with(client, tokens["staff"], case["id"], world.india.id)).status == 201
    return int(case["id"])


async def answer(client: Client, case_id: int, headers: dict[str, str], **body: Any) -> Any:
    """PUT answers for a case; returns the response."""
    return await client.put(
        f"/api/cases/{case_id}/questionnaire/answers", json=body, headers=headers
    )


def confirm(*keys: str, status: str = "confirmed") -> list[dict[str, str]]:
    """Answers marking each key with one status."""
    return [{"key": key, "status": status, "notes": f"{key} checked"} for key in keys]


async def _versions(db: Sessions) -> int:
    async with db() as session:
        return int(await session.scalar(select(func.count(Questionnaire.id))) or 0)


async def test_a_consul_defines_the_questionnaire_and_the_directory_follows(
    client: Client, world: World, db: Sessions, tokens: dict[str, dict[str, str]]
) -> None:
    response = await define(client, world, tokens["consul"], INDIA)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert (body["version"], body["created"], body["rule"]) == (1, True, "5 of 20")
    assert body["parameters"][1] == {
        "key": "fathers_name",
        "label": "पिता का नाम",
        "label_en": "Father's name",
        "label_es": "Nombre del padre",
        "help": "",
    }
    async with db() as session:
        entry = await session.get(Consulate, world.india.id)
        assert entry is not None
        assert (entry.questionnaire_parameters, entry.questionnaire_required) == (20, 5)
        assert entry.questionnaire_name == INDIA["name"]

    # The same definition again is not a new version.
    again = await (await define(client, world, tokens["consul"], INDIA)).json()
    assert (again["version"], again["created"]) == (1, False)

    # One label changed: version 2, and the audit shows just that parameter.
    changed = copy.deepcopy(INDIA)
    changed["parameters"][7]["label_es"] = "Distrito (zila)"
    changed["required"] = 6
    second = await (await define(client, world, tokens["consul"], changed)).json()
    assert (second["version"], second["rule"]) == (2, "6 of 20")
    defined = await audit_rows(db, "questionnaire.define")
    assert [e.details["version"] for e in defined] == [1, 2]
    assert defined[1].details["changes"] == {
        "parameter:district": [
            {"label": "ज़िला", "label_en": "District", "label_es": "Distrito", "help": ""},
            {"label": "ज़िला", "label_en": "District", "label_es": "Distrito (zila)", "help": ""},
        ],
        "required": [5, 6],
    }
    directory = await audit_rows(db, "directory.update")
    assert directory[-1].details["changes"] == {"questionnaire_required": [5, 6]}

    old = await client.get(
        f"/api/consulates/{world.india.id}/questionnaire",
        params={"version": "1"},
        headers=tokens["staff"],
    )
    assert (await old.json())["required"] == 5
    listed = await (
        await client.get(
            f"/api/consulates/{world.india.id}/questionnaire/versions", headers=tokens["staff"]
        )
    ).json()
    assert [(v["version"], v["rule"]) for v in listed["items"]] == [(2, "6 of 20"), (1, "5 of 20")]


async def test_only_admins_and_the_consulates_own_consuls_define_it(
    client: Client, world: World, db: Sessions, tokens: dict[str, dict[str, str]]
) -> None:
    for who in ("consul_nepal", "staff"):
        assert (await define(client, world, tokens[who], INDIA)).status == 403, who
    assert await _versions(db) == 0
    assert (await define(client, world, tokens["admin"], INDIA)).status == 200
    assert len(await audit_rows(db, "auth.forbidden")) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["parameters"].append(dict(d["parameters"][0])), "parameters"),
        (lambda d: d.update(required=21), "required"),
        (lambda d: d["parameters"][0].update(key="Full Name"), "parameters.0.key"),
        (lambda d: d.update(language="xx-klingon"), "language"),
        (lambda d: d.update(parameters=[]), "parameters"),
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: d["parameters"][2].update(label=""), "parameters.2.label"),
    ],
)
async def test_bad_definitions_are_refused_naming_the_field(
    client: Client,
    world: World,
    db: Sessions,
    tokens: dict[str, dict[str, str]],
    change: Any,
    field: str,
) -> None:
    body = copy.deepcopy(INDIA)
    change(body)
    response = await define(client, world, tokens["consul"], body)
    assert response.status == 400
    error = (await response.json())["error"]
    assert [d["field"] for d in error["details"]] == [field]
    assert await _versions(db) == 0


async def test_a_stale_definition_is_refused_with_the_current_version(
    client: Client, world: World, db: Sessions, tokens: dict[str, dict[str, str]]
) -> None:
    await define(client, world, tokens["consul"], INDIA)
    edited = {**copy.deepcopy(INDIA), "required": 4, "based_on_version": 0}
    response = await define(client, world, tokens["admin"], edited)
    assert response.status == 409
    assert (await response.json())["error"]["details"] == {
        "field": "based_on_version",
        "current_version": 1,
    }
    assert await _versions(db) == 1


async def test_the_consul_answers_and_the_server_computes_the_result(
    client: Client, world: World, db: Sessions, tokens: dict[str, dict[str, str]]
) -> None:
    await define(client, world, tokens["consul"], INDIA)
    case_id = await shared_case(client, world, tokens)

    before = await (
        await client.get(f"/api/cases/{case_id}/questionnaire", headers=tokens["consul"])
    ).json()
    [fresh] = before["items"]
    assert fresh["version"] == 0 and fresh["result"]["not_asked"] == 20

    four = confirm("full_name", "fathers_name", "village_town", "district")
    first = await answer(
        client, case_id, tokens["consul"],
        answers=[*four, *confirm("passport_number", status="not_confirmed")],
    )  # fmt: skip
    assert first.status == 200, await first.text()
    result = (await first.json())["result"]
    assert result == {
        "met": False,
        "confirmed": 4,
        "not_confirmed": 1,
        "not_asked": 15,
        "total": 20,
        "required": 5,
        "needed": 1,
        "still_possible": True,
    }
    second = await answer(client, case_id, tokens["consul"], answers=confirm("school"), version=1)
    body = await second.json()
    assert body["result"]["met"] is True and body["result"]["confirmed"] == 5
    assert body["version"] == 2
    school = next(a for a in body["answers"] if a["key"] == "school")
    assert school == {
        "key": "school",
        "label": "स्कूल का नाम",
        "label_en": "School attended",
        "label_es": "Escuela a la que asistió",
        "status": "confirmed",
        "notes": "school checked",
    }

    # Staff of the facility see the result, not the consul's notes.
    staff_view = await (
        await client.get(f"/api/cases/{case_id}/questionnaire", headers=tokens["staff"])
    ).json()
    [item] = staff_view["items"]
    assert item["result"]["met"] is True and "answers" not in item
    assert item["consulate_name"] == world.india.name

    answered = await audit_rows(db, "questionnaire.answer")
    assert len(answered) == 2
    assert answered[1].details["changes"] == {
        "school": [
            {"status": "not_asked", "notes": ""},
            {"status": "confirmed", "notes": "school checked"},
        ]
    }
    assert answered[1].details["result"] == {
        "met": True, "confirmed": 5, "required": 5, "total": 20
    }  # fmt: skip
    async with db() as session:
        assert (await verify_chain(session)).ok


async def test_an_answer_for_a_parameter_that_does_not_exist_changes_nothing(
    client: Client, world: World, db: Sessions, tokens: dict[str, dict[str, str]]
) -> None:
    await define(client, world, tokens["consul"], INDIA)
    case_id = await shared_case(client, world, tokens)
    await answer(client, case_id, tokens["consul"], answers=confirm("full_name"))
    events_before = len(await audit_rows(db, "questionnaire.answer"))

    response = await answer(
        client, case_id, tokens["consul"],
        answers=[*confirm("state"), *confirm("favourite_cricketer")],
    )  # fmt: skip
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["details"][0]["field"] == "answers.1.key"
    assert "favourite_cricketer" in error["details"][0]["message"]

    for bad, field in [
        ({"answers": [{"key": "state", "status": "maybe"}]}, "answers.0.status"),
        ({"answers": [*confirm("state"), *confirm("state")]}, "answers.1.key"),
        ({"answers": []}, "answers"),
        ({"answers": [{"key": "state", "status": "confirmed", "notes": "x" * 4001}]},
         "answers.0.notes"),
    ]:  # fmt: skip
        refused = await answer(client, case_id, tokens["consul"], **bad)
        assert refused.status == 400, bad
        assert (await refused.json())["error"]["details"][0]["field"] == field

    async with db() as session:
        stored = (await session.scalars(select(QuestionnaireAnswer))).all()
    assert [a.notes for a in stored] == ["full_name checked"]
    assert len(await audit_rows(db, "questionnaire.answer")) == events_before


async def test_only_a_consul_of_a_consulate_the_case_is_shared_with_answers(
    client: Client, world: World, db: Sessions, tokens: dict[str, dict[str, str]]
) -> None:
    await define(client, world, tokens["consul"], INDIA)
    case_id = await shared_case(client, world, tokens)
    for who in ("consul_nepal", "staff", "admin"):
        refused = await answer(client, case_id, tokens[who], answers=confirm("full_name"))
        assert refused.status == 403, who
    nepal_view = await client.get(
        f"/api/cases/{case_id}/questionnaire", headers=tokens["consul_nepal"]
    )
    assert nepal_view.status == 403

    shares = await (
        await client.get(f"/api/cases/{case_id}/shares", headers=tokens["staff"])
    ).json()
    share_id = shares["items"][0]["id"]
    revoked = await client.post(
        f"/api/cases/{case_id}/shares/{share_id}/revoke",
        json={"reason": "The person withdrew consent"},
        headers=tokens["staff"],
    )
    assert revoked.status == 200, await revoked.text()
    after = await answer(client, case_id, tokens["consul"], answers=confirm("full_name"))
    assert after.status == 403
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(QuestionnaireAnswer)) == 0
    assert (
        await client.get("/api/cases/999999/questionnaire", headers=tokens["admin"])
    ).status == 404


async def test_stale_answers_are_refused(
    client: Client, world: World, tokens: dict[str, dict[str, str]]
) -> None:
    await define(client, world, tokens["consul"], INDIA)
    case_id = await shared_case(client, world, tokens)
    await answer(client, case_id, tokens["consul"], answers=confirm("full_name"), version=0)
    stale = await answer(client, case_id, tokens["consul"], answers=confirm("state"), version=0)
    assert stale.status == 409
    assert (await stale.json())["error"]["details"] == {"field": "version"}


async def test_answers_stay_on_their_version_until_moved_to_the_newest(
    client: Client, world: World, db: Sessions, tokens: dict[str, dict[str, str]]
) -> None:
    await define(client, world, tokens["consul"], INDIA)
    case_id = await shared_case(client, world, tokens)
    await answer(
        client, case_id, tokens["consul"],
        answers=confirm("full_name", "aadhaar_number", "district"),
    )  # fmt: skip

    newer = copy.deepcopy(INDIA)
    newer["parameters"] = [p for p in newer["parameters"] if p["key"] != "aadhaar_number"]
    newer["parameters"].append(
        {"key": "ration_card", "label": "राशन कार्ड", "label_en": "Ration card number"}
    )
    assert (await (await define(client, world, tokens["consul"], newer)).json())["version"] == 2

    view = await (
        await client.get(f"/api/cases/{case_id}/questionnaire", headers=tokens["consul"])
    ).json()
    [item] = view["items"]
    assert item["questionnaire"] == {
        "name": INDIA["name"], "version": 1, "current_version": 2, "outdated": True
    }  # fmt: skip
    assert item["result"]["confirmed"] == 3

    moved = await client.post(f"/api/cases/{case_id}/questionnaire/move", headers=tokens["consul"])
    assert moved.status == 200
    body = await moved.json()
    assert body["questionnaire"]["version"] == 2 and body["questionnaire"]["outdated"] is False
    assert body["result"]["confirmed"] == 2
    assert [a["key"] for a in body["answers"] if a["status"] == "confirmed"] == [
        "full_name",
        "district",
    ]
    [event] = await audit_rows(db, "questionnaire.move")
    assert event.details["dropped"] == {
        "aadhaar_number": {"status": "confirmed", "notes": "aadhaar_number checked"}
    }
    assert (event.details["from_version"], event.details["to_version"]) == (1, 2)


async def test_a_consulate_without_a_questionnaire_says_so(
    client: Client, world: World, tokens: dict[str, dict[str, str]]
) -> None:
    case = await new_case(client, tokens["staff"], claimed_nationality="NP")
    assert (await share_with(client, tokens["staff"], case["id"], world.nepal.id)).status == 201
    refused = await answer(client, case["id"], tokens["consul_nepal"], answers=confirm("x"))
    assert refused.status == 404
    assert "not defined a questionnaire" in (await refused.json())["error"]["message"]
    listed = await client.get(
        f"/api/cases/{case['id']}/questionnaire", headers=tokens["consul_nepal"]
    )
    assert (await listed.json())["items"] == []
    missing = await client.get(f"/api/consulates/{world.nepal.id}/questionnaire")
    assert missing.status == 401  # signed-out callers read nothing
    assert (
        await client.get(f"/api/consulates/{world.nepal.id}/questionnaire", headers=tokens["staff"])
    ).status == 404


def test_the_demo_questionnaires_have_the_documented_rules() -> None:
    assert (len(INDIA["parameters"]), INDIA["required"]) == (20, 5)
    assert (len(ETHIOPIA["parameters"]), ETHIOPIA["required"]) == (12, 4)
    keys = [p["key"] for p in INDIA["parameters"]]
    assert len(set(keys)) == 20
    assert all(p["label_en"] and p["label_es"] for p in INDIA["parameters"])
