"""One signalling WebSocket: the join handshake, limits, and dispatch to the room.

Limits per connection: messages over `MAX_MESSAGE_BYTES` close it with 1009 (aiohttp
does this from `max_msg_size`); a token bucket bounds the message rate; every malformed
or refused message is a strike, and at `MAX_STRIKES` the sender is cut off (1008).
Nothing a connection does can reach another room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from signaling.admission import Entrant, Refused
from signaling.protocol import (
    MAX_STRIKES,
    Admit,
    Candidate,
    Captions,
    Chat,
    ClientMessage,
    Description,
    Join,
    Malformed,
    MediaState,
    Open,
    Quality,
    Refuse,
    Restart,
    Simple,
    error_message,
    parse_message,
)
from signaling.records import EventKind
from signaling.room import CLOSE_REFUSED, Member, Room, RoomError
from signaling.rooms import RoomRegistry

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 10.0
CLOSE_POLICY = 1008
CLOSE_UNAUTHORIZED = 4401


@dataclass
class RateLimit:
    """A token bucket: `rate` messages a second on average, bursts up to `burst`."""

    rate: float = 20.0
    burst: float = 100.0
    tokens: float = 100.0
    last: float = 0.0

    def allow(self, now: float) -> bool:
        """Take one token if there is one."""
        if self.last:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class WebSocketConnection:
    """A member's transport: the aiohttp WebSocket plus its outbox writer."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.outbox: asyncio.Queue[dict[str, Any] | None] | None = None

    async def close_with(self, code: int, reason: str) -> None:
        """Close the socket (idempotent), after writing what is still queued for it."""
        if self.ws.closed:
            return
        while self.outbox is not None and not self.outbox.empty():
            message = self.outbox.get_nowait()
            if message is not None:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await self.ws.send_json(message)
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.close(code=code, message=reason.encode())

    async def pump(self, member: Member) -> None:
        """Write the member's outbox to the socket until told to stop."""
        while True:
            message = await member.outbox.get()
            if message is None or self.ws.closed:
                return
            try:
                await self.ws.send_json(message)
            except (ConnectionError, RuntimeError):
                return


