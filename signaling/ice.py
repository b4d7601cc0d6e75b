"""ICE servers for browsers and the server's peer: STUN and TURN from settings only.

TURN credentials are short-lived and derived from a secret shared with the TURN server,
the "TURN REST API" scheme coturn implements with `use-auth-secret`: the user name is
`<expiry unix time>:<label>` and the password is base64(HMAC-SHA1(secret, user name)).
Nothing here ever falls back to a public STUN server (aiortc would use Google's when
given no list, so the server's peer always gets an explicit one, possibly empty).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy


@dataclass(frozen=True)
class IceSettings:
    """Where STUN and TURN are, and how long TURN credentials live."""

    stun_urls: Sequence[str] = ()
    turn_urls: Sequence[str] = ()
    turn_secret: str = ""
    credential_ttl: timedelta = timedelta(hours=6)
    relay_only: bool = False


def turn_credentials(secret: str, label: str, expires: datetime) -> tuple[str, str]:
    """The (user name, password) pair coturn's use-auth-secret accepts until `expires`."""
    username = f"{int(expires.timestamp())}:{label}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: IceSettings, label: str, now: datetime) -> list[dict[str, Any]]:
    """The RTCIceServer list (as the browser's RTCConfiguration wants it) for one person."""
    servers: list[dict[str, Any]] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls and settings.turn_secret:
        username, credential = turn_credentials(
            settings.turn_secret, label, now + settings.credential_ttl
        )
        servers.append(
            {"urls": list(settings.turn_urls), "username": username, "credential": credential}
        )
    return servers


def rtc_configuration(settings: IceSettings, label: str, now: datetime) -> RTCConfiguration:
    """The aiortc configuration for the server's peer: the same servers, never a default,
    and the same relay-only policy the browsers get (no host or server-reflexive candidates
    from the server either, so its address is never handed out)."""
    return RTCConfiguration(
        iceServers=[RTCIceServer(**server) for server in ice_servers(settings, label, now)],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY
        if settings.relay_only
        else RTCIceTransportPolicy.ALL,
    )


def _with_loopback(
    original: Callable[[bool, bool], list[str]],
) -> Callable[[bool, bool], list[str]]:
    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = original(use_ipv4, use_ipv6)
        return ["127.0.0.1", *addresses] if use_ipv4 else addresses

    get_host_addresses.consulink_loopback = True  # type: ignore[attr-defined]
    return get_host_addresses


def allow_loopback_candidates() -> None:
    """Let aiortc offer 127.0.0.1 host candidates (aioice leaves them out).

    For development and tests on one machine, where browsers run with
    --allow-loopback-in-peer-connection; aioice has no option for it, so its address
    lookup is wrapped, once per process. Never needed in production.
    """
    current = aioice.ice.get_host_addresses
    if not getattr(current, "consulink_loopback", False):
        aioice.ice.get_host_addresses = _with_loopback(current)  # type: ignore[assignment]
