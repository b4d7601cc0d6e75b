"""The signalling WebSocket (/session/{id}/ws) and the live-session resources of the app.

The protocol itself lives in signaling/ (see docs/signaling.md); this module only decides
who the caller is before the upgrade and hands the socket over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from signaling.admission import Entrant, Refused, entrant_from_token
from signaling.captions_session import LiveCaptions
from signaling.connection import Session
from signaling.ice import allow_loopback_candidates
from signaling.media import ServerMedia
from signaling.protocol import MAX_MESSAGE_BYTES
from signaling.rooms import RoomRegistry
from web.keys import (
    CLOCK,
    LIVE_CAPTIONS,
    ROOMS,
    SECRET_KEY,
    SERVER_MEDIA,
    SESSIONMAKER,
    SETTINGS,
    SUMMARY_JOBS,
)
from web.routes.session_common import ice_settings, refused_error, request_entrant, same_origin

routes = web.RouteTableDef()


async def signaling_context(app: web.Application) -> AsyncIterator[None]:
    """Rooms and the server's media peers, for the app's lifetime."""
    settings = app[SETTINGS]
    if settings.ice_loopback:
        allow_loopback_candidates()
    media = ServerMedia(
        settings.data_dir / "recordings",
        app[SESSIONMAKER],
        lambda: app[CLOCK](),
        ice_settings(settings),
    )
    app[SERVER_MEDIA] = media
    # Captions: the speech model loads on the first captioned room, once for all rooms.
    captions = LiveCaptions(
        settings.caption_config(), app[SESSIONMAKER], lambda: app[CLOCK](), peer_for=media.peer_for
    )
    media.on_peer = captions.peer_ready
    app[LIVE_CAPTIONS] = captions
    app[ROOMS] = RoomRegistry(
        app[SESSIONMAKER],
        lambda: app[CLOCK](),
        record_video=settings.record_video,
        media=media,
        captions=captions,
        lifecycle=app[SUMMARY_JOBS],
    )
    yield
    await captions.close()
    await media.close()


async def close_rooms(app: web.Application) -> None:
    """on_shutdown: close every signalling connection and peer before cleanup runs."""
    if ROOMS in app:
        await app[ROOMS].close()


@routes.get(r"/session/{id:\d+}/ws")
async def session_socket(request: web.Request) -> web.WebSocketResponse:
    """Upgrade to the signalling protocol, for a known caller or one whose join carries a token."""
    interview_id = int(request.match_info["id"])
    if not same_origin(request):
        raise web.HTTPForbidden(reason="cross-site WebSocket refused")
    try:
        entrant = await request_entrant(request, interview_id)
    except Refused as refused:
        raise refused_error(refused) from None

    async def resolve_token(token: str) -> Entrant:
        async with request.app[SESSIONMAKER]() as session:
            return await entrant_from_token(
                session, request.app[SECRET_KEY], token, interview_id, request.app[CLOCK]()
            )

    # timeout: how long a close waits for the browser's reply before dropping the socket.
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=20.0, timeout=2.0)
    await ws.prepare(request)
    registry = request.app[ROOMS]
    handler = asyncio.current_task()
    assert handler is not None
    registry.handlers.add(handler)
    try:
        await Session(ws, registry, interview_id, resolve_token, entrant).run()
    finally:
        registry.handlers.discard(handler)
    return ws
