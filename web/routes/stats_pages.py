"""The statistics dashboard: filters, server-drawn charts, and the table behind every chart.

Every figure shown has passed the same suppression as the exports (interviews.suppression):
counts of 1 to 4 people read "<5", and totals never give them back by subtraction.
Admins also get the export links and the figures imported from other installations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.web_request import FileField
from markupsafe import Markup

from interviews import codes
from interviews.access import Action, Actor, Forbidden, authorize
from interviews.accounts import Role
from interviews.facilities import list_facilities
from interviews.indicators import ALL
from interviews.stats_imports import country_totals
from interviews.stats_tables import RATES, DashboardTables, Table
from interviews.suppression import SUPPRESSED_TEXT
from web.charts import Series, bar_chart, line_chart
from web.errors import invalid
from web.keys import CATALOGS, SETTINGS, STATS_FIGURES
from web.request_tools import signed_in, transaction
from web.routes.stats_api import import_text
from web.routes.stats_common import filter_params, months, stats_query
from web.templating import page_language, render

routes = web.RouteTableDef()

LABELS = {
    "cases_opened": "Cases opened",
    "minors": "Minors",
    "unaccompanied_minors": "Unaccompanied minors",
    "cases_interviewed": "Cases with an interview held",
    "cases_identified": "Cases with an identification outcome",
    "identity_confirmed": "Identity confirmed",
    "identity_not_confirmed": "Identity not confirmed",
    "cases_past_deadline": "Past the legal deadline",
    "interviews_requested": "Interviews requested",
    "interviews_held": "Interviews held",
    "interviews_no_show": "No-show",
    "interviews_cancelled": "Cancelled",
    "identity_confirmed_rate": "Identity confirmed (share)",
    "identity_not_confirmed_rate": "Identity not confirmed (share)",
    "days_to_first_interview": "Days to first interview (median / 90th pct.)",
    "days_to_identification": "Days to identification (median / 90th pct.)",
}
CASE_COLUMNS = (
    "cases_opened", "minors", "unaccompanied_minors", "cases_past_deadline",
    "cases_interviewed", "cases_identified", "identity_confirmed", "identity_not_confirmed",
    "identity_confirmed_rate", "identity_not_confirmed_rate",
    "days_to_first_interview", "days_to_identification",
    "interviews_requested", "interviews_held", "interviews_no_show", "interviews_cancelled",
)  # fmt: skip


def same(text: str) -> str:
    """A row label shown as it is (months, facility and consulate names)."""
    return text


def _count(value: int | None) -> str:
    return SUPPRESSED_TEXT if value is None else f"{value:,}"


def _cell(table: Table, column: str, row: str) -> str:
    if column in RATES:
        rate = table.rate(column, row)
        return "—" if rate is None else f"{rate:.0%}"
    if column.startswith("days_"):
        median, p90 = table.days(column, row)
        return "—" if median is None else f"{median} / {p90}"
    return _count(table.value(column, row))


def _grid(
    table: Table, columns: tuple[str, ...], label: Callable[[str], str], rows: list[str]
) -> dict[str, Any]:
    return {
        "columns": [LABELS.get(c, c) for c in columns],
        "rows": [(label(row), [_cell(table, c, row) for c in columns]) for row in rows],
        "total": [_cell(table, c, ALL) for c in columns],
    }


def _chart_block(
    chart_id: str, title: str, chart: Markup, grid: dict[str, Any], heading: str
) -> dict[str, Any]:
    return {"id": chart_id, "title": title, "svg": chart, "heading": heading, **grid}


def _breakdown_block(
    tables: DashboardTables,
    indicator: str,
    chart_id: str,
    title: str,
    heading: str,
    label: Callable[[str], str],
) -> dict[str, Any]:
    table = tables.breakdowns[indicator]
    labels = [label(row) for row in table.rows]
    values = [table.value(indicator, row) for row in table.rows]
    grid = _grid(table, (indicator,), label, table.rows)
    grid["columns"] = [title]
    svg = bar_chart(chart_id, title, f"{chart_id}-table", labels, values)
    return _chart_block(chart_id, title, svg, grid, heading)


@routes.get("/statistics")
async def dashboard(request: web.Request) -> web.Response:
    """The dashboard for the caller's scope and the filters in the query string."""
    actor = signed_in(request)
    language = page_language(request)
    _ = request.app[CATALOGS].get(language).gettext
    async with transaction(request) as session:
        query = await stats_query(request, session, actor)
        facilities = await list_facilities(session)
        imported = (
            await country_totals(session, f"{query.first_month:%Y-%m}", f"{query.last_month:%Y-%m}")
            if actor.role is Role.ADMIN
            else {}
        )
    tables = await request.app[STATS_FIGURES].tables(query)
    all_months = months(query)
    by_month = tables.by_period
    by_nationality = tables.by_nationality
    by_facility = tables.by_facility
    by_country = tables.by_country
    country = partial(codes.country_name, locale=language)
    language_name = partial(codes.language_name, locale=language)

    def series(name: str) -> Series:
        return Series(_(LABELS[name]), [by_month.value(name, m) for m in all_months])

    cases_title = _("Cases opened per month")
    interviews_title = _("Interviews per month")
    blocks = [
        _chart_block(
            "chart-cases", cases_title,
            line_chart("chart-cases", cases_title, "chart-cases-table", all_months,
                       [series("cases_opened"), series("minors"), series("unaccompanied_minors")]),
            _grid(by_month, ("cases_opened", "minors", "unaccompanied_minors",
                             "cases_past_deadline"), same, all_months),
            _("Month"),
        ),
        _chart_block(
            "chart-interviews", interviews_title,
            line_chart("chart-interviews", interviews_title, "chart-interviews-table", all_months,
                       [series("interviews_requested"), series("interviews_held"),
                        series("interviews_no_show"), series("interviews_cancelled")]),
            _grid(by_month, ("interviews_requested", "interviews_held", "interviews_no_show",
                             "interviews_cancelled"), same, all_months),
            _("Month"),
        ),
    ]  # fmt: skip
    for chart_id, title, table, label, heading in (
        ("chart-nationality", _("Cases by nationality"), by_nationality, country, _("Nationality")),
        (
            "chart-country",
            _("Cases by country of detention"),
            by_country,
            country,
            _("Country of detention"),
        ),
        ("chart-facility", _("Cases by facility"), by_facility, same, _("Facility")),
    ):
        svg = bar_chart(
            chart_id, title, f"{chart_id}-table", [label(r) for r in table.rows],
            [table.value("cases_opened", r) for r in table.rows],
        )  # fmt: skip
        blocks.append(
            _chart_block(
                chart_id, title, svg, _grid(table, CASE_COLUMNS, label, table.rows), heading
            )
        )
    blocks += [
        _breakdown_block(tables, "interviews_held_by_consulate", "chart-consulates",
                         _("Interviews held per consulate"), _("Consulate"), same),
        _breakdown_block(tables, "interviews_held_by_language", "chart-languages",
                         _("Interviews held per interpreter language"), _("Language"),
                         language_name),
        _breakdown_block(tables, "interpreter_shortfall", "chart-shortfall",
                         _("People for whom no interpreter was found, per language"),
                         _("Language"), language_name),
    ]  # fmt: skip
    params = filter_params(query)
    return render(
        "statistics/dashboard.html",
        request,
        {
            "blocks": blocks,
            "params": params,
            "query": query,
            "as_of": tables.as_of,
            "refresh_minutes": math.ceil(request.app[SETTINGS].stats_cache_seconds / 60),
            "facilities": facilities,
            "countries": sorted({f.country for f in facilities}),
            "nationalities": codes.country_choices(language),
            "scope_facility": actor.role is Role.STAFF,
            "scope_nationality": actor.role is Role.CONSUL,
            "can_export": _may(actor, Action.STATS_EXPORT),
            "export_csv": "/api/statistics/export?" + urlencode({**params, "format": "csv"}),
            "export_json": "/api/statistics/export?" + urlencode({**params, "format": "json"}),
            "imported": _imported_rows(imported, country),
            "imported_columns": [LABELS[c] for c in IMPORTED_COLUMNS],
            "just_imported": request.query.get("imported", ""),
            "just_imported_rows": request.query.get("rows", ""),
        },
    )


