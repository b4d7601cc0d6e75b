"""Live sessions under load: N concurrent 3-party sessions against a real `consulink serve`.

For N = 1, 2, 4, 8 sessions, with audio+video recording and then audio-only recording,
each session's three people (staff host, consul, interpreter) are real aiortc clients
that open their join link, join over the WebSocket, connect to one another in a mesh and
to the server's receive-only peer, and send 640x480 video (30 fps) and a spoken WAV
(tests/fixtures/speech/) looped. Prints, per level:

- server CPU per session (goals: ≤ 0.15 core with video recording, ≤ 0.05 audio-only),
  from /proc/<pid>/stat of the server process over a steady window;
- event-loop lag p50/p99/max inside the server (goal p99 ≤ 10 ms at 8 sessions), from
  a probe task on the server's own loop (see `serve_with_probe`);
- time from opening the join link to the first decoded remote frame from another
  participant, p50/p95 (goal p95 ≤ 2 s on loopback);
- server memory (RSS) per session.

The clients' media is encoded once up front (VP8 and Opus) and sent as packets, so the
clients cost little beyond RTP and SRTP; the mesh connections are closed once each person
has seen a remote frame (the server takes no part in them), so the steady window measures
the server with only the server's peers sending. Clients and server share this machine's
cores: the output says how much CPU the clients took in the same window.

    .venv/bin/python bench/sessions.py                    # all levels, about 4 minutes
    .venv/bin/python bench/sessions.py --levels 1 8 --window 8
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import av  # noqa: E402
import numpy as np  # noqa: E402
from aiohttp import web  # noqa: E402
from aiortc import (  # noqa: E402
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError  # noqa: E402

from interviews import accounts  # noqa: E402
from interviews.accounts import Role  # noqa: E402
from interviews.consulates import Consulate  # noqa: E402
from interviews.db import make_engine, make_sessionmaker  # noqa: E402
from interviews.facilities import Facility  # noqa: E402
from signaling.ice import allow_loopback_candidates  # noqa: E402
from tests.conftest import Clock, World  # noqa: E402
from tests.test_session_support import SECRET, SPEECH, Booked, book  # noqa: E402

WIDTH, HEIGHT, FPS = 640, 480, 30
VIDEO_SECONDS = 3  # encoded once, looped
AUDIO_PTIME = 960  # 20 ms at 48 kHz
LAG_INTERVAL_S = 0.02
WAIT_S = 60.0
ROLES = ("staff", "consul", "interpreter")


# --- inside the server process -----------------------------------------------------------


def serve_with_probe(samples_path: str, argv: list[str]) -> int:
    """Run `consulink serve` (web.cli.main) with an event-loop lag probe on its loop.

    The probe sleeps LAG_INTERVAL_S at a time and writes how late each wake-up was,
    with its monotonic time, to `samples_path` once a second. It is added to the app
    that `consulink serve` builds, and changes nothing else.
    """
    from web import cli as consulink_cli

    build = consulink_cli.create_app  # type: ignore[attr-defined]

    def write(lines: list[str]) -> None:
        with open(samples_path, "a", encoding="utf-8") as out:
            out.writelines(lines)

    async def probe(app: web.Application) -> AsyncIterator[None]:
        async def run() -> None:
            pending: list[str] = []
            last_flush = time.monotonic()
            while True:
                before = time.monotonic()
                await asyncio.sleep(LAG_INTERVAL_S)
                after = time.monotonic()
                pending.append(f"{after:.4f} {(after - before - LAG_INTERVAL_S) * 1000:.3f}\n")
                if after - last_flush >= 1.0:  # a few hundred bytes a second
                    write(pending)
                    pending.clear()
                    last_flush = after

        task = asyncio.get_running_loop().create_task(run())
        yield
        task.cancel()

    def create_app_with_probe(settings: Any) -> web.Application:
        app = build(settings)
        app.cleanup_ctx.append(probe)
        return app

    setattr(consulink_cli, "create_app", create_app_with_probe)  # noqa: B010 - see above
    return consulink_cli.main(argv)


# --- media, encoded once ----------------------------------------------------------------


@dataclass
class Encoded:
    """Pre-encoded media: VP8 frames at 30 fps and Opus packets of 20 ms."""

    video: list[bytes]
    audio: list[bytes]


def encode_media() -> Encoded:
    """640x480 moving-pattern VP8 (a key frame each second) and the speech WAV as Opus."""
    video = av.CodecContext.create("libvpx", "w")
    assert isinstance(video, av.VideoCodecContext)
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    video.time_base = fractions.Fraction(1, FPS)
    video.framerate = fractions.Fraction(FPS, 1)
    video.bit_rate = 600_000
    video.gop_size = FPS
    video.options = {"deadline": "realtime", "cpu-used": "8"}
    frames: list[bytes] = []
    for index in range(FPS * VIDEO_SECONDS):
        image = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
        image[:, (index * 8) % WIDTH] = 255
        image[(index * 4) % HEIGHT, :] = 200
        image[..., 1] = (index * 3) % 256
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        frames.extend(bytes(p) for p in video.encode(frame))
    frames.extend(bytes(p) for p in video.encode(None))

    audio = av.CodecContext.create("libopus", "w")
    assert isinstance(audio, av.AudioCodecContext)
    audio.sample_rate, audio.layout, audio.format = 48_000, "stereo", "s16"
    audio.bit_rate = 32_000
    resampler = av.AudioResampler(
        format="s16", layout="stereo", rate=48_000, frame_size=AUDIO_PTIME
    )
    packets: list[bytes] = []
    with av.open(str(SPEECH)) as container:
        for decoded in container.decode(audio=0):
            for chunk in resampler.resample(decoded):
                packets.extend(bytes(p) for p in audio.encode(chunk))
    for chunk in resampler.resample(None):
        packets.extend(bytes(p) for p in audio.encode(chunk))
    packets.extend(bytes(p) for p in audio.encode(None))
    return Encoded(frames, packets)


class EncodedTrack(MediaStreamTrack):
    """Sends pre-encoded packets in real time, looped (aiortc packetizes them as they are)."""

    def __init__(self, kind: str, packets: list[bytes]) -> None:
        super().__init__()
        self.kind = kind
        self.packets = packets
        self.index = 0
        self.step, self.clock_rate = (AUDIO_PTIME, 48_000) if kind == "audio" else (3000, 90_000)
        self.started: float | None = None

    async def recv(self) -> av.Packet[Any]:
        if self.started is None:
            self.started = time.monotonic()
        due = self.started + self.index * self.step / self.clock_rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        packet = av.Packet(self.packets[self.index % len(self.packets)])
        packet.pts = self.index * self.step
        packet.time_base = fractions.Fraction(1, self.clock_rate)
        self.index += 1
        return packet


# --- the people -------------------------------------------------------------------------


@dataclass
class Person:
    """One participant: the HTTP session (cookies), the socket, and its connections."""

    base: str
    interview_id: int
    token: str
    role: str
    media: Encoded
    http: aiohttp.ClientSession = field(init=False)
    ws: aiohttp.ClientWebSocketResponse | None = None
    peer: str = ""
    waiting: dict[tuple[str, str], asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    rosters: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    to_server: RTCPeerConnection | None = None
    mesh: dict[str, RTCPeerConnection] = field(default_factory=dict)
    opened_at: float = 0.0
    first_frame_s: float | None = None
    saw_remote: asyncio.Event = field(default_factory=asyncio.Event)
    watchers: set[asyncio.Task[None]] = field(default_factory=set)
    reader: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def expect(self, kind: str, sender: str = "") -> asyncio.Future[dict[str, Any]]:
        """A future for the next message of `kind` (from `sender`, for relayed ones)."""
        key = (kind, sender)
        if key not in self.waiting:
            self.waiting[key] = asyncio.get_running_loop().create_future()
        return self.waiting[key]

    async def send(self, message: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(message))

    async def _read(self) -> None:
        assert self.ws is not None
        async for frame in self.ws:
            if frame.type is not aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(frame.data)
            kind, sender = message["type"], message.get("from", "")
            if kind == "roster":
                self.rosters.put_nowait(message)
            if kind == "offer" and sender != "server":
                asyncio.get_running_loop().create_task(self._answer_mesh(message))
                continue
            future = self.expect(kind, sender)
            if not future.done():  # later ones of a kind nobody waits for are dropped
                future.set_result(message)

    async def open_link(self, host: bool, record_video: bool) -> None:
        """Open the join link (the pass cookie), join, and (as host) open the session."""
        self.opened_at = time.monotonic()
        async with self.http.get(
            f"{self.base}/join/{self.token}", allow_redirects=False
        ) as response:
            assert response.status == 303, response.status
        self.ws = await self.http.ws_connect(f"{self.base}/session/{self.interview_id}/ws")
        self.reader = asyncio.get_running_loop().create_task(self._read())
        welcome = self.expect("welcome")
        await self.send(
            {"type": "join", "name": self.role, "language": "en", "consent_recording": True}
        )
        self.peer = (await asyncio.wait_for(welcome, WAIT_S))["peer"]
        if host:
            await self.send({"type": "open", "record_video": record_video})

    async def connect_server(self) -> None:
        """Offer audio and video to the server's peer once admitted."""
        await asyncio.wait_for(self.expect("connect"), WAIT_S)
        pc = self.to_server = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(EncodedTrack("audio", self.media.audio))
        pc.addTrack(EncodedTrack("video", self.media.video))
        answer = self.expect("answer", "server")
        await pc.setLocalDescription(await pc.createOffer())
        await self.send({"type": "offer", "to": "server", "sdp": pc.localDescription.sdp})
        reply = await asyncio.wait_for(answer, WAIT_S)
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))

    def _mesh_pc(self, other: str) -> RTCPeerConnection:
        pc = self.mesh[other] = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(EncodedTrack("video", self.media.video))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self.watchers.add(asyncio.get_running_loop().create_task(self._first_frame(track)))

        return pc

    async def _first_frame(self, track: MediaStreamTrack) -> None:
        try:
            await track.recv()
            if self.first_frame_s is None:
                self.first_frame_s = time.monotonic() - self.opened_at
                self.saw_remote.set()
            # Keep reading until the mesh closes: aiortc queues every decoded frame, and
            # unread 640x480 frames would pile up in memory (gigabytes at 8 sessions).
            while self.mesh:
                await track.recv()
        except MediaStreamError:
            return  # the mesh closed

    async def call_others(self) -> None:
        """Offer to every admitted participant whose id sorts after ours (they answer)."""
        others: list[str] = []
        async with asyncio.timeout(WAIT_S):
            while len(others) < len(ROLES) - 1:
                roster = await self.rosters.get()
                others = [
                    p["peer"]
                    for p in roster["participants"]
                    if p["admitted"] and p["peer"] != self.peer
                ]
        for other in others:
            if other > self.peer:
                pc = self._mesh_pc(other)
                answer = self.expect("answer", other)
                await pc.setLocalDescription(await pc.createOffer())
                await self.send({"type": "offer", "to": other, "sdp": pc.localDescription.sdp})
                reply = await asyncio.wait_for(answer, WAIT_S)
                await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))

    async def _answer_mesh(self, offer: dict[str, Any]) -> None:
        pc = self._mesh_pc(offer["from"])
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.send({"type": "answer", "to": offer["from"], "sdp": pc.localDescription.sdp})

    async def close_mesh(self) -> None:
        for watcher in self.watchers:
            watcher.cancel()
        for pc in self.mesh.values():
            await pc.close()
        self.mesh.clear()

    async def video_packets_to_server(self) -> int:
        """How many video RTP packets this person has sent to the server's peer."""
        if self.to_server is None:
            return 0
        report = await self.to_server.getStats()
        return sum(
            int(getattr(stats, "packetsSent", 0))
            for stats in report.values()
            if stats.type == "outbound-rtp" and getattr(stats, "kind", "") == "video"
        )

    async def close(self) -> None:
        await self.close_mesh()
        if self.to_server is not None:
            await self.to_server.close()
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
        await self.http.close()


