"""A call whose media path dies comes back by an ICE restart: the consul's Chromium runs in a
network namespace of its own, joined to the machine's by a veth pair, so every packet
between the two browsers crosses that link. Mid-call an nftables rule in the namespace drops
all UDP (media and ICE checks) while TCP, the signalling WebSocket, carries on. Both tiles
say "Connection: lost", the pages restart ICE over the still-open socket (the session record
says "restart"), and once the rule is gone video flows again both ways and ICE settles on
the restarted session; the consul's link to the server's peer is offered anew and recorded
again.

Nothing is faked: real Chromium, the real app on a real port (on the veth address, which
both namespaces reach), a real kernel network namespace. The pages' RTCPeerConnections are
the browser's own; an init script only keeps a reference to each, to read its state changes
and the candidate pair ICE selected.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from signaling.records import EventKind, SessionEvent, recordings
from tests.browser import CHROMIUM, CHROMIUM_FLAGS, new_context
from tests.test_session_support import SECRET, Interviews, two_interviews  # noqa: F401 - fixture
from web.settings import Settings

NS_PREFIX = "consulink-ice-"
VETH = re.compile(r"cli(\d+)[hn]")  # cli<pid>h in the root namespace, cli<pid>n inside
NFT_TABLE = "consulink_test"
# No --allow-loopback-in-peer-connection: the two browsers can only meet on the veth.
MEDIA_FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
# Bounds of the waits, in seconds. Chromium says "disconnected" about 6 s after the last
# packet and "failed" 10 to 25 s later; the pages restart ICE 2 s (the polite side 4 s)
# after "disconnected" and offer the server's peer a new link 3 s after it.
JOIN_S = 60  # joining, connecting, first frames
RESTART_S = 20  # from the drop: tiles say "lost", ICE restarted, a new server link
BACK_S = 30  # recorded tracks; after the rule's removal: video both ways, recorded again

# Keeps every RTCPeerConnection the page makes, and when its states changed.
WATCH_CONNECTIONS = """(() => {
  const Native = window.RTCPeerConnection;
  window.__connections = [];
  window.__states = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      const n = window.__connections.push(this);
      const log = (state) => {
        window.__states.push(`${n}:${state}@${(performance.now() / 1000).toFixed(1)}`);
      };
      this.addEventListener("connectionstatechange", () => log(this.connectionState));
      this.addEventListener("iceconnectionstatechange", () => {
        log(`ice-${this.iceConnectionState}`);
      });
    }
  };
})();"""
# The mesh connection is the one that sends and receives (the server's link only sends).
MESH = """() => window.__connections.find((pc) => pc.connectionState !== "closed"
  && pc.getTransceivers().some((t) => t.direction === "sendrecv"))"""
# The mesh connection's state, the ICE user fragment of its current local description, and
# the addresses and local user fragment of the candidate pair ICE selected.
MESH_PATH = f"""async () => {{
  const pc = ({MESH})();
  if (!pc) return null;
  const ufrag = pc.localDescription?.sdp.match(/a=ice-ufrag:(\\S+)/)?.[1];
  const path = {{ state: pc.connectionState, ufrag }};
  const stats = await pc.getStats();
  stats.forEach((s) => {{
    const pair = s.type === "transport" && stats.get(s.selectedCandidatePairId);
    if (!pair) return;
    const local = stats.get(pair.localCandidateId);
    Object.assign(path, {{
      local: local.address, remote: stats.get(pair.remoteCandidateId).address,
      selected_ufrag: local.usernameFragment,
    }});
  }});
  return path;
}}"""
# Which of the page's connections is its current link to the server's peer (send only).
SERVER_LINK = """() => window.__connections.findLastIndex((pc) => pc.connectionState !== "closed"
  && pc.getTransceivers().some((t) => t.direction === "sendonly"))"""
FRAMES = """() => [...document.querySelectorAll('video.remote')]
  .map((v) => v.getVideoPlaybackQuality().totalVideoFrames)"""
QUALITY = "() => [...document.querySelectorAll('.tile .quality')].map((q) => q.textContent)"
SHOWN = """() => ({
  tiles: [...document.querySelectorAll('.tile:has(video.remote)')].map((t) => [
    t.id, t.dataset.state, t.querySelector('.quality')?.textContent,
    t.querySelector('video').getVideoPlaybackQuality().totalVideoFrames]),
  states: window.__states.join(' '),
})"""


@dataclass(frozen=True)
class Namespace:
    """A network namespace joined to the root one by a veth pair (a /30 of its own)."""

    name: str
    veth: str  # the root namespace's end
    host_address: str  # on `veth`, in the root namespace
    address: str  # the other end, inside the namespace

    def drop_udp(self) -> None:
        """Drop every UDP packet into and out of the namespace (TCP carries on)."""
        rule = "meta l4proto udp drop"
        _ip(
            "netns",
            "exec",
            self.name,
            "nft",
            "-f",
            "-",
            stdin=f"table inet {NFT_TABLE} {{\n"
            f"  chain input {{ type filter hook input priority 0; {rule}; }}\n"
            f"  chain output {{ type filter hook output priority 0; {rule}; }}\n"
            "}\n",
        )

    def allow_udp(self) -> None:
        """Remove the rule drop_udp added."""
        _ip("netns", "exec", self.name, "nft", "delete", "table", "inet", NFT_TABLE)


def _ip(*arguments: str, stdin: str | None = None, check: bool = True) -> str:
    """Run `ip` (from iproute2); its output, or an error with its stderr."""
    done = subprocess.run(["ip", *arguments], input=stdin, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(arguments)}: {done.stderr.strip()}")
    return done.stdout


def _stale(pid: str) -> bool:
    """True when the process that made a namespace or veth is gone (or is us: pid reused)."""
    return int(pid) == os.getpid() or not Path(f"/proc/{pid}").exists()


def _remove_stale() -> None:
    """Namespaces and veths left behind by test runs that crashed (their process is gone)."""
    for line in _ip("netns", "list").splitlines():
        name = line.split(" ")[0]
        pid = name.removeprefix(NS_PREFIX)
        if not (name.startswith(NS_PREFIX) and pid.isdigit() and _stale(pid)):
            continue
        # Never one that still has processes in it (a run in another PID namespace).
        if not _ip("netns", "pids", name, check=False).strip():
            _ip("netns", "delete", name, check=False)
    for line in _ip("-o", "link", "show").splitlines():
        found = VETH.fullmatch(line.split(": ")[1].split("@")[0])
        if found and _stale(found.group(1)):
            _ip("link", "delete", found.group(0), check=False)


@pytest.fixture
def netns() -> Iterator[Namespace]:
    """A namespace for this test process, joined by a veth; removed whatever happens."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a network namespace (ip netns add)")
    if shutil.which("ip") is None:
        pytest.skip("needs the ip command to create a network namespace (Debian: iproute2)")
    if shutil.which("nft") is None:
        pytest.fail("nft is missing although we are root: scripts/test installs nftables")
    pid = os.getpid()
    # One /30 of 10.213.0.0/16 per process, so runs side by side on one machine do not clash.
    base = (pid % 16384) * 4
    net = f"10.213.{base // 256}"
    ns = Namespace(
        f"{NS_PREFIX}{pid}", f"cli{pid}h", f"{net}.{base % 256 + 1}", f"{net}.{base % 256 + 2}"
    )
    _remove_stale()
    try:
        _ip("netns", "add", ns.name)
    except RuntimeError as error:
        pytest.skip(f"cannot create a network namespace here: {error}")
    try:
        inside = f"cli{pid}n"
        _ip("link", "add", ns.veth, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", ns.name)
        _ip("addr", "add", f"{ns.host_address}/30", "dev", ns.veth)
        _ip("link", "set", ns.veth, "up")
        _ip("-n", ns.name, "addr", "add", f"{ns.address}/30", "dev", inside)
        _ip("-n", ns.name, "link", "set", inside, "up")
        _ip("-n", ns.name, "link", "set", "lo", "up")
        yield ns
    finally:
        # Deleting the namespace destroys its end of the veth, and with it the pair.
        _ip("netns", "delete", ns.name, check=False)
        _ip("link", "delete", ns.veth, check=False)


@pytest.fixture(name="settings")
def veth_settings(tmp_path: Path, database_url: str) -> Settings:
    """Plain settings: no loopback candidates from the server's peer, no STUN."""
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, secret_key=SECRET.decode()
    )


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any], app: web.Application, netns: Namespace
) -> TestClient[Any, Any]:
    """The app on a real port of the veth address, which both namespaces reach."""
    served: TestClient[Any, Any] = await aiohttp_client(
        app, server_kwargs={"host": netns.host_address}
    )
    return served


