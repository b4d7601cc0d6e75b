"""The pre-join connectivity check's far end: a short-lived aiortc peer that answers a
browser's data-channel offer with the server's own ICE settings.

The page offers before anyone joins; if ICE connects, media to the server's recording
peer will too (same servers, same policy, same host). Each probe peer hangs up
`CONNECTED_GRACE_SECONDS` after it connects, at once if it fails, and after
`PROBE_SECONDS` at the latest. At most `MAX_PROBES` run at once and at most
`MAX_PROBES_EACH` per person, so probes cannot pile up: a slot is taken before any await,
so concurrent requests cannot all pass the check.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

PROBE_SECONDS = 20.0
CONNECTED_GRACE_SECONDS = 2.0  # the browser sees "connected" a moment after the server
MAX_PROBES = 20
MAX_PROBES_EACH = 2


class TooManyProbes(Exception):
    """Every probe slot is taken (web: 503)."""


class ProbesInProgress(TooManyProbes):
    """This person already has `MAX_PROBES_EACH` probes running (web: 429)."""


class ConnectivityProbes:
    """The probe peers of one app."""

    def __init__(
        self,
        *,
        seconds: float = PROBE_SECONDS,
        limit: int = MAX_PROBES,
        each: int = MAX_PROBES_EACH,
    ) -> None:
        self.seconds = seconds
        self.limit = limit
        self.each = each
        self.running: set[asyncio.Task[None]] = set()
        self._taken = 0  # slots held, from the check until the peer is closed
        self._by_owner: Counter[str] = Counter()

    async def answer(self, configuration: RTCConfiguration, sdp: str, owner: str) -> str:
        """Answer one offer (all candidates included); the peer closes itself later.

        Raises ValueError for an offer aiortc cannot use, TooManyProbes when full and
        ProbesInProgress when `owner` already has its share running.
        """
        media = [line.split(" ", 1)[0] for line in sdp.splitlines() if line.startswith("m=")]
        if media != ["m=application"]:
            # A data channel only: the probe must never become a way to send media in.
            raise ValueError("the offer must carry one data channel and nothing else")
        if self._by_owner[owner] >= self.each:
            raise ProbesInProgress
        if self._taken >= self.limit:
            raise TooManyProbes
        self._take(owner)
        try:
            pc = RTCPeerConnection(configuration)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                await pc.setLocalDescription(await pc.createAnswer())
            except BaseException:
                await asyncio.shield(pc.close())
                raise
        except BaseException:
            self._release(owner)
            raise
        task = asyncio.get_running_loop().create_task(self._hang_up_later(pc))
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        task.add_done_callback(lambda _: self._release(owner))
        return str(pc.localDescription.sdp)

    def _take(self, owner: str) -> None:
        self._taken += 1
        self._by_owner[owner] += 1

    def _release(self, owner: str) -> None:
        self._taken -= 1
        self._by_owner[owner] -= 1
        if self._by_owner[owner] <= 0:
            del self._by_owner[owner]

    async def _hang_up_later(self, pc: RTCPeerConnection) -> None:
        """Close once connected (after a grace), failed or closed; by `seconds` at most."""
        done = asyncio.Event()
        connected = asyncio.Event()

        @pc.on("connectionstatechange")
        def _changed() -> None:
            if pc.connectionState == "connected":
                connected.set()
            elif pc.connectionState in ("failed", "closed"):
                done.set()

        async def _after_connecting() -> None:
            await connected.wait()
            await asyncio.sleep(CONNECTED_GRACE_SECONDS)
            done.set()

        grace = asyncio.get_running_loop().create_task(_after_connecting())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.seconds)
        finally:
            grace.cancel()
            await asyncio.shield(pc.close())

    async def close(self) -> None:
        """Shut down: hang up every probe now."""
        for task in list(self.running):
            task.cancel()
        for task in list(self.running):
            with contextlib.suppress(asyncio.CancelledError):
                await task