IMPORTED_COLUMNS = ("cases_opened", "minors", "interviews_held", "identity_confirmed",
                    "cases_past_deadline")  # fmt: skip


def _imported_rows(
    imported: dict[tuple[str, str], dict[str, Any]], country: Callable[[str], str]
) -> list[tuple[str, str, list[str]]]:
    rows = []
    for (source, code), figures in sorted(imported.items()):
        cells = []
        for column in IMPORTED_COLUMNS:
            figure = figures.get(column)
            if figure is None:
                cells.append("0")
            else:
                cells.append(("≥ " if figure.incomplete else "") + f"{figure.value:,}")
        rows.append((source, country(code), cells))
    return rows


def _may(actor: Actor, action: Action) -> bool:
    try:
        authorize(actor, action)
    except Forbidden:
        return False
    return True


@routes.post("/statistics/import")
async def import_form(request: web.Request) -> web.Response:
    """The admin's upload of another installation's export (CSV or JSON file)."""
    authorize(signed_in(request), Action.STATS_IMPORT)
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, FileField):
        raise invalid([{"field": "file", "message": "choose the export file to import"}])
    name = upload.filename.lower()
    content_type = "text/csv" if name.endswith(".csv") else "application/json"
    try:
        text = upload.file.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise invalid([{"field": "file", "message": "must be UTF-8 text"}]) from None
    summary = await import_text(request, text, content_type)
    raise web.HTTPSeeOther(
        "/statistics?"
        + urlencode(
            {
                "imported": summary.source,
                "rows": summary.added,
                "from": summary.period_from,
                "to": summary.period_to,
            }
        )
    )