@pytest.fixture
async def browsers(
    netns: Namespace, live_server: str, tmp_path: Path
) -> AsyncIterator[tuple[Browser, Browser]]:
    """A Chromium here and one inside the namespace (Playwright drives both over a pipe)."""
    wrapper = tmp_path / "chromium-in-namespace"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {netns.name} {shlex.quote(CHROMIUM)} "$@"\n')
    wrapper.chmod(0o755)
    # The veth address is not localhost: let camera and microphone work over plain http.
    secure = f"--unsafely-treat-insecure-origin-as-secure={live_server}"
    flags = [*CHROMIUM_FLAGS, *MEDIA_FLAGS, secure]
    async with async_playwright() as playwright, contextlib.AsyncExitStack() as stack:
        here = await playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
        stack.push_async_callback(here.close)
        there = await playwright.chromium.launch(executable_path=str(wrapper), args=flags)
        stack.push_async_callback(there.close)
        yield here, there


async def _open_link(browser: Browser, live_server: str, token: str) -> Page:
    context = await new_context(browser, live_server)
    await context.add_init_script(WATCH_CONNECTIONS)
    page = await context.new_page()
    await page.goto(f"/join/{token}")
    await page.get_by_label("I understand the session is recorded").check()
    await page.get_by_role("button", name="Join", exact=True).click()
    return page


