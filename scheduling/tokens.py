"""Personal join links: one signed token per person per interview.

The token carries the interview id, the participant id and that participant's random
nonce, signed with HMAC-SHA256 under the app's secret key (with a purpose label, so a
token made for something else never verifies here). The server keeps no token, only the
nonce: changing it revokes the link. A reschedule changes everyone's (the notices carry
the new links), so a link announced for an old time never opens the moved interview.
When a link may be used is decided at use time against the interview's current times
(`join_window`), and a cancelled interview refuses every link by its status.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

PURPOSE = b"consulink/join/v1\x00"
JOIN_EARLY = timedelta(minutes=30)
JOIN_LATE = timedelta(hours=2)


@dataclass(frozen=True)
class JoinClaim:
    """What a valid token says."""

    interview_id: int
    participant_id: int
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, PURPOSE + payload, hashlib.sha256).digest()


def make_join_token(secret: bytes, interview_id: int, participant_id: int, nonce: str) -> str:
    """The token for one person's link to one interview."""
    payload = f"{interview_id}:{participant_id}:{nonce}".encode()
    return f"{_b64(payload)}.{_b64(_signature(secret, payload))}"


def read_join_token(secret: bytes, token: str) -> JoinClaim | None:
    """The claim of a genuine token, or None for anything forged, altered or malformed."""
    try:
        encoded_payload, encoded_signature = token.split(".")
        payload = _unb64(encoded_payload)
        signature = _unb64(encoded_signature)
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(signature, _signature(secret, payload)):
        return None
    try:
        interview_id, participant_id, nonce = payload.decode().split(":")
        return JoinClaim(int(interview_id), int(participant_id), nonce)
    except ValueError:
        return None


def join_window(starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    """When a join link may be used: from half an hour before until two hours after the end."""
    return starts_at - JOIN_EARLY, ends_at + JOIN_LATE
