"""Case forms for staff: open and edit a case, change its status, share, revoke, upload.

Forms post back to their own address; bad input shows the form again with each field's
error beside it and what the user typed kept. Success redirects to the case page.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import select

from interviews import codes
from interviews.access import Action, Actor, authorize
from interviews.accounts import Role
from interviews.case_access import load_case
from interviews.case_records import (
    CaseError,
    CaseIn,
    case_input,
    get_facility,
    open_case,
    update_case,
)
from interviews.case_status import allowed_next, change_status
from interviews.cases import Case, CaseStatus, Sex
from interviews.consulates import Consulate
from interviews.directory import field_errors
from interviews.documents import DocumentKind
from interviews.facilities import list_facilities
from interviews.sharing import (
    LegalBasis,
    RevokeIn,
    ShareError,
    ShareIn,
    endangered_countries,
    get_share,
    is_supervisor,
    revoke_share,
    share_case,
)
from web.errors import ApiError, not_found
from web.keys import CLOCK, SESSIONMAKER, SETTINGS
from web.request_tools import remote, signed_in, transaction
from web.routes.cases_common import domain_errors
from web.routes.cases_pages import labels
from web.routes.documents_api import upload_document
from web.templating import page_language, render

routes = web.RouteTableDef()

_ID = r"{id:\d+}"
LANGUAGE_ROWS = 3
FLAGS = ("minor", "unaccompanied_minor", "asylum_claim", "trafficking_victim", "medical_needs")
TEXT: tuple[str, ...] = ("given_names", "family_name", "aliases", "sex", "date_of_birth")
TEXT += (
    "estimated_age",
    "claimed_nationality",
    "other_nationalities",
    "detention_date",
    "deadline",
)


def form_values(case: Case | None) -> dict[str, str]:
    """The case form's fields as strings (empty for a new case)."""
    values = {key: "" for key in (*TEXT, "facility_id", "version")}
    values["sex"] = Sex.UNKNOWN.value
    for key in FLAGS:
        values[key] = ""
    for n in range(1, LANGUAGE_ROWS + 1):
        values[f"language_{n}"] = values[f"note_{n}"] = ""
    if case is None:
        return values
    data = case_input(case)
    for key in TEXT:
        value = data[key]
        if key == "other_nationalities":
            values[key] = ", ".join(value)
        else:
            values[key] = "" if value is None else str(value)
    for key in FLAGS:
        values[key] = "on" if data[key] else ""
    for n, spoken in enumerate(data["languages"][:LANGUAGE_ROWS], start=1):
        values[f"language_{n}"] = spoken["language"]
        values[f"note_{n}"] = spoken["note"]
    values["version"] = str(case.version)
    return values


def to_input(values: dict[str, str]) -> dict[str, Any]:
    """Form strings as CaseIn fields (empty optional fields become None)."""
    data: dict[str, Any] = {key: values[key] for key in TEXT}
    for key in ("date_of_birth", "estimated_age", "deadline"):
        data[key] = values[key] or None
    data["sex"] = values["sex"] or Sex.UNKNOWN.value
    data["other_nationalities"] = [
        code.strip()
        for code in values["other_nationalities"].replace(";", ",").split(",")
        if code.strip()
    ]
    data["languages"] = [
        {"language": values[f"language_{n}"], "note": values[f"note_{n}"]}
        for n in range(1, LANGUAGE_ROWS + 1)
        if values[f"language_{n}"].strip()
    ]
    for key in FLAGS:
        data[key] = values[key] == "on"
    return data


def _form_field(path: str) -> str:
    # "languages.1.language" is the second language row of the form.
    parts = path.split(".")
    if parts[0] == "languages" and len(parts) > 1 and parts[1].isdigit():
        return f"language_{int(parts[1]) + 1}"
    if parts[0] == "other_nationalities":
        return "other_nationalities"
    return parts[0]


async def _submitted(request: web.Request) -> dict[str, str]:
    form = await request.post()
    values = form_values(None)
    for key in values:
        raw = form.get(key, "")
        values[key] = raw.strip() if isinstance(raw, str) else ""
    return values


