"""What the session routes share: who the caller is in a session, passes, ICE settings,
and an access log that never writes a join token.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from scheduling.tokens import JoinClaim
from signaling.admission import (
    Entrant,
    Refused,
    entrant_for_user,
    entrant_from_claim,
    make_pass,
    pass_cookie_name,
    read_pass,
)
from signaling.ice import IceSettings
from web.errors import ApiError
from web.keys import ACTOR, CLOCK, SECRET_KEY, SESSIONMAKER, SETTINGS, STALE_PASS
from web.settings import Settings

_REFUSED_STATUS = {"not_found": 404, "invalid_link": 404, "revoked": 404}
_JOIN_PATH = re.compile(r"/join/[^/?#\s]+")


def ice_settings(settings: Settings) -> IceSettings:
    """The ICE part of the settings."""
    return IceSettings(
        stun_urls=tuple(settings.stun_urls),
        turn_urls=tuple(settings.turn_urls),
        turn_secret=settings.turn_secret or "",
        credential_ttl=timedelta(seconds=settings.turn_credential_seconds),
        relay_only=settings.ice_relay_only,
    )


def refused_error(refused: Refused) -> ApiError:
    """The HTTP error for a refused entry (404 for links that are not genuine)."""
    return ApiError(_REFUSED_STATUS.get(refused.code, 403), refused.code, refused.message)


async def request_entrant(request: web.Request, interview_id: int) -> Entrant | None:
    """Who the caller is in this session: by session pass, else by sign-in; None if neither.

    A pass that no longer admits (say, revoked by new links) gives way to a valid sign-in,
    and the response drops it (`drop_stale_pass`). Raises Refused when the pass or the
    user may not (or no longer) enter.
    """
    now = request.app[CLOCK]()
    name = pass_cookie_name(interview_id)
    value = request.cookies.get(name)
    claim = read_pass(request.app[SECRET_KEY], value) if value else None
    actor = request.get(ACTOR)
    async with request.app[SESSIONMAKER]() as session:
        if claim is not None:
            try:
                return await entrant_from_claim(session, claim, interview_id, now)
            except Refused:
                if actor is None:
                    raise
        if actor is not None:
            entrant = await entrant_for_user(session, actor, interview_id, now)
            if value:
                request[STALE_PASS] = name
            return entrant
    if value:
        raise Refused("invalid_link", "This session pass is not valid. Open your link again.")
    return None


@web.middleware
async def drop_stale_pass(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Delete a pass cookie that gave way to the caller's sign-in (`request_entrant`)."""
    response = await handler(request)
    name = request.get(STALE_PASS)
    if name is not None and not response.prepared:  # a WebSocket has sent its headers
        response.del_cookie(name, path="/")
    return response


def set_pass_cookie(
    request: web.Request, response: web.StreamResponse, claim: JoinClaim, until: datetime
) -> None:
    """Give the browser the session pass for one interview (HTTP-only, until the window ends)."""
    seconds = max(60, int((until - request.app[CLOCK]()).total_seconds()))
    response.set_cookie(
        pass_cookie_name(claim.interview_id),
        make_pass(request.app[SECRET_KEY], claim),
        max_age=seconds,
        httponly=True,
        samesite="Lax",
        secure=request.app[SETTINGS].cookie_secure,
        path="/",
    )


def same_origin(request: web.Request) -> bool:
    """True when a WebSocket upgrade comes from a page of this site (or a non-browser)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: browsers always send Origin on WebSocket upgrades
    return origin.split("://", 1)[-1] == request.host


def redact(path: str) -> str:
    """A request line fit for logs: no query string, no join token."""
    return _JOIN_PATH.sub("/join/[token]", path.split("?", 1)[0])


class RedactingAccessLogger(AbstractAccessLogger):
    """aiohttp's access log without query strings or join tokens (they are credentials)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """One line per request: address, method, redacted path, status, size, duration."""
        self.logger.info(
            '%s "%s %s" %s %s %.3fs',
            request.remote,
            request.method,
            redact(request.raw_path),
            response.status,
            response.body_length,
            time,
        )
