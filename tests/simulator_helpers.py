"""Helpers for the simulator tests: small local HTTP servers and polling."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from PIL import Image

from generations.apixo.contract import GENERATE_PATH, STATUS_PATH
from generations.apixo.simulator import RunningSimulator

KEY = "test-key"


def solid_image(colour: tuple[int, int, int], fmt: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def text_body(**overrides: Any) -> dict[str, Any]:
    """A valid small text-to-video request; ``overrides`` replace input fields."""
    params: dict[str, Any] = {
        "mode": "text-to-video",
        "prompt": "a calm seaside sunrise",
        "resolution": "480p",
        "duration": 4,
        "sound": False,
        "aspect_ratio": "1:1",
        "fixed_lens": False,
    }
    params.update(overrides)
    return {"request_type": "async", "provider": "auto", "input": params}


class Api:
    """A keep-alive session speaking to one simulator with the bearer key."""

    def __init__(self, sim: RunningSimulator, key: str = KEY) -> None:
        self.base = sim.base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def generate(self, body: Any) -> requests.Response:
        return self.session.post(self.base + GENERATE_PATH, json=body, timeout=10)

    def status(self, task_id: str) -> requests.Response:
        return self.session.get(
            self.base + STATUS_PATH, params={"taskId": task_id}, timeout=10
        )

    def create(self, body: Any) -> str:
        response = self.generate(body)
        assert response.status_code == 200, response.text
        task_id: str = response.json()["data"]["taskId"]
        return task_id

    def wait_final(self, task_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll until success/failed; the whole status answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer: dict[str, Any] = self.status(task_id).json()
            if answer["data"]["state"] in ("success", "failed"):
                return answer
            time.sleep(0.01)
        raise AssertionError(f"{task_id} did not finish in {timeout} s")

    def faults(self, **faults: Any) -> None:
        response = self.session.post(self.base + "/_sim/faults", json=faults, timeout=5)
        assert response.status_code == 200, response.text


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@dataclass
class Received:
    path: str
    body: bytes
    at: float


@dataclass
class LocalServer:
    """A tiny HTTP server for the test: serves ``files``, records POSTs."""

    base_url: str = ""
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # Status codes to answer POSTs with, in order; 200 once exhausted.
    post_statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def posts(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def json_posts(self) -> list[dict[str, Any]]:
        return [json.loads(item.body) for item in self.posts()]


@contextmanager
def local_server() -> Iterator[LocalServer]:
    state = LocalServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path not in state.files:
                self._answer(404, b"missing", "text/plain")
                return
            content, content_type = state.files[self.path]
            self._answer(200, content, content_type)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.received.append(Received(self.path, body, time.monotonic()))
                status = state.post_statuses.pop(0) if state.post_statuses else 200
            self._answer(status, b"ok", "text/plain")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
