"""The text form of availability on the pages: one line of windows per weekday
("09:00-13:00, 14:00-17:00") and one dated exception per line
("2026-12-25 closed Christmas", "2026-12-27 09:00-12:00 open extra hours")."""

from __future__ import annotations

import re
from typing import Any

from multidict import MultiDictProxy
from pydantic import BaseModel, ValidationError

from interviews.directory import field_errors

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EXCEPTION = re.compile(
    r"^(?P<day>\d{4}-\d{2}-\d{2})(?:\s+(?P<start>\d{2}:\d{2})-(?P<end>\d{2}:\d{2}))?"
    r"\s+(?P<kind>closed|open)(?:\s+(?P<reason>.*))?$"
)


class FormProblem(ValueError):
    """Input that could not be read; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def windows_text(windows: list[dict[str, Any]], *, priority: bool) -> list[str]:
    """Per weekday, its windows as "09:00-13:00, 14:00-17:00"."""
    lines = []
    for day in range(7):
        spans = [
            f"{w['start']}-{w['end']}"
            for w in windows
            if w["weekday"] == day and w["priority_only"] == priority
        ]
        lines.append(", ".join(spans))
    return lines


def exceptions_text(exceptions: list[dict[str, Any]]) -> str:
    """One exception per line."""
    lines = []
    for item in exceptions:
        span = f" {item['start']}-{item['end']}" if item["start"] else ""
        kind = "open" if item["available"] else "closed"
        lines.append(f"{item['day']}{span} {kind} {item['reason']}".rstrip())
    return "\n".join(lines)


def read_windows(form: MultiDictProxy[Any], prefix: str, *, priority: bool) -> list[dict[str, Any]]:
    """Windows typed per weekday in fields `<prefix>-0` … `<prefix>-6`."""
    out = []
    for day in range(7):
        field = f"{prefix}-{day}"
        text = str(form.get(field, "")).strip()
        for part in filter(None, (p.strip() for p in text.split(","))):
            start, dash, end = part.partition("-")
            if not dash:
                raise FormProblem(field, f"{WEEKDAYS[day]}: write each window as 09:00-13:00")
            out.append(
                {
                    "weekday": day,
                    "start": start.strip(),
                    "end": end.strip(),
                    "priority_only": priority,
                }
            )
    return out


def read_exceptions(text: str) -> list[dict[str, Any]]:
    """Lines like "2026-12-25 closed Christmas" or "2026-12-27 09:00-12:00 open"."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        found = _EXCEPTION.match(line)
        if found is None:
            raise FormProblem(
                "exceptions",
                f"line {number}: write DATE [HH:MM-HH:MM] closed|open [reason], "
                "e.g. 2026-12-25 closed Christmas",
            )
        out.append(
            {
                "day": found["day"],
                "start": found["start"],
                "end": found["end"],
                "available": found["kind"] == "open",
                "reason": (found["reason"] or "").strip(),
            }
        )
    return out


def validate(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """The model for `data`, or FormProblem naming the first failing field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = field_errors(error)[0]
        raise FormProblem(
            first["field"].split(".")[0], f"{first['field']}: {first['message']}"
        ) from None


def form_state(form: MultiDictProxy[Any]) -> dict[str, Any]:
    """What was typed, to show it again after a refusal."""
    return {
        "days": [str(form.get(f"day-{n}", "")) for n in range(7)],
        "held": [str(form.get(f"held-{n}", "")) for n in range(7)],
        "exceptions": str(form.get("exceptions", "")),
        "values": {key: str(value) for key, value in form.items()},
    }


def saved_state(body: dict[str, Any]) -> dict[str, Any]:
    """The form as stored data fills it."""
    return {
        "days": windows_text(body.get("windows", []), priority=False),
        "held": windows_text(body.get("windows", []), priority=True),
        "exceptions": exceptions_text(body.get("exceptions", [])),
        "values": {},
    }


def languages_text(body: dict[str, Any]) -> str:
    """An interpreter's languages, one "code level" per line."""
    return "\n".join(
        f"{item['language']} {item['proficiency']}" for item in body.get("languages", [])
    )


def read_languages(text: str) -> list[dict[str, str]]:
    """Lines like "pan native" (the level defaults to fluent)."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) > 2:
            raise FormProblem(
                "languages", f"line {number}: write a code and a level, e.g. pan native"
            )
        out.append({"language": parts[0], "proficiency": parts[1] if len(parts) > 1 else "fluent"})
    return out
