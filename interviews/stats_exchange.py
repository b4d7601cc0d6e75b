"""The statistics exchange format (version 1): one schema, written as JSON or CSV.

A document is a set of rows, each one published figure: an indicator for a month, a
country of detention, a facility (or `*` for the country) and a nationality (or `*`),
or for a breakdown a consulate or language. Suppressed figures have no value. The
fields, code lists and rules are in docs/statistics.md; docs/statistics.schema.json is
the JSON Schema the tests validate exports against.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Hashable
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from interviews.indicators import ALL, BREAKDOWNS, DAY_MEASURES, RawFigures
from interviews.stats_tables import (
    NATIONALITY_COUNTS,
    RATES,
    cross_relations,
    day_measures,
)
from interviews.suppression import Relation, suppress

SCHEMA_VERSION = "1.0"
DAY_INDICATORS = tuple(f"{m}_{stat}" for m in DAY_MEASURES for stat in ("median", "p90"))
INDICATORS = (*NATIONALITY_COUNTS, *BREAKDOWNS, *DAY_INDICATORS, *RATES)
DIMENSIONS = ("", "consulate", "language")
CSV_COLUMNS = (
    "schema_version",
    "source",
    "period_from",
    "period_to",
    "scope",
    "period",
    "country_of_detention",
    "facility",
    "nationality",
    "dimension",
    "dimension_value",
    "indicator",
    "value",
    "suppressed",
)
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class ExchangeError(ValueError):
    """A document that does not follow the format; `field` says where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Row(BaseModel):
    """One published figure."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    period: Month
    country_of_detention: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    facility: Annotated[str, Field(min_length=1, max_length=200)]
    nationality: Annotated[str, Field(pattern=r"^([A-Z]{2}|\*)$")]
    dimension: Literal["", "consulate", "language"] = ""
    dimension_value: Annotated[str, Field(max_length=200)] = ""
    indicator: Literal[INDICATORS]  # type: ignore[valid-type]
    value: float | None
    suppressed: bool

    @model_validator(mode="after")
    def _consistent(self) -> Row:
        if self.suppressed != (self.value is None):
            raise ValueError("a suppressed row has no value, and a row without value is suppressed")
        if self.value is not None and self.value < 0:
            raise ValueError("value cannot be negative")
        expected = BREAKDOWNS.get(self.indicator, "")
        if self.dimension != expected:
            raise ValueError(f"indicator {self.indicator} has dimension {expected!r}")
        return self


class Document(BaseModel):
    """An export: who made it, which months it covers, and its rows."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    schema_version: Literal["1.0"]
    source: Annotated[str, Field(min_length=1, max_length=100)]
    period_from: Month
    period_to: Month
    # The export's filters ("facility=3;nationality=IN"); empty for all of the source's
    # figures. Only a whole export can replace a source's figures on import.
    scope: Annotated[str, Field(max_length=200)] = ""
    generated_at: datetime | None = None
    rows: list[Row]

    @model_validator(mode="after")
    def _periods(self) -> Document:
        if self.period_from > self.period_to:
            raise ValueError("period_from is after period_to")
        for position, row in enumerate(self.rows):
            if not self.period_from <= row.period <= self.period_to:
                raise ValueError(f"rows.{position}.period is outside period_from..period_to")
        return self


# A published figure's place: (indicator, period, country, facility, nationality,
# dimension_value). Plain tuples: an export builds a few hundred thousand of them.
ExportKey = tuple[str, str, str, str, str, str]


def _key(
    indicator: str, period: str, country: str, facility: str, nationality: str, value: str = ""
) -> ExportKey:
    return (indicator, period, country, facility, nationality, value)


def _renamed(key: ExportKey, indicator: str) -> ExportKey:
    return (indicator, *key[1:])


def _bump(counts: dict[ExportKey, int], key: ExportKey, count: int) -> None:
    counts[key] = counts.get(key, 0) + count


