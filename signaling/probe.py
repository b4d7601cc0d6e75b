"""The pre-join connectivity check's far end: a short-lived aiortc peer that answers a
browser's data-channel offer with the server's own ICE settings.

The page offers before anyone joins; if ICE connects, media to the server's recording
peer will too (same servers, same policy, same host). Each probe peer hangs up after
`PROBE_SECONDS`, and at most `MAX_PROBES` run at once, so probes cannot pile up.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

PROBE_SECONDS = 20.0
MAX_PROBES = 20


class TooManyProbes(Exception):
    """Every probe slot is taken (web: 503)."""


class ConnectivityProbes:
    """The probe peers of one app."""

    def __init__(self, *, seconds: float = PROBE_SECONDS, limit: int = MAX_PROBES) -> None:
        self.seconds = seconds
        self.limit = limit
        self.running: set[asyncio.Task[None]] = set()

    async def answer(self, configuration: RTCConfiguration, sdp: str) -> str:
        """Answer one offer (all candidates included); the peer closes itself later.

        Raises ValueError for an offer aiortc cannot use, TooManyProbes when full.
        """
        media = [line.split(" ", 1)[0] for line in sdp.splitlines() if line.startswith("m=")]
        if media != ["m=application"]:
            # A data channel only: the probe must never become a way to send media in.
            raise ValueError("the offer must carry one data channel and nothing else")
        if len(self.running) >= self.limit:
            raise TooManyProbes
        pc = RTCPeerConnection(configuration)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException:
            await asyncio.shield(pc.close())
            raise
        task = asyncio.get_running_loop().create_task(self._hang_up_later(pc))
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        return str(pc.localDescription.sdp)

    async def _hang_up_later(self, pc: RTCPeerConnection) -> None:
        try:
            await asyncio.sleep(self.seconds)
        finally:
            await asyncio.shield(pc.close())

    async def close(self) -> None:
        """Shut down: hang up every probe now."""
        for task in list(self.running):
            task.cancel()
        for task in list(self.running):
            with contextlib.suppress(asyncio.CancelledError):
                await task