async def start_session(
    base: str, booked: Booked, media: Encoded, record_video: bool, delay_s: float
) -> list[Person]:
    """After `delay_s`, three people open their links at once; returns them once each saw
    a remote frame, with their mesh closed (they keep sending to the server)."""
    await asyncio.sleep(delay_s)
    people = [Person(base, booked.interview_id, booked.tokens[role], role, media) for role in ROLES]
    try:
        await asyncio.gather(
            *(p.open_link(host=p.role == "staff", record_video=record_video) for p in people)
        )
        await asyncio.gather(
            *(p.connect_server() for p in people), *(p.call_others() for p in people)
        )
        async with asyncio.timeout(WAIT_S):
            await asyncio.gather(*(p.saw_remote.wait() for p in people))
        # The mesh is browser to browser: the server never sees it. In real life each person
        # decodes only their own call on their own machine, whereas here one client process
        # would go on decoding every earlier session's mesh video while later ones start.
        await asyncio.gather(*(p.close_mesh() for p in people))
    except BaseException:
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)
        raise
    return people


# --- measuring --------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def lag_samples(path: Path, start: float, end: float) -> list[float]:
    """The probe's lag figures (ms) taken between two monotonic times."""
    if not path.exists():
        return []
    samples = []
    for line in path.read_text().splitlines():
        at, lag = line.split()
        if start <= float(at) <= end:
            samples.append(float(lag))
    return samples


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (0 < share ≤ 1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


@dataclass
class Level:
    """One measured level: N sessions in one recording mode."""

    sessions: int
    record_video: bool
    cpu_per_session: float
    client_cpu: float
    lag_p50: float
    lag_p99: float
    lag_max: float
    first_frame: list[float]
    rss_per_session: float
    video_packets: int


async def run_level(
    base: str,
    pid: int,
    samples: Path,
    bookings: list[Booked],
    media: Encoded,
    record_video: bool,
    window_s: float,
    stagger_s: float,
) -> Level:
    """Start len(bookings) sessions at once, measure a steady window, end them."""
    rss_before = rss_mb(pid)
    people_by_session = await asyncio.gather(
        *(
            start_session(base, b, media, record_video, index * stagger_s)
            for index, b in enumerate(bookings)
        )
    )
    people = [p for group in people_by_session for p in group]
    try:
        first_frames = [p.first_frame_s or 0.0 for p in people]
        await asyncio.gather(*(p.close_mesh() for p in people))
        await asyncio.sleep(2.0)  # settle: recorders open, mesh gone
        server_before, client_before = cpu_seconds(pid), cpu_seconds(os.getpid())
        start = time.monotonic()
        await asyncio.sleep(window_s)
        end = time.monotonic()
        server_cpu = (cpu_seconds(pid) - server_before) / (end - start)
        client_cpu = (cpu_seconds(os.getpid()) - client_before) / (end - start)
        rss_after = rss_mb(pid)
        video_packets = sum(await asyncio.gather(*(p.video_packets_to_server() for p in people)))
        await asyncio.sleep(1.1)  # the probe writes once a second
        lags = lag_samples(samples, start, end) or [0.0]
    finally:
        hosts = [p for p in people if p.role == "staff"]
        await asyncio.gather(*(h.send({"type": "end"}) for h in hosts), return_exceptions=True)
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)
    n = len(bookings)
    return Level(
        sessions=n,
        record_video=record_video,
        cpu_per_session=server_cpu / n,
        client_cpu=client_cpu,
        lag_p50=statistics.median(lags),
        lag_p99=percentile(lags, 0.99),
        lag_max=max(lags),
        first_frame=first_frames,
        rss_per_session=(rss_after - rss_before) / n,
        video_packets=video_packets,
    )