class Call:
    """The two pages of the call, with bounded waits that say what each page showed."""

    def __init__(self, host: Page, consul: Page) -> None:
        self.pages = {"host (root namespace)": host, "consul (in the namespace)": consul}

    async def each(self, script: str) -> list[Any]:
        """The script's result on each page."""
        return [await page.evaluate(script) for page in self.pages.values()]

    async def shown(self) -> str:
        """Each page's remote tiles (id, state, quality line, frames), state log and path."""
        lines = []
        for who, page in self.pages.items():
            try:
                lines.append(f"{who}: {await page.evaluate(SHOWN)}")
                lines.append(f"  mesh path: {await page.evaluate(MESH_PATH)}")
            except Exception as error:
                lines.append(f"{who}: {error}")
        return "\n".join(lines)

    async def until(self, what: str, seconds: float, done: Callable[[], Awaitable[bool]]) -> None:
        """Poll `done` for at most `seconds`, then fail saying what the pages showed."""
        started = time.monotonic()
        while not await done():
            if time.monotonic() - started > seconds:
                raise AssertionError(f"{what}: not within {seconds:.0f} s\n{await self.shown()}")
            await asyncio.sleep(0.25)

    async def frames_grow(self) -> list[bool]:
        """For each page: one remote video, and its frame count grew over half a second."""
        before = await self.each(FRAMES)
        await asyncio.sleep(0.5)
        after = await self.each(FRAMES)
        return [len(a) == 1 and len(b) == 1 and a > b for b, a in zip(before, after, strict=True)]


async def _restarts(db: async_sessionmaker[AsyncSession], interview_id: int) -> list[SessionEvent]:
    """The ICE restarts in the session record."""
    async with db() as session:
        rows = await session.scalars(
            select(SessionEvent).where(
                SessionEvent.interview_id == interview_id,
                SessionEvent.kind == EventKind.RESTART.value,
            )
        )
        return list(rows.all())