def _case_form(
    request: web.Request,
    *,
    case: Case | None,
    values: dict[str, str],
    facilities: list[Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        **labels(request),
        "case": case,
        "values": values,
        "errors": errors or {},
        "sexes": list(Sex),
        "flags": FLAGS,
        "language_rows": range(1, LANGUAGE_ROWS + 1),
        "countries": codes.country_choices(page_language(request)),
        "facilities": facilities,
        "action": f"/cases/{case.id}/edit" if case else "/cases/new",
    }
    return render("cases/form.html", request, context, status=status)


async def _facilities_for(request: web.Request, actor: Actor) -> list[Any]:
    if actor.role is not Role.ADMIN:
        return []
    async with request.app[SESSIONMAKER]() as session:
        return await list_facilities(session)


@routes.get("/cases/new")
async def new_form(request: web.Request) -> web.Response:
    """An empty case form."""
    actor = signed_in(request)
    authorize(actor, Action.CASE_CREATE)
    facilities = await _facilities_for(request, actor)
    return _case_form(request, case=None, values=form_values(None), facilities=facilities)


def _validate(values: dict[str, str]) -> tuple[CaseIn | None, dict[str, str]]:
    try:
        return CaseIn.model_validate(to_input(values)), {}
    except ValidationError as error:
        errors: dict[str, str] = {}
        for item in field_errors(error):
            errors.setdefault(_form_field(item["field"]), item["message"])
        return None, errors


@routes.post("/cases/new")
async def create_from_form(request: web.Request) -> web.Response:
    """Open the case, or show the form again with what is wrong."""
    actor = authorize(signed_in(request), Action.CASE_CREATE)
    values = await _submitted(request)
    facilities = await _facilities_for(request, actor)
    data, errors = _validate(values)
    facility_id = actor.facility_id
    if actor.role is Role.ADMIN:
        facility_id = int(values["facility_id"]) if values["facility_id"].isdigit() else None
        if facility_id is None:
            errors["facility_id"] = "Choose the facility."
    if data is None or facility_id is None or errors:
        return _case_form(
            request, case=None, values=values, facilities=facilities, errors=errors, status=400
        )
    authorize(actor, Action.CASE_CREATE, facility_id=facility_id)
    try:
        async with transaction(request) as session:
            case = await open_case(
                session,
                data,
                facility_id=facility_id,
                actor=actor,
                now=request.app[CLOCK](),
                remote=remote(request),
            )
    except CaseError as error:
        return _case_form(
            request,
            case=None,
            values=values,
            facilities=facilities,
            errors={error.field: str(error)},
            status=400,
        )
    raise web.HTTPSeeOther(f"/cases/{case.id}?done=created")


@routes.get(f"/cases/{_ID}/edit")
async def edit_form(request: web.Request) -> web.Response:
    """The case form filled with the case."""
    actor = signed_in(request)
    with domain_errors():
        async with request.app[SESSIONMAKER]() as session:
            case = await load_case(session, actor, int(request.match_info["id"]), Action.CASE_EDIT)
    return _case_form(request, case=case, values=form_values(case), facilities=[])


@routes.post(f"/cases/{_ID}/edit")
async def edit_from_form(request: web.Request) -> web.Response:
    """Save the edit, or show the form again with what is wrong."""
    actor = signed_in(request)
    values = await _submitted(request)
    data, errors = _validate(values)
    version = int(values["version"]) if values["version"].isdigit() else None
    with domain_errors():
        async with request.app[SESSIONMAKER]() as session:
            case = await load_case(session, actor, int(request.match_info["id"]), Action.CASE_EDIT)
    if data is None:
        return _case_form(
            request, case=case, values=values, facilities=[], errors=errors, status=400
        )
    try:
        with domain_errors():
            async with transaction(request) as session:
                case = await load_case(session, actor, case.id, Action.CASE_EDIT)
                facility = await get_facility(session, case.facility_id)
                assert facility is not None
                await update_case(
                    session,
                    case,
                    data,
                    version=version,
                    facility=facility,
                    actor=actor,
                    now=request.app[CLOCK](),
                    remote=remote(request),
                )
    except ApiError as error:
        if error.status not in (400, 409):
            raise
        found = {item["field"]: item["message"] for item in _details(error)}
        if error.status == 409:
            found["version"] = "Someone else changed this case meanwhile. Reload it and edit again."
        return _case_form(
            request, case=case, values=values, facilities=[], errors=found, status=error.status
        )
    raise web.HTTPSeeOther(f"/cases/{case.id}?done=saved")


def _details(error: ApiError) -> list[dict[str, str]]:
    details = error.details
    if isinstance(details, list):
        return details
    if isinstance(details, dict) and "field" in details:
        return [{"field": str(details["field"]), "message": error.message}]
    return [{"field": "form", "message": error.message}]


@routes.post(f"/cases/{_ID}/status")
async def status_from_form(request: web.Request) -> web.Response:
    """Change the status with a reason, then back to the case."""
    actor = signed_in(request)
    form = await request.post()
    wanted, reason = str(form.get("status", "")), str(form.get("reason", "")).strip()
    with domain_errors():
        async with transaction(request) as session:
            case = await load_case(
                session, actor, int(request.match_info["id"]), Action.CASE_STATUS
            )
            allowed = [status.value for status in allowed_next(case.case_status)]
            if wanted not in allowed or not reason:
                raise ApiError(
                    400,
                    "invalid",
                    "Choose one of the next statuses offered and say why.",
                    [{"field": "status" if wanted not in allowed else "reason", "message": ""}],
                )
            await change_status(
                session,
                case,
                CaseStatus(wanted),
                actor=actor,
                reason=reason,
                now=request.app[CLOCK](),
                remote=remote(request),
            )
    raise web.HTTPSeeOther(f"/cases/{case.id}?done=status")


async def _share_context(request: web.Request, actor: Actor, case: Case) -> dict[str, Any]:
    async with request.app[SESSIONMAKER]() as session:
        consulates = list((await session.scalars(select(Consulate).order_by(Consulate.name))).all())
        supervisor = await is_supervisor(session, actor, case.facility_id)
    return {
        **labels(request),
        "case": case,
        "consulates": consulates,
        "endangered": endangered_countries(case),
        "endangered_names": ", ".join(
            sorted(
                codes.country_name(code, page_language(request))
                for code in endangered_countries(case)
            )
        ),
        "supervisor": supervisor,
        "bases": list(LegalBasis),
    }


@routes.get(f"/cases/{_ID}/share")
async def share_form(request: web.Request) -> web.Response:
    """The share form: consulate, purpose, consent or legal basis."""
    actor = signed_in(request)
    with domain_errors():
        async with request.app[SESSIONMAKER]() as session:
            case = await load_case(session, actor, int(request.match_info["id"]), Action.CASE_SHARE)
    context = await _share_context(request, actor, case)
    values = {"consulate_id": request.query.get("consulate_id", ""), "purpose": ""}
    values |= {"legal_basis": "consent", "legal_basis_note": "", "supervisor_justification": ""}
    return render("cases/share.html", request, {**context, "values": values, "errors": {}})


@routes.post(f"/cases/{_ID}/share")
async def share_from_form(request: web.Request) -> web.Response:
    """Record the share, or show the form again with what is wrong."""
    actor = signed_in(request)
    form = await request.post()
    keys = ("consulate_id", "purpose", "legal_basis", "legal_basis_note")
    values = {key: str(form.get(key, "")).strip() for key in (*keys, "supervisor_justification")}
    with domain_errors():
        async with request.app[SESSIONMAKER]() as session:
            case = await load_case(session, actor, int(request.match_info["id"]), Action.CASE_SHARE)
    errors: dict[str, str] = {}
    try:
        data = ShareIn.model_validate({**values, "consulate_id": values["consulate_id"] or None})
        async with transaction(request) as session:
            case = await load_case(session, actor, case.id, Action.CASE_SHARE)
            await share_case(
                session, case, data, actor=actor, now=request.app[CLOCK](), remote=remote(request)
            )
    except ValidationError as error:
        errors = {item["field"]: item["message"] for item in field_errors(error)}
    except ShareError as error:
        errors = {error.field: str(error)}
    if errors:
        context = await _share_context(request, actor, case)
        return render(
            "cases/share.html", request, {**context, "values": values, "errors": errors}, status=400
        )
    raise web.HTTPSeeOther(f"/cases/{case.id}?done=shared")


@routes.post(f"/cases/{_ID}/shares/{{share_id:\\d+}}/revoke")
async def revoke_from_form(request: web.Request) -> web.Response:
    """Revoke a share with a reason, then back to the case."""
    actor = signed_in(request)
    form = await request.post()
    reason = str(form.get("reason", "")).strip()
    with domain_errors():
        data = RevokeIn.model_validate({"reason": reason}) if reason else None
        if data is None:
            raise ApiError(400, "invalid", "Say why the share is revoked.", [{"field": "reason"}])
        async with transaction(request) as session:
            case = await load_case(session, actor, int(request.match_info["id"]), Action.CASE_SHARE)
            share = await get_share(session, case.id, int(request.match_info["share_id"]))
            if share is None:
                raise not_found("No such share of this case.")
            await revoke_share(
                session,
                share,
                data.reason,
                actor=actor,
                now=request.app[CLOCK](),
                remote=remote(request),
            )
    raise web.HTTPSeeOther(f"/cases/{case.id}?done=revoked")


@routes.get(f"/cases/{_ID}/upload")
async def upload_form(request: web.Request) -> web.Response:
    """The upload page: kind of document and the file."""
    actor = signed_in(request)
    with domain_errors():
        async with request.app[SESSIONMAKER]() as session:
            case = await load_case(
                session, actor, int(request.match_info["id"]), Action.DOCUMENT_UPLOAD
            )
    context = {
        **labels(request),
        "case": case,
        "kinds": list(DocumentKind),
        "max_bytes": request.app[SETTINGS].max_document_bytes,
        "error": "",
    }
    return render("cases/upload.html", request, context)


@routes.post(f"/cases/{_ID}/upload")
async def upload_from_form(request: web.Request) -> web.Response:
    """Store the upload (the page's script posts to the API; this serves forms without it)."""
    actor = signed_in(request)
    case_id = int(request.match_info["id"])
    try:
        await upload_document(request, actor, case_id)
    except ApiError as error:
        if error.status not in (400, 413, 415):
            raise
        async with request.app[SESSIONMAKER]() as session:
            case = await load_case(session, actor, case_id, Action.DOCUMENT_UPLOAD)
        context = {
            **labels(request),
            "case": case,
            "kinds": list(DocumentKind),
            "max_bytes": request.app[SETTINGS].max_document_bytes,
            "error": error.message,
        }
        return render("cases/upload.html", request, context, status=error.status)
    raise web.HTTPSeeOther(f"/cases/{case_id}?done=uploaded")
