"""Retention for admins: the periods in effect, the legal holds, and what a run would delete.

GET /api/retention?limit=N  -> the same as JSON (the dry run lists at most N items, 100 by default)
GET /retention              -> the page

Read-only (a dry run of the daily job's own policy and storage); deleting stays with the
daily job and `consulink retention run`.
"""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from interviews.access import Action, authorize
from interviews.retention import Expired
from interviews.retention_overview import (
    MAX_LISTED,
    RetentionOverview,
    counted_from,
    retention_overview,
)
from interviews.retention_policy import CaseCategory, RetainedKind
from web.keys import CLOCK, RETENTION_TASK
from web.openapi import error_responses, json_ok
from web.request_tools import parse, signed_in, transaction
from web.templating import render

routes = web.RouteTableDef()
DEFAULT_LISTED = 100

_DAYS = {"type": "integer", "nullable": True, "description": "days; null keeps it"}
_ITEM = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": [kind.value for kind in RetainedKind]},
        "target_id": {"type": "integer"},
        "case_id": {"type": "integer"},
        "case_reference": {"type": "string"},
        "category": {"type": "string", "enum": [category.value for category in CaseCategory]},
        "interview_id": {"type": "integer", "nullable": True},
        "counted_from": {"type": "string", "format": "date-time"},
        "expired_at": {"type": "string", "format": "date-time"},
        "rows": {"type": "integer"},
        "files": {"type": "integer"},
    },
}
OPENAPI = {
    "/api/retention": {
        "get": {
            "summary": "Retention periods in effect, active legal holds, and what a run would "
            "delete now (a dry run; admins)",
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LISTED},
                    "description": f"items listed from the dry run ({DEFAULT_LISTED} by default)",
                }
            ],
            "responses": {
                "200": json_ok(
                    "Periods per kind and case category, holds, and the dry run",
                    {
                        "type": "object",
                        "properties": {
                            "now": {"type": "string", "format": "date-time"},
                            "daily_at_utc": {"type": "string"},
                            "periods": {
                                "type": "object",
                                "additionalProperties": {
                                    "type": "object",
                                    "properties": {
                                        "counted_from": {
                                            "type": "string",
                                            "enum": ["interview_end", "case_closed"],
                                        },
                                        "days": {"type": "object", "additionalProperties": _DAYS},
                                    },
                                },
                            },
                            "legal_holds": {"type": "integer"},
                            "dry_run": {
                                "type": "object",
                                "properties": {
                                    "due": {"type": "integer"},
                                    "due_by_kind": {"type": "object"},
                                    "held": {"type": "integer"},
                                    "truncated": {"type": "boolean"},
                                    "items": {"type": "array", "items": _ITEM},
                                },
                            },
                        },
                    },
                ),
                **error_responses(400, 401, 403),
            },
        }
    }
}


class RetentionQuery(BaseModel):
    """How many dry-run items to list."""

    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, Field(ge=1, le=MAX_LISTED)] = DEFAULT_LISTED


async def _overview(request: web.Request, limit: int) -> RetentionOverview:
    authorize(signed_in(request), Action.RETENTION_READ)
    task = request.app[RETENTION_TASK]
    async with transaction(request) as session:
        return await retention_overview(
            session, task.policy, task.storage, request.app[CLOCK](), limit=limit
        )


def item_json(item: Expired) -> dict[str, Any]:
    """One item a run would delete."""
    return {
        "kind": item.kind.value,
        "target_id": item.target_id,
        "case_id": item.case_id,
        "case_reference": item.case_reference,
        "category": item.category.value,
        "interview_id": item.interview_id,
        "counted_from": item.counted_from.isoformat(),
        "expired_at": item.expired_at.isoformat(),
        "rows": item.rows,
        "files": len(item.files),
    }


@routes.get("/api/retention")
async def api_overview(request: web.Request) -> web.Response:
    """The periods, the holds and the dry run, as JSON."""
    query = parse(RetentionQuery, dict(request.query))
    overview = await _overview(request, query.limit)
    return web.json_response(
        {
            "now": overview.now.isoformat(),
            "daily_at_utc": request.app[RETENTION_TASK].at.strftime("%H:%M"),
            "periods": {
                kind.value: {
                    "counted_from": counted_from(kind),
                    "days": {
                        category.value: overview.policy.days[kind][category]
                        for category in CaseCategory
                    },
                }
                for kind in RetainedKind
            },
            "legal_holds": overview.legal_holds,
            "dry_run": {
                "due": overview.due,
                "due_by_kind": {kind.value: n for kind, n in overview.due_by_kind.items()},
                "held": overview.held,
                "truncated": overview.truncated,
                "items": [item_json(item) for item in overview.listed],
            },
        }
    )


@routes.get("/retention")
async def page(request: web.Request) -> web.Response:
    """The same for people: a table of periods, the holds, and the first items due."""
    overview = await _overview(request, DEFAULT_LISTED)
    return render(
        "retention/overview.html",
        request,
        {
            "overview": overview,
            "kinds": list(RetainedKind),
            "categories": list(CaseCategory),
            "counted_from": counted_from,
            "daily_at": request.app[RETENTION_TASK].at.strftime("%H:%M"),
        },
    )