async def _recorded(db: async_sessionmaker[AsyncSession], interview_id: int, peer: str) -> int:
    """How many tracks the server's peer has started recording from `peer`."""
    async with db() as session:
        return sum(row.peer_id == peer for row in await recordings(session, interview_id))


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(240)  # above the sum of the waits' bounds, so they fail first and say why
async def test_a_call_whose_media_path_dies_comes_back_by_an_ice_restart(
    browsers: tuple[Browser, Browser],
    netns: Namespace,
    live_server: str,
    interviews: Interviews,
    db: async_sessionmaker[AsyncSession],
) -> None:
    here, there = browsers
    a = interviews.a
    host = await _open_link(here, live_server, a.tokens["staff"])
    consul = await _open_link(there, live_server, a.tokens["consul"])
    call = Call(host, consul)
    await consul.get_by_text("Waiting for the host to open the session.").wait_for()
    await host.get_by_role("button", name="Open the session").click()

    async def video_flows() -> bool:
        return all(await call.frames_grow())

    await call.until("video both ways at the start", JOIN_S, video_flows)
    # Each page's one remote tile is named by the other's peer id.
    host_tiles, consul_tiles = [shown["tiles"] for shown in await call.each(SHOWN)]
    consul_peer = host_tiles[0][0].removeprefix("tile-")
    host_peer = consul_tiles[0][0].removeprefix("tile-")
    start = await call.each(MESH_PATH)
    assert [(p["local"], p["remote"]) for p in start] == [
        (netns.host_address, netns.address),
        (netns.address, netns.host_address),
    ], f"the call does not go over the veth:\n{await call.shown()}"

    def consul_recorded(tracks: int) -> Callable[[], Awaitable[bool]]:
        async def done() -> bool:
            return await _recorded(db, a.interview_id, consul_peer) >= tracks

        return done

    await call.until("the server records the consul", BACK_S, consul_recorded(2))
    server_link = await consul.evaluate(SERVER_LINK)

    # Media dies; the signalling socket (TCP) stays up.
    await asyncio.to_thread(netns.drop_udp)
    dropped = time.monotonic()

    async def lost() -> bool:
        return all(q == ["Connection: lost"] for q in await call.each(QUALITY))

    await call.until("both tiles say the connection is lost", RESTART_S, lost)
    assert not any(await call.frames_grow()), f"video still flows:\n{await call.shown()}"

    async def restarted() -> bool:
        # Recorded, and negotiated over the socket: both sides have new ICE credentials;
        # and the consul's page has offered the server's peer a new link.
        paths = await call.each(MESH_PATH)
        changed = all(p["ufrag"] != s["ufrag"] for p, s in zip(paths, start, strict=True))
        reopened = await consul.evaluate(SERVER_LINK) > server_link
        return changed and reopened and bool(await _restarts(db, a.interview_id))

    left = RESTART_S - (time.monotonic() - dropped)
    await call.until("a restart and a new server link while media is down", left, restarted)
    assert not any(await call.frames_grow()), f"video flows through the rule:\n{await call.shown()}"

    await asyncio.to_thread(netns.allow_udp)
    await call.until("video both ways after the outage", BACK_S, video_flows)

    async def on_the_restarted_session() -> bool:
        # The old pair may carry media again for a moment (its checks resume too), until
        # the restarted session's pairs take over (a few runs in twenty, under a second).
        paths = await call.each(MESH_PATH)
        return all(
            p["state"] == "connected"
            and (p["local"], p["remote"]) == (s["local"], s["remote"])
            and p["selected_ufrag"] == p["ufrag"] != s["ufrag"]
            for p, s in zip(paths, start, strict=True)
        )

    await call.until(
        "ICE on the restarted session, over the veth", BACK_S, on_the_restarted_session
    )
    events = await _restarts(db, a.interview_id)
    assert {(e.peer_id, e.detail["peer"]) for e in events} <= {
        (host_peer, consul_peer),
        (consul_peer, host_peer),
    }, [(e.peer_id, e.details) for e in events]

    # The consul's link to the server's peer was offered anew: new tracks are recorded.
    await call.until("the server records the consul again", BACK_S, consul_recorded(4))