class Session:
    """The state of one connection between the join and the close."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        registry: RoomRegistry,
        interview_id: int,
        resolve_token: Callable[[str], Awaitable[Entrant]],
        entrant: Entrant | None,
    ) -> None:
        self.ws = ws
        self.connection = WebSocketConnection(ws)
        self.registry = registry
        self.interview_id = interview_id
        self.resolve_token = resolve_token
        self.entrant = entrant
        self.member: Member | None = None
        self.room: Room | None = None
        self.strikes = 0
        self.limit = RateLimit()
        self.last_limit_error = 0.0

    async def send_now(self, message: dict[str, Any]) -> None:
        """Reply before the member (and its outbox) exists."""
        if self.member is not None:
            self.member.send(message)
        elif not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_json(message)

    async def strike(self, code: str, message: str, in_reply_to: str | None = None) -> bool:
        """Count a bad message; False when the sender has run out of strikes."""
        self.strikes += 1
        if self.strikes >= MAX_STRIKES:
            log.warning("signalling: cut off a connection to %s", self.interview_id)
            if self.room is not None and self.member is not None:
                await self.registry.record(
                    self.room, EventKind.CUT_OFF, self.member, strikes=self.strikes
                )
            await self.connection.close_with(CLOSE_POLICY, "too many bad messages")
            return False
        await self.send_now(error_message(code, message, in_reply_to))
        return True

    async def run(self) -> None:
        """Serve the connection until it closes."""
        pump: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(JOIN_TIMEOUT_S):
                joined = await self._handshake()
            if not joined:
                return
            assert self.member is not None
            pump = asyncio.get_running_loop().create_task(self.connection.pump(self.member))
            await self._serve()
        except TimeoutError:
            await self.connection.close_with(CLOSE_UNAUTHORIZED, "no join message")
        finally:
            if self.member is not None and self.room is not None:
                self.member.closing = True
                await self.registry.remove(self.room, self.member)
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump

    async def _next(self) -> ClientMessage | None:
        """The next valid message; None when the socket closed or the sender is cut off."""
        while True:
            frame = await self.ws.receive()
            if frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return None
            if frame.type is WSMsgType.ERROR:
                return None  # aiohttp has already closed it (1009 for oversize messages)
            now = time.monotonic()
            if not self.limit.allow(now):
                # Refused unread; one error a second at most so a flood gets no amplification.
                self.strikes += 1
                if self.strikes >= MAX_STRIKES:
                    await self.strike("rate_limited", "Too many messages.")
                    return None
                if now - self.last_limit_error >= 1.0:
                    self.last_limit_error = now
                    await self.send_now(error_message("rate_limited", "Too many messages."))
                continue
            if frame.type is not WSMsgType.TEXT:
                if not await self.strike("malformed", "Send JSON text messages."):
                    return None
                continue
            try:
                return parse_message(frame.data)
            except Malformed as error:
                if not await self.strike("malformed", error.reason, error.in_reply_to):
                    return None

    async def _handshake(self) -> bool:
        while True:
            message = await self._next()
            if message is None:
                return False
            if isinstance(message, Join):
                break
            if isinstance(message, Simple) and message.type == "ping":
                # The pre-join connectivity check measures the round trip before joining.
                await self.send_now({"type": "pong"})
                continue
            if not await self.strike("join_first", "Send a join message first.", message.type):
                return False
        entrant = self.entrant
        if message.token is not None:
            try:
                entrant = await self.resolve_token(message.token)
            except Refused as refused:
                await self.send_now(error_message(refused.code, refused.message, "join"))
                await self.connection.close_with(CLOSE_REFUSED, refused.code)
                return False
        if entrant is None:
            await self.send_now(error_message("unauthorized", "Open your join link first.", "join"))
            await self.connection.close_with(CLOSE_UNAUTHORIZED, "unauthorized")
            return False
        self.room = self.registry.room(self.interview_id)
        self.member = Member(
            entrant=entrant,
            name=message.name,
            language=message.language,
            connection=self.connection,
        )
        self.connection.outbox = self.member.outbox
        try:
            await self.registry.join(self.room, self.member, rejoin=message.rejoin)
        except RoomError as error:
            await self.send_now(error_message(error.code, error.message, "join"))
            self.member = None
            await self.connection.close_with(error.close_code, error.code)
            return False
        return True

    async def _serve(self) -> None:
        assert self.member is not None and self.room is not None
        member, room = self.member, self.room
        while not member.closing:
            message = await self._next()
            if message is None or member.closing:
                return
            try:
                if not await self._dispatch(room, member, message):
                    return
            except RoomError as error:
                if not await self.strike(error.code, error.message, message.type):
                    return

    async def _dispatch(self, room: Room, member: Member, message: ClientMessage) -> bool:
        """Act on one message; False when the connection should end."""
        registry = self.registry
        match message:
            case Description() | Candidate():
                await registry.relay(room, member, message.model_dump(mode="json"))
            case MediaState(audio=audio, video=video):
                await registry.set_media(room, member, audio, video)
            case Chat(text=text):
                await registry.chat(room, member, text)
            case Quality(peer=peer):
                details = message.model_dump(exclude={"type", "peer"})
                await registry.report(room, member, EventKind.QUALITY, peer, **details)
            case Captions(on=on, language=language):
                await registry.choose_captions(room, member, on, language)
            case Restart(peer=peer):
                await registry.report(room, member, EventKind.RESTART, peer)
            case Open(record_video=record_video):
                await registry.open(room, member, record_video)
            case Admit(peer=peer):
                await registry.admit(room, member, peer)
            case Refuse(peer=peer):
                await registry.refuse(room, member, peer)
            case Join():
                raise RoomError("already_joined", "This connection has already joined.")
            case Simple(type="ping"):
                member.send({"type": "pong"})
            case Simple(type="leave"):
                await registry.remove(room, member)  # tell the others before the close handshake
                await self.connection.close_with(1000, "left")
                return False
            case Simple(type="end"):
                await registry.end(room, member)
                return False
        return True
