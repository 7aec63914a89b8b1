"""Webhook (callback) delivery with the provider's documented retries.

A delivery succeeds only when answered HTTP 200 within the timeout (redirects are
not followed). After a failed attempt it is retried after each of the retry delays
(30 s, 2 min, 10 min divided by the speed), then dropped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .scheduler import Scheduler

logger = logging.getLogger(__name__)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


@dataclass(frozen=True)
class Delivery:
    task_id: str
    url: str
    body: bytes
    epoch: int


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt, kept in a short log for tests and the stats page."""

    task_id: str
    number: int
    status: int | None
    error: str | None
    at: float


class WebhookSender:
    def __init__(
        self,
        scheduler: Scheduler,
        *,
        workers: int,
        timeout: float,
        retry_delays: Sequence[float],
        count: Callable[[str], None],
        current_epoch: Callable[[], int],
    ) -> None:
        self._scheduler = scheduler
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="simulator-webhook")
        self._timeout = timeout
        self._retry_delays = tuple(retry_delays)
        self._count = count
        self._current_epoch = current_epoch
        self._log: deque[Attempt] = deque(maxlen=1000)
        self._log_lock = threading.Lock()

    def send(self, task_id: str, url: str, payload: dict[str, Any], epoch: int) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._submit(Delivery(task_id, url, body, epoch), 0)

    def attempts(self) -> list[Attempt]:
        with self._log_lock:
            return list(self._log)

    def clear(self) -> None:
        with self._log_lock:
            self._log.clear()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, delivery: Delivery, number: int) -> None:
        # RuntimeError: the pool is shut down, the simulator is stopping.
        with contextlib.suppress(RuntimeError):
            self._pool.submit(self._attempt, delivery, number)

    def _attempt(self, delivery: Delivery, number: int) -> None:
        if delivery.epoch != self._current_epoch():
            return  # the simulator was reset since: the task no longer exists
        self._count("webhook_attempts")
        status, error = self._post(delivery)
        with self._log_lock:
            self._log.append(
                Attempt(delivery.task_id, number, status, error, time.time())
            )
        if status == 200:
            self._count("webhook_deliveries")
            return
        self._count("webhook_failed_attempts")
        if number >= len(self._retry_delays):
            self._count("webhook_dropped")
            logger.info("simulator: webhook for %s dropped", delivery.task_id)
            return
        delay = self._retry_delays[number]
        self._scheduler.call_later(delay, lambda: self._submit(delivery, number + 1))

    def _post(self, delivery: Delivery) -> tuple[int | None, str | None]:
        request = urllib.request.Request(
            delivery.url,
            data=delivery.body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "apixo-simulator/1",
            },
        )
        try:
            with OPENER.open(request, timeout=self._timeout) as response:
                response.read(64 * 1024)
                return int(response.status), None
        except urllib.error.HTTPError as error:
            error.close()
            return int(error.code), None
        except (OSError, ValueError) as error:
            return None, str(error) or type(error).__name__
