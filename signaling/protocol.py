"""The signalling protocol: every message a client may send, validated with pydantic.

Messages are JSON objects with a `type`. docs/signaling.md lists each one, who may send
it and what comes back; this module is the single definition both sides follow (the
server's own peer speaks it too, under the reserved peer id `server`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

# The server's receive-only peer is addressed like any participant, by this id.
SERVER_PEER = "server"
# Largest message accepted, in bytes; larger ones close the connection with 1009.
MAX_MESSAGE_BYTES = 64 * 1024
# Malformed or refused messages a connection may send before it is cut off.
MAX_STRIKES = 1000

PeerId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Join(_Message):
    """First message on a connection: who I am shown as, and my consent to recording."""

    type: Literal["join"]
    name: str = Field(min_length=1, max_length=80)
    language: str = Field(min_length=2, max_length=8, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")
    consent_recording: Literal[True]
    # A join link's token, for clients that cannot hold the session cookie.
    token: str | None = Field(None, max_length=512)
    # True when a client comes back after a lost connection or a page reload.
    rejoin: bool = False


class Open(_Message):
    """Host: start the session (invited people in the lobby are let in)."""

    type: Literal["open"]
    record_video: bool | None = None


class Admit(_Message):
    """Host: let someone waiting in the lobby in."""

    type: Literal["admit"]
    peer: PeerId


class Refuse(_Message):
    """Host: turn away someone who is not on the interview."""

    type: Literal["refuse"]
    peer: PeerId


class Description(_Message):
    """An SDP offer or answer for one peer of the same session."""

    type: Literal["offer", "answer"]
    to: PeerId
    sdp: str = Field(min_length=1, max_length=MAX_MESSAGE_BYTES)


class IceCandidate(BaseModel):
    """One ICE candidate as RTCIceCandidate.toJSON() gives it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    candidate: str = Field(max_length=1024)
    sdpMid: str | None = Field(None, max_length=64)
    sdpMLineIndex: int | None = Field(None, ge=0, le=64)
    usernameFragment: str | None = Field(None, max_length=256)


class Candidate(_Message):
    """A trickled ICE candidate for one peer (null: end of candidates)."""

    type: Literal["candidate"]
    to: PeerId
    candidate: IceCandidate | None


class MediaState(_Message):
    """My microphone and camera are on or off."""

    type: Literal["media"]
    audio: bool
    video: bool


class Chat(_Message):
    """A text message to everyone in the session."""

    type: Literal["chat"]
    text: str = Field(min_length=1, max_length=2000)


class Quality(_Message):
    """How my connection to one peer is doing, from getStats (kept in the session record)."""

    type: Literal["quality"]
    peer: PeerId
    level: Literal["good", "fair", "poor", "failed"]
    rtt_ms: float | None = Field(None, ge=0, le=60_000)
    loss: float | None = Field(None, ge=0, le=1)


class Restart(_Message):
    """My connection to one peer failed and I am restarting ICE (kept in the record)."""

    type: Literal["restart"]
    peer: PeerId


class Captions(_Message):
    """Turn my captions on or off, and choose the language I read them in."""

    type: Literal["captions"]
    on: bool
    # ISO 639-1 or 639-3 (checked against the standard); omitted keeps the current one.
    language: str | None = Field(
        None, min_length=2, max_length=8, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$"
    )


class Simple(_Message):
    """Messages without fields: leave, end (host), ping."""

    type: Literal["leave", "end", "ping"]


ClientMessage = Annotated[
    Join
    | Open
    | Admit
    | Refuse
    | Description
    | Candidate
    | MediaState
    | Chat
    | Quality
    | Restart
    | Captions
    | Simple,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


class Malformed(ValueError):
    """A message that is not JSON or not one of the protocol's messages."""

    def __init__(self, reason: str, in_reply_to: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.in_reply_to = in_reply_to


def parse_message(text: str) -> ClientMessage:
    """The message in a text frame, or Malformed saying what is wrong."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        raise Malformed("not JSON") from None
    kind = data.get("type") if isinstance(data, dict) else None
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "message"
        raise Malformed(
            f"{where}: {first['msg']}", kind if isinstance(kind, str) else None
        ) from None


def error_message(code: str, message: str, in_reply_to: str | None = None) -> dict[str, Any]:
    """The server's reply to a message it refused."""
    reply: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if in_reply_to is not None:
        reply["in_reply_to"] = in_reply_to
    return reply
