"""The directory entry form: labels, form values <-> entry input, and errors in the page language.

Kept apart from the handlers so directory_pages stays about requests and responses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from multidict import MultiDictProxy
from pydantic import ValidationError

Gettext = Callable[[str], str]

# Field name -> English label (translated in web/locale/es/directory.po).
FIELD_LABELS: dict[str, str] = {
    "name": "Name",
    "country": "Country represented",
    "kind": "Kind",
    "city": "City",
    "located_country": "Country where it is",
    "time_zone": "Time zone",
    "jurisdiction": "Jurisdiction (countries served)",
    "languages": "Languages",
    "phone": "Phone",
    "email": "E-mail",
    "website": "Website",
    "emergency_phone": "Emergency line",
    "opening_hours": "Opening hours",
    "holidays": "Holidays",
    "video_interviews": "Interviews by video",
    "accepted_evidence": "Accepted evidence of identity",
    "questionnaire_name": "Questionnaire",
    "questionnaire_parameters": "Questions in the questionnaire",
    "questionnaire_required": "Questions that must be confirmed",
    "travel_document_days": "Typical days to issue a travel document",
    "notes": "Notes",
    "version": "Version",
    "q": "Name or city",
    "video": "Interviews by video",
    "language": "Language",
    "offset": "Page",
    "file": "File",
}
KIND_LABELS: dict[str, str] = {
    "embassy": "Embassy",
    "consulate": "Consulate",
    "consular_section": "Consular section",
    "honorary_consulate": "Honorary consulate",
}
EVIDENCE_LABELS: dict[str, str] = {
    "passport_copy": "Passport copy",
    "national_id": "National identity card",
    "birth_certificate": "Birth certificate",
    "interview": "Interview",
    "questionnaire": "Questionnaire",
}
TEXT_FIELDS = (
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
CODE_LISTS = ("jurisdiction", "languages")
NULLABLE = frozenset(
    {
        "email",
        "website",
        "questionnaire_parameters",
        "questionnaire_required",
        "travel_document_days",
    }
)


def form_values(
    form: MultiDictProxy[Any] | None,
    entry: Mapping[str, Any] | None = None,
    *,
    version: int | None = None,
) -> dict[str, Any]:
    """What the form shows: the user's post as typed, or an entry's fields, or blanks."""
    values: dict[str, Any] = {}
    if form is not None:
        for name in (*TEXT_FIELDS, *CODE_LISTS, "version"):
            raw = form.get(name, "")
            values[name] = raw if isinstance(raw, str) else ""
        values["accepted_evidence"] = [str(v) for v in form.getall("accepted_evidence", [])]
        values["video_interviews"] = form.get("video_interviews") in ("on", "true", "1")
        return values
    entry = entry or {}
    for name in TEXT_FIELDS:
        value = entry.get(name)
        values[name] = "" if value is None else str(value)
    for name in CODE_LISTS:
        values[name] = ", ".join(entry.get(name) or [])
    values["accepted_evidence"] = list(entry.get("accepted_evidence") or [])
    values["video_interviews"] = bool(entry.get("video_interviews"))
    values["version"] = "" if version is None else str(version)
    if not entry:
        values["kind"] = "consulate"
    return values


def values_to_input(values: Mapping[str, Any], *, with_version: bool) -> dict[str, Any]:
    """The form's values as a ConsulateIn (or ConsulateUpdate) body."""
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        text = str(values.get(name, ""))
        data[name] = (text.strip() or None) if name in NULLABLE else text
    for name in CODE_LISTS:
        data[name] = [code for code in re.split(r"[\s,;]+", str(values.get(name, ""))) if code]
    data["accepted_evidence"] = list(values.get("accepted_evidence", []))
    data["video_interviews"] = bool(values.get("video_interviews"))
    if with_version:
        data["version"] = str(values.get("version", "")).strip() or None
    return data


def message_for(
    field: str, kind: str, context: Mapping[str, Any], value: Any, english: str, _: Gettext
) -> str:
    """One validation error in the page language."""
    if kind in ("missing", "string_too_short"):
        return _("This field is required.")
    if kind == "string_too_long":
        return _("Too long: at most %(max)s characters.") % {"max": context.get("max_length")}
    if kind == "too_long":
        return _("Too many: at most %(max)s.") % {"max": context.get("max_length")}
    if kind.startswith("url"):
        return _("Not a valid web address; start it with https://")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
    if kind == "greater_than_equal":
        return _("Must be at least %(min)s.") % {"min": context.get("ge")}
    if kind == "less_than_equal":
        return _("Must be at most %(max)s.") % {"max": context.get("le")}
    if kind == "enum":
        return _("Choose one of the options.")
    if kind in ("bool_parsing", "bool_type"):
        return _("Write true or false.")
    if kind == "extra_forbidden":
        return _("Unknown field.")
    if kind == "value_error":
        shown = {"value": value}
        if field in ("country", "located_country", "jurisdiction"):
            return _("Unknown country code: %(value)s (use two letters, e.g. IN).") % shown
        if field == "languages" or field == "language":
            return _("Unknown language code: %(value)s (use ISO 639-3, e.g. hin).") % shown
        if field == "time_zone":
            return _("Unknown time zone: %(value)s.") % shown
        if field == "email":
            return _("Not a valid e-mail address.")
        if field == "questionnaire_required":
            return _("Cannot be more than the questions in the questionnaire.")
    return english


def localized_errors(error: ValidationError, _: Gettext) -> dict[str, str]:
    """The first error of each field, keyed by top-level field name, in the page language."""
    out: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "name"
        if field in out:
            continue
        english = str(item["msg"]).removeprefix("Value error, ")
        out[field] = message_for(
            field, item["type"], item.get("ctx") or {}, item.get("input"), english, _
        )
    return out


def csv_problem_message(
    field: str, kind: str, context: Mapping[str, Any], value: Any, english: str, _: Gettext
) -> str:
    """One CSV import problem in the page language."""
    if kind == "unknown_column":
        return _("Unknown column.")
    if kind == "duplicate_column":
        return _("This column appears twice.")
    if kind == "missing_column":
        return _("This column is missing.")
    if kind == "empty":
        return _("The file is empty.")
    if kind == "cell_count":
        return _("This row has %(cells)s cells; the header has %(columns)s.") % dict(context)
    if kind == "duplicate_name":
        return _("Same name as row %(first)s.") % dict(context)
    return message_for(field, kind, context, value, english, _)
