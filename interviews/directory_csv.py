"""The directory as CSV: one documented column set, export and all-or-nothing import.

Format: UTF-8 (a leading byte-order mark is accepted on import), comma-separated, RFC 4180
quoting, one header row with exactly the columns in `COLUMNS`, in any order. List columns
(jurisdiction, languages, accepted_evidence) join their codes with ";". `video_interviews`
is `true` or `false`; empty number cells mean "not known". Row numbers in error reports
count the header as row 1, as a spreadsheet shows them.

Import matches rows to entries by name (ignoring case): a known name updates that entry, a
new one creates an entry, entries absent from the file are left alone. Every change is
audited like any other edit. If any row is wrong, every problem is reported and nothing is
imported. Exporting and importing the export changes nothing.

Cells are written exactly as stored, so a cell that starts with "=", "+", "-" or "@" (a
phone number, say) is not altered; spreadsheet users should import the file as text.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.access import Actor
from interviews.consulates import Consulate
from interviews.directory import (
    ConsulateIn,
    DirectoryError,
    all_entries,
    as_input,
    create_entry,
    find_by_name,
    update_entry,
)

# Column name -> what it holds; the order is the export's order.
COLUMNS: dict[str, str] = {
    "name": "Name of the mission (unique; the key that import matches on)",
    "country": "Country represented, ISO 3166-1 alpha-2 (e.g. IN)",
    "kind": "embassy, consulate, consular_section or honorary_consulate",
    "city": "City where it is",
    "located_country": "Country where it is, ISO 3166-1 alpha-2",
    "time_zone": "IANA time zone of its office (e.g. America/New_York)",
    "jurisdiction": "Countries it serves, alpha-2 codes joined with ';'",
    "languages": "Languages it works in, ISO 639-3 codes joined with ';' (main one first)",
    "phone": "Phone",
    "email": "E-mail",
    "website": "Web address (http or https)",
    "emergency_phone": "Emergency line",
    "opening_hours": "Opening hours, free text",
    "holidays": "Holidays when closed, free text",
    "video_interviews": "true if it interviews by video, else false",
    "accepted_evidence": "passport_copy;national_id;birth_certificate;interview;questionnaire",
    "questionnaire_name": "The identification questionnaire it uses",
    "questionnaire_parameters": "Number of questions in it (empty if none)",
    "questionnaire_required": "How many must be confirmed (empty if none)",
    "travel_document_days": "Typical days to issue a travel document (empty if unknown)",
    "notes": "Notes, free text",
}
LIST_COLUMNS = frozenset({"jurisdiction", "languages", "accepted_evidence"})
NUMBER_COLUMNS = frozenset(
    {"questionnaire_parameters", "questionnaire_required", "travel_document_days"}
)
OPTIONAL_TEXT = frozenset({"email", "website"})
_TRUE = {"true", "yes", "1", "y", "sí", "si"}
_FALSE = {"false", "no", "0", "n", ""}


@dataclass(frozen=True)
class RowError:
    """One problem: which row (header is row 1), which column, what is wrong.

    `kind` and `context` let a page word the message in its own language.
    """

    row: int
    field: str
    message: str
    kind: str = ""
    value: Any = None
    context: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The problem in the API's details shape."""
        return {"row": self.row, "field": self.field, "message": self.message}


class CsvImportError(ValueError):
    """The file has problems; nothing was imported."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the file; nothing was imported")
        self.errors = errors


@dataclass
class ImportReport:
    """What an import did."""

    created: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Counts and names, for the API and the CLI."""
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "created_names": self.created,
            "updated_names": self.updated,
        }