# --- set-up -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def seed(database_url: str, count: int) -> list[Booked]:
    """One facility, consulate and three people; `count` confirmed interviews starting soon."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            india = Consulate(
                name="Embassy of India, Washington DC",
                country="IN",
                kind="embassy",
                city="Washington",
                located_country="US",
                time_zone="America/New_York",
            )
            tapachula = Facility(
                name="Estación Migratoria Siglo XXI",
                country="MX",
                city="Tapachula",
                time_zone="America/Mexico_City",
            )
            session.add_all([india, tapachula])
            await session.flush()

            async def user(
                email: str, role: Role, facility: int | None = None, consulate: int | None = None
            ) -> accounts.User:
                return await accounts.create_user(
                    session,
                    email=email,
                    name=email.split("@")[0],
                    role=role,
                    password="bench-password-not-used",
                    facility_id=facility,
                    consulate_id=consulate,
                )

            world = cast(
                World,
                SimpleNamespace(
                    india=india,
                    tapachula=tapachula,
                    staff=await user("staff@example.org", Role.STAFF, facility=tapachula.id),
                    consul_india=await user("consul@example.org", Role.CONSUL, consulate=india.id),
                    interpreter=await user("interpreter@example.org", Role.INTERPRETER),
                ),
            )
            clock = cast(Clock, SimpleNamespace(now=datetime.now(UTC)))
            return [await book(session, world, clock, f"BENCH-{i}") for i in range(count)]
    finally:
        await engine.dispose()


@asynccontextmanager
async def served(data_dir: Path, samples: Path) -> AsyncIterator[tuple[str, int]]:
    """`consulink serve` (with the lag probe) on a free port; its base URL and pid."""
    port = free_port()
    environment = {
        **os.environ,
        "CONSULINK_DATA_DIR": str(data_dir),
        "CONSULINK_SECRET_KEY": SECRET.decode(),
        "CONSULINK_ICE_LOOPBACK": "true",
        "CONSULINK_JOBS_POLL_SECONDS": "3600",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-with-probe",
        str(samples),
        "serve",
        "--port",
        str(port),
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http, asyncio.timeout(60):
            while True:
                assert process.returncode is None, "consulink serve exited"
                try:
                    async with http.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            async with asyncio.timeout(20):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


def report(
    levels: list[Level], idle_cpu: float, idle_rss: float, idle_lags: list[float], stagger_s: float
) -> None:
    """The table."""
    print()
    print(
        f"server idle: {idle_cpu:.3f} core (included in the CPU below), RSS {idle_rss:.0f} MB, "
        f"loop lag p99 {percentile(idle_lags, 0.99):.1f} ms (what the machine's other load "
        "costs the loop with no session)"
    )
    print(
        f"{'recording':<12}{'N':>3}{'core/session':>14}{'above idle':>12}"
        f"{'lag p50':>9}{'lag p99':>9}"
        f"{'lag max':>9}{'1st frame p50':>15}{'p95':>7}{'RSS MB/sess':>13}{'clients core':>14}"
        f"{'video pkts to server':>22}"
    )
    for level in levels:
        print(
            f"{'audio+video' if level.record_video else 'audio only':<12}{level.sessions:>3}"
            f"{level.cpu_per_session:>14.3f}"
            f"{level.cpu_per_session - idle_cpu / level.sessions:>12.3f}"
            f"{level.lag_p50:>8.1f}m{level.lag_p99:>8.1f}m"
            f"{level.lag_max:>8.1f}m{statistics.median(level.first_frame):>14.2f}s"
            f"{percentile(level.first_frame, 0.95):>6.2f}s{level.rss_per_session:>13.1f}"
            f"{level.client_cpu:>14.2f}{level.video_packets:>22}"
        )
    print()
    print("'above idle' is what one more session costs: the server's CPU less its idle CPU, per")
    print("session. lag in ms (m); RSS per session after one warm-up session, so one-time loads")
    print("are out.")
    print(f"Sessions started {stagger_s:.1f} s apart; each person's first-frame time runs from")
    print("opening their join link to the first decoded frame from another participant.")
    print("Goals: ≤ 0.15 core/session with video recording, ≤ 0.05 audio-only; lag p99 ≤ 10 ms")
    print("at 8 sessions; first remote frame p95 ≤ 2 s on loopback.")
    print(
        f"Clients and server share this machine's {os.cpu_count()} cores: 'clients core' is "
        "what the aiortc clients (one process) used in the same window; the load average "
        f"at the end was {os.getloadavg()[0]:.1f}."
    )


async def main(levels: list[int], window_s: float, stagger_s: float) -> None:
    allow_loopback_candidates()
    started = time.monotonic()
    print(f"encoding {WIDTH}x{HEIGHT} VP8 and Opus once ...", flush=True)
    media = encode_media()
    with tempfile.TemporaryDirectory(prefix="consulink-bench-") as folder:
        data_dir = Path(folder) / "data"
        samples = Path(folder) / "lag.txt"
        results: list[Level] = []
        async with served(data_dir, samples) as (base, pid):
            database_url = f"sqlite+aiosqlite:///{(data_dir / 'consulink.db').resolve()}"
            bookings = await seed(database_url, 2 * sum(levels) + 1)
            before, idle_start = cpu_seconds(pid), time.monotonic()
            await asyncio.sleep(4.0)
            idle_cpu, idle_rss = (cpu_seconds(pid) - before) / 4.0, rss_mb(pid)
            await asyncio.sleep(1.1)  # the probe writes once a second
            idle_lags = lag_samples(samples, idle_start, idle_start + 4.0) or [0.0]
            print("warming up (one session, not counted) ...", flush=True)
            await run_level(base, pid, samples, bookings[:1], media, True, 2.0, 0.0)
            bookings = bookings[1:]
            await asyncio.sleep(2.0)
            for record_video in (True, False):
                for n in levels:
                    mode = "audio+video" if record_video else "audio only"
                    print(f"{n} session(s), {mode} recording ...", flush=True)
                    level = await run_level(
                        base, pid, samples, bookings[:n], media, record_video, window_s, stagger_s
                    )
                    bookings = bookings[n:]
                    results.append(level)
                    await asyncio.sleep(2.0)  # let the server hang up and close files
        report(results, idle_cpu, idle_rss, idle_lags, stagger_s)
    print(
        f"bench took {time.monotonic() - started:.0f} s; "
        f"client peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve-with-probe":
        sys.exit(serve_with_probe(sys.argv[2], sys.argv[3:]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--window", type=float, default=10.0, help="steady seconds measured")
    parser.add_argument(
        "--stagger",
        type=float,
        default=1.0,
        help="seconds between sessions' starts (interviews do not all begin at one instant; "
        "0 starts them together, which on 2 shared cores mostly measures the clients)",
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.levels, arguments.window, arguments.stagger))
