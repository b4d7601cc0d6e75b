"""Recognition worker threads fed by the fair queue, and a small translation pool.

Whisper holds the CPU for ~0.35 s per utterance whatever its length, so recognition is the
bottleneck. Final utterances have threads of their own (`recognition_threads`, taking
sessions in turn); interim snapshots have one separate thread, so a final never waits for an
interim already being recognised, and that thread takes an interim only while no final is
waiting — under load interims stop first. Putting a job never blocks, so the event loop can
call `submit` for every utterance. Translation runs on its own pool so the next recognition
can start meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from signaling.captions.scheduler import FairQueue, Job

log = logging.getLogger(__name__)

DropHandler = Callable[[Job], None]


class CaptionWorkers:
    """Threads running queued recognition jobs; `submit` is safe from any thread."""

    def __init__(
        self,
        *,
        recognition_threads: int,
        translation_threads: int,
        per_session: int,
        on_drop: DropHandler,
        interim_thread: bool = True,
    ) -> None:
        self._queue = FairQueue(per_session)
        self._condition = threading.Condition()
        self._on_drop = on_drop
        self._stopping = False
        self._finals_running = 0
        self._threads = [
            threading.Thread(
                target=self._loop, args=(self._next_final,), name=f"captions-final-{i}", daemon=True
            )
            for i in range(recognition_threads)
        ]
        if interim_thread:
            self._threads.append(
                threading.Thread(
                    target=self._loop,
                    args=(self._next_interim,),
                    name="captions-interim",
                    daemon=True,
                )
            )
        self.translation = ThreadPoolExecutor(
            max_workers=translation_threads, thread_name_prefix="captions-translation"
        )

    def start(self) -> None:
        """Start the recognition threads."""
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> None:
        """Queue a job; never blocks for longer than a lock hand-over."""
        with self._condition:
            if self._stopping:
                return
            dropped = self._queue.put(job)
            self._condition.notify_all()
        for old in dropped:
            self._on_drop(old)

    def cancel_session(self, session_id: str) -> None:
        """Drop a closing session's pending jobs (without drop notices: nobody is watching)."""
        with self._condition:
            self._queue.remove_session(session_id)

    def pending_finals(self, session_id: str | None = None) -> int:
        """Finals waiting for a worker."""
        with self._condition:
            return self._queue.pending_finals(session_id)

    def idle(self) -> bool:
        """No final is waiting or being recognised (speculative work would cost nobody)."""
        with self._condition:
            return self._finals_running == 0 and self._queue.pending_finals() == 0

    def _next_final(self) -> Job | None:
        with self._condition:
            while not self._stopping:
                job = self._queue.take_final()
                if job is not None:
                    self._finals_running += 1
                    # Fewer finals waiting may let the interim thread go on.
                    self._condition.notify_all()
                    return job
                self._condition.wait()
        return None

    def _next_interim(self) -> Job | None:
        stale: list[Job] = []
        with self._condition:
            while not self._stopping:
                job = None
                if self._queue.pending_finals() == 0:
                    job, stale = self._queue.take_interim()
                if job is not None:
                    break
                self._condition.wait()
            else:
                job = None
        for old in stale:
            self._on_drop(old)
        return job

    def _loop(self, next_job: Callable[[], Job | None]) -> None:
        while (job := next_job()) is not None:
            try:
                job.run(job)
            except Exception:
                log.exception("caption job for session %s failed", job.session_id)
            finally:
                if job.final:
                    with self._condition:
                        self._finals_running -= 1
                        self._condition.notify_all()

    def stop(self) -> None:
        """Stop taking jobs, wait for running ones, and shut the translation pool (blocking)."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                thread.join()
        self.translation.shutdown(wait=True, cancel_futures=True)
