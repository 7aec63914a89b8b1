"""Result files: a disk cache filled by a small pool of encoder threads, signed
expiring result URLs, and HTTP Range parsing for serving them.

Result URLs look like ``<base>/results/<taskId>.mp4?expires=<unix ms>&sig=<hex>``.
The signature is an HMAC with a secret of this simulator instance, so a client
cannot extend the lifetime by editing ``expires``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .video import VideoSpec, render_mp4

logger = logging.getLogger(__name__)

URGENT = 0
EAGER = 1


class RenderFailed(Exception):
    """Encoding the result failed."""


@dataclass
class _Job:
    key: str
    spec: VideoSpec
    priority: int
    done: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    error: BaseException | None = None


class VideoCache:
    """Encodes each distinct video once, ``workers`` at a time, most urgent first.

    Jobs requested when a task is created are ``EAGER``; a download waiting for
    its file bumps the job to ``URGENT`` so it jumps the queue.
    """

    def __init__(self, directory: Path, *, workers: int) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._queue: queue.PriorityQueue[tuple[int, int, str]] = queue.PriorityQueue()
        self._sequence = itertools.count()
        self._threads = [
            threading.Thread(
                target=self._work, name=f"simulator-video-{n}", daemon=True
            )
            for n in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def path_for(self, key: str) -> Path:
        return self.directory / f"{key}.mp4"

    def request(
        self, key: str, spec: VideoSpec, *, urgent: bool = False
    ) -> _Job | None:
        """Queue the encoding unless the file exists; None when it already does."""
        if self.path_for(key).exists():
            return None
        priority = URGENT if urgent else EAGER
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                job = self._jobs[key] = _Job(key, spec, priority)
            elif job.started or job.priority <= priority:
                return job
            job.priority = priority
            # A bumped job is queued twice; the stale entry is skipped when popped.
            self._queue.put((priority, next(self._sequence), key))
        return job

    def wait(self, key: str, spec: VideoSpec, timeout: float) -> Path:
        """The file, encoding it first if needed (raises TimeoutError, RenderFailed)."""
        job = self.request(key, spec, urgent=True)
        if job is not None:
            if not job.done.wait(timeout):
                raise TimeoutError("the result is still being encoded")
            if job.error is not None:
                raise RenderFailed(str(job.error))
        return self.path_for(key)

    def queued(self) -> int:
        with self._lock:
            return sum(1 for job in self._jobs.values() if not job.started)

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put((-1, next(self._sequence), ""))

    def _work(self) -> None:
        while True:
            priority, _, key = self._queue.get()
            if priority < 0:
                return
            with self._lock:
                job = self._jobs.get(key)
                if job is None or job.started:
                    continue
                job.started = True
            self._render(job)

    def _render(self, job: _Job) -> None:
        path = self.path_for(job.key)
        try:
            if not path.exists():
                render_mp4(job.spec, path)
        except Exception as error:
            logger.exception("simulator: encoding %s failed", job.key)
            job.error = error
        finally:
            with self._lock:
                self._jobs.pop(job.key, None)
            job.done.set()


def sign(secret: bytes, task_id: str, expires_ms: int) -> str:
    message = f"{task_id}:{expires_ms}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def signature_ok(secret: bytes, task_id: str, expires_ms: int, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, task_id, expires_ms), signature)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` byte positions of a single ``bytes=`` range, else None.

    Raises ValueError when the range cannot be satisfied (the caller answers 416).
    Multiple ranges and malformed headers are ignored (the whole file is served),
    which RFC 9110 allows.
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_text, sep, last_text = header[len("bytes=") :].strip().partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if not sep or not (first_text or last_text):
        return None
    if not all(text.isdecimal() for text in (first_text, last_text) if text):
        return None
    if not first_text:
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise ValueError("empty suffix range")
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if first >= size or last < first:
        raise ValueError("range not satisfiable")
    return first, min(last, size - 1)
