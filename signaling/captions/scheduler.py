"""Which recognition runs next: fair between sessions, finals before interims, bounded.

Pure bookkeeping, no threads (workers.py adds those). Rules:
- sessions take turns: the session served least recently goes first (a session new to the
  queue before one just served), so one talkative session cannot starve the others;
- a final utterance always goes before any interim snapshot, and supersedes its speaker's
  pending interims; only the newest interim per speaker is kept, and none is accepted while
  its session has finals waiting — interims are dropped first when recognition falls behind;
- each session holds at most `per_session` finals; past that the oldest is dropped and
  returned, so the caller can tell viewers some speech was not captioned.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Job:
    """One recognition to run for a session's speaker."""

    session_id: str
    speaker: str
    final: bool
    run: Callable[[Job], None]
    sequence: int = 0  # the speaker's utterance number (an interim belongs to the next final)
    enqueued_at: float = field(default_factory=time.monotonic)
    context: Any = None


@dataclass
class _SessionQueue:
    finals: deque[Job] = field(default_factory=deque)
    interims: dict[str, Job] = field(default_factory=dict)


class FairQueue:
    """Pending recognition jobs of every session."""

    def __init__(self, per_session: int, *, interim_max_age_s: float = 1.5) -> None:
        if per_session < 1:
            raise ValueError("per_session must be at least 1")
        self.per_session = per_session
        self.interim_max_age_s = interim_max_age_s
        self._sessions: dict[str, _SessionQueue] = {}  # in order of arrival
        self._served: dict[str, int] = {}  # session → when it was last served (a counter)
        self._clock = 0

    def _queue(self, session_id: str) -> _SessionQueue:
        queue = self._sessions.get(session_id)
        if queue is None:
            queue = self._sessions[session_id] = _SessionQueue()
        return queue

    def put(self, job: Job) -> list[Job]:
        """Queue a job; return the jobs this drops (the job itself when it is refused)."""
        queue = self._queue(job.session_id)
        dropped: list[Job] = []
        if not job.final:
            if queue.finals:
                return [job]
            old = queue.interims.pop(job.speaker, None)
            if old is not None:
                dropped.append(old)
            queue.interims[job.speaker] = job
            return dropped
        superseded = queue.interims.pop(job.speaker, None)
        if superseded is not None:
            dropped.append(superseded)
        # Any pending interim now waits behind a final, so it would only delay captions.
        dropped.extend(queue.interims.values())
        queue.interims.clear()
        if len(queue.finals) >= self.per_session:
            dropped.append(queue.finals.popleft())
        queue.finals.append(job)
        return dropped

    def _next_turn(self, has_work: Callable[[_SessionQueue], bool]) -> str | None:
        waiting = [sid for sid, queue in self._sessions.items() if has_work(queue)]
        if not waiting:
            return None
        chosen = min(waiting, key=lambda sid: self._served.get(sid, -1))
        self._clock += 1
        self._served[chosen] = self._clock
        return chosen

    def take_final(self) -> Job | None:
        """The next final to run, from the session served least recently; None when none."""
        session_id = self._next_turn(lambda queue: bool(queue.finals))
        return None if session_id is None else self._sessions[session_id].finals.popleft()

    def take_interim(self, now: float | None = None) -> tuple[Job | None, list[Job]]:
        """The next fresh interim (None when none), and stale ones discarded on the way."""
        now = time.monotonic() if now is None else now
        stale: list[Job] = []
        while (session_id := self._next_turn(lambda queue: bool(queue.interims))) is not None:
            interims = self._sessions[session_id].interims
            job = interims.pop(next(iter(interims)))
            if now - job.enqueued_at <= self.interim_max_age_s:
                return job, stale
            stale.append(job)
        return None, stale

    def take(self, now: float | None = None) -> tuple[Job | None, list[Job]]:
        """The next job of either kind, finals first; and stale interims discarded."""
        final = self.take_final()
        return (final, []) if final is not None else self.take_interim(now)

    def remove_session(self, session_id: str) -> list[Job]:
        """Forget a session; return the jobs it still had."""
        queue = self._sessions.pop(session_id, None)
        if queue is None:
            return []
        self._served.pop(session_id, None)
        return [*queue.finals, *queue.interims.values()]

    def pending_finals(self, session_id: str | None = None) -> int:
        """Finals waiting, for one session or all."""
        if session_id is not None:
            queue = self._sessions.get(session_id)
            return len(queue.finals) if queue else 0
        return sum(len(q.finals) for q in self._sessions.values())
