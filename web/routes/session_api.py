"""Session API: exchange a join link's token for a session pass, and a session's settings.

POST /api/sessions/{id}/passes   {"token": "..."}  -> sets the pass cookie
GET  /api/sessions/{id}/config                      -> ICE servers and limits
POST /api/sessions/{id}/probe    {"sdp": "..."}     -> the answer of a short-lived test peer
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from signaling.admission import Entrant, Refused, entrant_from_token
from signaling.ice import ice_servers, rtc_configuration
from signaling.probe import ProbesInProgress, TooManyProbes
from signaling.protocol import MAX_MESSAGE_BYTES
from web.errors import ApiError, invalid
from web.keys import CLOCK, PROBES, SECRET_KEY, SESSIONMAKER, SETTINGS
from web.openapi import error_responses, json_ok
from web.request_tools import json_body, parse
from web.routes.session_common import (
    ice_settings,
    refused_error,
    request_entrant,
    set_pass_cookie,
)

routes = web.RouteTableDef()
_ID = r"{id:\d+}"


class PassIn(BaseModel):
    """A join link's token."""

    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=512)


@routes.post(f"/api/sessions/{_ID}/passes")
async def exchange(request: web.Request) -> web.Response:
    """Trade a join token for this interview's session cookie (403 for another interview's)."""
    interview_id = int(request.match_info["id"])
    body = parse(PassIn, await json_body(request))
    try:
        async with request.app[SESSIONMAKER]() as session:
            entrant = await entrant_from_token(
                session, request.app[SECRET_KEY], body.token, interview_id, request.app[CLOCK]()
            )
    except Refused as refused:
        raise refused_error(refused) from None
    assert entrant.claim is not None
    response = web.json_response(
        {"interview_id": interview_id, "role": entrant.role, "name": entrant.name}
    )
    set_pass_cookie(request, response, entrant.claim, entrant.until)
    return response


class ProbeIn(BaseModel):
    """A browser's SDP offer for the connectivity check (a data channel only)."""

    model_config = ConfigDict(extra="forbid")
    sdp: str = Field(min_length=1, max_length=MAX_MESSAGE_BYTES)


async def _entrant(request: web.Request, interview_id: int) -> Entrant:
    try:
        entrant = await request_entrant(request, interview_id)
    except Refused as refused:
        raise refused_error(refused) from None
    if entrant is None:
        raise ApiError(401, "unauthorized", "Open your join link or sign in first.")
    return entrant


def _label(interview_id: int, entrant: Entrant) -> str:
    """Whose TURN credentials these are (shows in the TURN server's log)."""
    return f"{interview_id}-{entrant.participant_id or 'u' + str(entrant.user_id)}"


@routes.post(f"/api/sessions/{_ID}/probe")
async def probe(request: web.Request) -> web.Response:
    """Answer a connectivity-check offer with a test peer using the server's ICE settings."""
    interview_id = int(request.match_info["id"])
    entrant = await _entrant(request, interview_id)
    body = parse(ProbeIn, await json_body(request))
    configuration = rtc_configuration(
        ice_settings(request.app[SETTINGS]), _label(interview_id, entrant), request.app[CLOCK]()
    )
    try:
        sdp = await request.app[PROBES].answer(
            configuration, body.sdp, _label(interview_id, entrant)
        )
    except ProbesInProgress:
        raise ApiError(
            429, "checks_in_progress", "Your connection check is still running; wait for it."
        ) from None
    except TooManyProbes:
        raise ApiError(503, "busy", "Too many connection checks at once; try again.") from None
    except Exception as error:  # aiortc refuses unusable SDP with assorted exception types
        raise invalid([{"field": "sdp", "message": f"not a usable offer: {error}"}]) from None
    return web.json_response({"type": "answer", "sdp": sdp})


@routes.get(f"/api/sessions/{_ID}/config")
async def config(request: web.Request) -> web.Response:
    """What a client needs to connect: ICE servers (with fresh TURN credentials) and limits."""
    interview_id = int(request.match_info["id"])
    entrant = await _entrant(request, interview_id)
    settings = request.app[SETTINGS]
    label = _label(interview_id, entrant)
    body: dict[str, Any] = {
        "interview_id": interview_id,
        "role": entrant.role,
        "name": entrant.name,
        "language": entrant.language,
        "host": entrant.host,
        "ice_servers": ice_servers(ice_settings(settings), label, request.app[CLOCK]()),
        "ice_transport_policy": "relay" if settings.ice_relay_only else "all",
        "max_message_bytes": MAX_MESSAGE_BYTES,
        "socket": f"/session/{interview_id}/ws",
    }
    return web.json_response(body)


OPENAPI = {
    "/api/sessions/{id}/passes": {
        "post": {
            "summary": "Exchange a join link's token for the session cookie of this interview",
            "responses": {
                "200": json_ok("The person the token names; the pass cookie is set"),
                **error_responses(400, 403, 404, 415),
            },
        }
    },
    "/api/sessions/{id}/probe": {
        "post": {
            "summary": "Connectivity check: answer an SDP offer with a short-lived test peer",
            "responses": {
                "200": json_ok("The test peer's SDP answer, all candidates included"),
                **error_responses(400, 401, 403, 404, 415, 429, 503),
            },
        }
    },
    "/api/sessions/{id}/config": {
        "get": {
            "summary": "ICE servers (short-lived TURN credentials) and limits for a session",
            "responses": {
                "200": json_ok("Connection settings"),
                **error_responses(401, 403, 404),
            },
        }
    },
}
