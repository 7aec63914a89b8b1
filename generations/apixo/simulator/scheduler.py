"""One background thread running callbacks at due times (a heap, not a thread each)."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Scheduler:
    """Runs short callbacks at their due time (``time.monotonic`` seconds).

    Callbacks run on the scheduler thread, so they must be quick: anything slow
    (network I/O) is handed to a pool by the callback itself.
    """

    def __init__(self, name: str = "simulator-scheduler") -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        self.call_at(time.monotonic() + max(0.0, delay), callback)

    def call_at(self, due: float, callback: Callable[[], None]) -> None:
        with self._condition:
            sequence = next(self._sequence)
            heapq.heappush(self._heap, (due, sequence, callback))
            if self._heap[0][1] == sequence:
                self._condition.notify()

    def pending(self) -> int:
        with self._condition:
            return len(self._heap)

    def clear(self) -> None:
        with self._condition:
            self._heap.clear()

    def stop(self, timeout: float = 2.0) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify()
        self._thread.join(timeout)

    def _next_due(self) -> Callable[[], None] | None:
        with self._condition:
            while not self._stopped:
                if not self._heap:
                    self._condition.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._heap)[2]
                self._condition.wait(wait)
            return None

    def _run(self) -> None:
        while (callback := self._next_due()) is not None:
            try:
                callback()
            except Exception:
                logger.exception("simulator: scheduled callback failed")
