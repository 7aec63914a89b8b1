"""The request-rate window and the simulator's counters (both thread-safe)."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque


class SlidingWindow:
    """At most ``limit`` admitted requests in any ``window`` seconds (real time)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> float | None:
        """None if admitted (and recorded), else seconds until a slot frees up.

        Refused requests are not recorded, so a client that backs off recovers.
        """
        now = time.monotonic()
        with self._lock:
            horizon = now - self.window
            while self._times and self._times[0] <= horizon:
                self._times.popleft()
            if len(self._times) >= self.limit:
                return self._times[0] + self.window - now
            self._times.append(now)
            return None

    def clear(self) -> None:
        with self._lock:
            self._times.clear()


class Counters:
    """Named counts plus requests by route and HTTP status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._requests: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def request(self, route: str, status: int | str) -> None:
        with self._lock:
            self._requests[route][str(status)] += 1

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            data: dict[str, object] = dict(self._counts)
            data["requests"] = {
                route: dict(statuses) for route, statuses in self._requests.items()
            }
            return data

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._requests.clear()