def _cell(entry: dict[str, Any], column: str) -> str:
    value = entry[column]
    if column in LIST_COLUMNS:
        return ";".join(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_text(entries: list[Consulate]) -> str:
    """The entries as CSV text with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        data = as_input(entry)
        writer.writerow([_cell(data, column) for column in COLUMNS])
    return out.getvalue()


async def export_csv(session: AsyncSession) -> str:
    """The whole directory as CSV text."""
    return export_text(await all_entries(session))


def _row_to_input(cells: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for column, raw in cells.items():
        if column in LIST_COLUMNS:
            data[column] = [part.strip() for part in raw.split(";") if part.strip()]
        elif column in NUMBER_COLUMNS or column in OPTIONAL_TEXT:
            data[column] = raw.strip() or None
        elif column == "video_interviews":
            # Unknown words stay as given so validation names the cell.
            word = raw.strip().lower()
            data[column] = True if word in _TRUE else False if word in _FALSE else raw
        else:
            data[column] = raw
    return data


def _header_errors(header: list[str]) -> list[RowError]:
    errors = []
    seen: set[str] = set()
    for name in header:
        if name not in COLUMNS:
            errors.append(RowError(1, name, "unknown column", "unknown_column"))
        elif name in seen:
            errors.append(RowError(1, name, "column appears twice", "duplicate_column"))
        seen.add(name)
    errors.extend(
        RowError(1, name, "column is missing", "missing_column")
        for name in COLUMNS
        if name not in seen
    )
    return errors


def parse_csv(text: str) -> list[tuple[int, ConsulateIn]]:
    """Validate every row; returns (row number, entry) or raises CsvImportError with all errors."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise CsvImportError([RowError(1, "", "the file is empty", "empty")]) from None
    except csv.Error as error:
        raise CsvImportError([RowError(1, "", f"not valid CSV: {error}", "csv")]) from None
    errors = _header_errors(header)
    if errors:
        raise CsvImportError(errors)
    parsed: list[tuple[int, ConsulateIn]] = []
    names: dict[str, int] = {}
    row_number = 1
    try:
        for cells in reader:
            row_number += 1
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are harmless
            if len(cells) != len(header):
                message = f"has {len(cells)} cells, the header has {len(header)}"
                counts = {"cells": len(cells), "columns": len(header)}
                errors.append(RowError(row_number, "", message, "cell_count", context=counts))
                continue
            try:
                row = dict(zip(header, cells, strict=True))
                entry = ConsulateIn.model_validate(_row_to_input(row))
            except ValidationError as invalid:
                for item in invalid.errors():
                    column = str(item["loc"][0]) if item["loc"] else ""
                    message = str(item["msg"]).removeprefix("Value error, ")
                    errors.append(
                        RowError(
                            row_number,
                            column,
                            message,
                            item["type"],
                            item.get("input"),
                            dict(item.get("ctx") or {}),
                        )
                    )
                continue
            first = names.setdefault(entry.name.lower(), row_number)
            if first != row_number:
                errors.append(
                    RowError(
                        row_number,
                        "name",
                        f"same name as row {first}",
                        "duplicate_name",
                        context={"first": first},
                    )
                )
                continue
            parsed.append((row_number, entry))
    except csv.Error as error:
        errors.append(RowError(row_number, "", f"not valid CSV: {error}", "csv"))
    if errors:
        raise CsvImportError(errors)
    return parsed


async def import_csv(
    session: AsyncSession, text: str, *, actor: Actor | None, remote: str = ""
) -> ImportReport:
    """Create or update entries from CSV text in the caller's transaction (all or nothing).

    Raises CsvImportError listing every problem; the caller's transaction must then be
    rolled back (the `transaction` helpers do so when the error propagates).
    """
    report = ImportReport()
    for row, data in parse_csv(text):
        entry = await find_by_name(session, data.name)
        try:
            if entry is None:
                await create_entry(session, data, actor=actor, remote=remote)
                report.created.append(data.name)
            elif await update_entry(session, entry, data, actor=actor, remote=remote):
                report.updated.append(data.name)
            else:
                report.unchanged.append(data.name)
        except DirectoryError as error:
            # Someone saved the same entry meanwhile; the caller rolls everything back.
            raise CsvImportError([RowError(row, error.field, str(error), "conflict")]) from None
    return report