def export_rows(raw: RawFigures) -> list[dict[str, Any]]:
    """Every figure as published rows: facility × nationality per month and country, suppressed.

    Each month and country is a table with margins (facility `*`, nationality `*`); each
    indicator's table, and the relations between indicators of one cell, are protected
    together.
    """
    counts: dict[ExportKey, int] = {}
    histograms: dict[ExportKey, Counter[int]] = {}
    for fine, count in raw.counts.items():
        country, facility = raw.facilities[fine.facility_id]
        column_is_nat = fine.indicator in NATIONALITY_COUNTS
        for f in (facility, ALL):
            for col in ((fine.nationality if column_is_nat else fine.dimension_value), ALL):
                if column_is_nat:
                    _bump(counts, _key(fine.indicator, fine.period, country, f, col), count)
                elif not _totalled_elsewhere(fine.indicator, col):
                    _bump(counts, _key(fine.indicator, fine.period, country, f, ALL, col), count)
    for fine, histogram in raw.histograms.items():
        country, facility = raw.facilities[fine.facility_id]
        for f in (facility, ALL):
            for nat in (fine.nationality, ALL):
                key = _key(fine.indicator, fine.period, country, f, nat)
                histograms.setdefault(key, Counter()).update(histogram)
    relations, unpublished = _relations(counts)
    hidden = suppress(counts, relations, unpublished=unpublished)
    never = set(unpublished)
    rows = [
        _row(key, None if key in hidden else value)
        for key, value in counts.items()
        if key not in never
    ]
    rows += _derived_rows(counts, hidden, histograms)
    rows.sort(key=lambda r: (r["period"], r["country_of_detention"], r["facility"],
                             r["indicator"], r["nationality"], r["dimension_value"]))  # fmt: skip
    return rows


def _totalled_elsewhere(indicator: str, column: str) -> bool:
    # Held interviews per consulate add up to held interviews, whose rows are their totals:
    # one figure, not a second copy that suppression could treat differently (and adding
    # the consulates into interviews_held as well would count every interview twice).
    return indicator == "interviews_held_by_consulate" and column == ALL


def _relations(counts: dict[ExportKey, int]) -> tuple[list[Relation[ExportKey]], list[ExportKey]]:
    relations: list[Relation[ExportKey]] = []
    cells: dict[tuple[str, str, str], set[tuple[str, str]]] = {}
    for key in counts:
        column = key[4] if key[0] in NATIONALITY_COUNTS else key[5]
        cells.setdefault((key[0], key[1], key[2]), set()).add((key[3], column))
    for (indicator, period, country), members in cells.items():
        if indicator == "interviews_held_by_consulate":
            continue  # its totals are interviews_held's; added below
        relations += _table(indicator, period, country, members)
    for (indicator, period, country), members in cells.items():
        if indicator == "interviews_held_by_consulate":
            relations += _table(indicator, period, country, members, total="interviews_held")
    unpublished: list[ExportKey] = []
    cells_of_nat = {(k[1], k[2], k[3], k[4]) for k in counts if k[0] in NATIONALITY_COUNTS}
    for cell in sorted(cells_of_nat):
        more, rest = cross_relations(counts, partial(_in_cell, cell))
        relations += more
        unpublished += rest
    return relations, unpublished


def _in_cell(cell: tuple[str, str, str, str], indicator: str) -> ExportKey:
    return (indicator, *cell, "")


def _table(
    indicator: str,
    period: str,
    country: str,
    members: set[tuple[str, str]],
    *,
    total: str | None = None,
) -> list[Relation[ExportKey]]:
    by_nat = indicator in NATIONALITY_COUNTS

    def key(facility: str, column: str) -> ExportKey:
        if total is not None and column == ALL:
            return _key(total, period, country, facility, ALL)
        if by_nat:
            return _key(indicator, period, country, facility, column)
        return _key(indicator, period, country, facility, ALL, column)

    facilities = sorted({f for f, _ in members if f != ALL})
    columns = sorted({c for _, c in members if c != ALL})
    relations = [
        Relation(key(f, ALL), tuple(key(f, c) for c in columns if (f, c) in members))
        for f in facilities
    ]
    relations += [
        Relation(key(ALL, c), tuple(key(f, c) for f in facilities if (f, c) in members))
        for c in columns
    ]
    relations.append(Relation(key(ALL, ALL), tuple(key(f, ALL) for f in facilities)))
    relations.append(Relation(key(ALL, ALL), tuple(key(ALL, c) for c in columns)))
    return relations


def _row(key: ExportKey, value: int | float | None) -> dict[str, Any]:
    # Plain dicts in the Row shape: an export has tens of thousands, and pydantic models
    # of figures this module made itself would only cost time (imports validate as Row).
    return {
        "period": key[1],
        "country_of_detention": key[2],
        "facility": key[3],
        "nationality": key[4],
        "dimension": BREAKDOWNS.get(key[0], ""),
        "dimension_value": key[5],
        "indicator": key[0],
        "value": value,
        "suppressed": value is None,
    }


