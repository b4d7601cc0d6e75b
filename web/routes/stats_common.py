"""What the statistics page and API share: reading the filters and applying the caller's scope."""

from __future__ import annotations

from datetime import date

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from interviews import codes
from interviews.access import Action, Actor, Forbidden, statistics_scope
from interviews.consulates import Consulate
from interviews.indicators import StatsQuery
from interviews.stats_export import parse_month
from web.errors import invalid
from web.keys import CLOCK

FILTERS = ("from", "to", "facility", "country", "nationality")
MAX_MONTHS = 120


def _months_back(today: date, count: int) -> date:
    month = today.year * 12 + today.month - 1 - count
    return date(month // 12, month % 12 + 1, 1)


async def stats_query(request: web.Request, session: AsyncSession, actor: Actor) -> StatsQuery:
    """The filters of the query string within the caller's scope (400 on bad input, 403 outside).

    Without `from`/`to`: the last twelve months, this one included.
    """
    params = request.query
    errors: list[dict[str, str]] = []
    today = request.app[CLOCK]().date()
    first, last = _months_back(today, 11), today.replace(day=1)
    for name in ("from", "to"):
        if params.get(name):
            try:
                parsed = parse_month(params[name], name)
            except ValueError as error:
                errors.append({"field": name, "message": str(error).split(": ", 1)[1]})
                continue
            first, last = (parsed, last) if name == "from" else (first, parsed)
    if not errors and first > last:
        errors.append({"field": "to", "message": "must not be before from"})
    elif (
        not errors and (last.year * 12 + last.month) - (first.year * 12 + first.month) >= MAX_MONTHS
    ):
        errors.append({"field": "from", "message": f"at most {MAX_MONTHS} months at once"})
    facility_id: int | None = None
    if params.get("facility"):
        if not params["facility"].isdigit():
            errors.append({"field": "facility", "message": "must be a facility id"})
        else:
            facility_id = int(params["facility"])
    country = _code(params.get("country", ""), "country", errors)
    nationality = _code(params.get("nationality", ""), "nationality", errors)
    if errors:
        raise invalid(errors)
    consulate_country = None
    if actor.consulate_id is not None:
        consulate = await session.get(Consulate, actor.consulate_id)
        consulate_country = consulate.country if consulate else None
    scope = statistics_scope(actor, consulate_country=consulate_country)
    if scope.facility_id is not None:
        if facility_id not in (None, scope.facility_id):
            raise Forbidden(Action.STATS_READ, "staff see their own facility's statistics only")
        facility_id = scope.facility_id
    if scope.nationality is not None:
        if nationality not in (None, scope.nationality):
            raise Forbidden(Action.STATS_READ, "consuls see their own nationality only")
        nationality = scope.nationality
    return StatsQuery(
        first, last, facility_id=facility_id, country=country, nationality=nationality
    )


def _code(value: str, field: str, errors: list[dict[str, str]]) -> str | None:
    if not value:
        return None
    try:
        return codes.country(value)
    except codes.CodeError as error:
        errors.append({"field": field, "message": str(error)})
        return None


def filter_params(query: StatsQuery) -> dict[str, str]:
    """The query as query-string parameters (links to exports and other views)."""
    params = {"from": f"{query.first_month:%Y-%m}", "to": f"{query.last_month:%Y-%m}"}
    if query.facility_id is not None:
        params["facility"] = str(query.facility_id)
    if query.country:
        params["country"] = query.country
    if query.nationality:
        params["nationality"] = query.nationality
    return params


def months(query: StatsQuery) -> list[str]:
    """Every month of the query, as YYYY-MM, in order."""
    out = []
    year, month = query.first_month.year, query.first_month.month
    while (year, month) <= (query.last_month.year, query.last_month.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out