def _derived_rows(
    counts: dict[ExportKey, int],
    hidden: set[ExportKey],
    histograms: dict[ExportKey, Counter[int]],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for key, histogram in histograms.items():
        median, p90 = day_measures(histogram)
        for stat, value in (("median", median), ("p90", p90)):
            rows.append(_row(_renamed(key, f"{key[0]}_{stat}"), value))
    for key in [k for k in counts if k[0] == "cases_identified"]:
        for rate, (numerator, denominator) in RATES.items():
            top, bottom = _renamed(key, numerator), _renamed(key, denominator)
            shown = top not in hidden and bottom not in hidden and counts.get(bottom, 0) > 0
            share = round(counts.get(top, 0) / counts[bottom], 4) if shown else None
            rows.append(_row(_renamed(key, rate), share))
    return rows


# -- writing and reading ---------------------------------------------------------------------


def scope_text(filters: dict[str, object | None]) -> str:
    """The filters an export was made with, as its `scope` ("" when none)."""
    return ";".join(f"{name}={value}" for name, value in filters.items() if value is not None)


def document(
    rows: list[dict[str, Any]],
    *,
    source: str,
    first: date,
    last: date,
    generated_at: datetime,
    scope: str = "",
) -> dict[str, Any]:
    """An export document (the JSON form) for the months `first`..`last`."""
    return {
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "period_from": f"{first:%Y-%m}",
        "period_to": f"{last:%Y-%m}",
        "scope": scope,
        "generated_at": generated_at.isoformat(),
        "rows": rows,
    }


def to_json(doc: dict[str, Any]) -> str:
    """The document as JSON text."""
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else repr(value)


def to_csv(doc: dict[str, Any]) -> str:
    """The document as CSV: one row per figure, the document's fields repeated on each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    head = [doc["schema_version"], doc["source"], doc["period_from"], doc["period_to"],
            doc.get("scope", "")]  # fmt: skip
    for row in doc["rows"]:
        writer.writerow(
            [*head, row["period"], row["country_of_detention"], row["facility"],
             row["nationality"], row["dimension"], row["dimension_value"], row["indicator"],
             _number(row["value"]), "true" if row["suppressed"] else "false"]
        )  # fmt: skip
    return buffer.getvalue()


def _first_error(error: ValidationError) -> ExchangeError:
    item = error.errors()[0]
    field = ".".join(str(p) for p in item["loc"]) or "document"
    return ExchangeError(field, str(item["msg"]).removeprefix("Value error, "))


def parse_json(text: str) -> Document:
    """Read a JSON export; ExchangeError names the first field at fault."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ExchangeError("document", f"not valid JSON: {error}") from None
    try:
        return Document.model_validate(data)
    except ValidationError as error:
        raise _first_error(error) from None


def csv_as_data(text: str) -> dict[str, Any]:
    """A CSV export in the JSON document's shape (before validation)."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or tuple(reader.fieldnames) != CSV_COLUMNS:
        raise ExchangeError("header", "the columns must be: " + ",".join(CSV_COLUMNS))
    head: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(reader, start=2):
        envelope = {k: line[k] for k in CSV_COLUMNS[:5]}
        if head and envelope != head:
            raise ExchangeError(
                f"line {number}",
                "every line must have the same schema_version, source, period_from, "
                "period_to and scope",
            )
        head = envelope
        value = line["value"].strip()
        try:
            number_value: int | float | None = None
            if value:
                number_value = int(value) if value.isdigit() else float(value)
        except ValueError:
            raise ExchangeError(f"line {number}.value", "must be a number or empty") from None
        if line["suppressed"] not in ("true", "false"):
            raise ExchangeError(f"line {number}.suppressed", "must be true or false")
        rows.append(
            {k: line[k] for k in CSV_COLUMNS[5:12]}
            | {"value": number_value, "suppressed": line["suppressed"] == "true"}
        )
    if not head:
        raise ExchangeError("document", "the CSV has no rows")
    return {**head, "rows": rows}


def parse_csv(text: str) -> Document:
    """Read a CSV export; ExchangeError names the first field at fault."""
    data = csv_as_data(text)
    try:
        return Document.model_validate(data)
    except ValidationError as error:
        raise _first_error(error) from None


def figure_key(row: Row) -> Hashable:
    """What identifies a figure within one source (for replacing on re-import)."""
    return (row.period, row.country_of_detention, row.facility, row.nationality,
            row.dimension_value, row.indicator)  # fmt: skip
