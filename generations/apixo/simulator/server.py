"""The simulator's HTTP front: routing, auth, rate limits, injected faults.

Endpoints (every JSON answer carries the same ``code`` as its HTTP status):

- ``POST /api/v1/generateTask/seedance-1-5-pro``, ``GET /api/v1/statusTask/...``,
  ``GET /api/v1/apikeys/current-balance``: the contract, bearer key required.
- ``GET /results/<taskId>.mp4?expires=<unix ms>&sig=<hex>``: the result file,
  no key (like a presigned URL); Range requests answer 206; an expired or tampered
  URL answers 403 (as object storage does), an unknown task 404.
- ``GET /_sim/stats``, ``GET|POST /_sim/faults``, ``POST /_sim/reset``: control,
  bearer key required, never rate-limited or faulted.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import math
import re
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from generations.apixo.contract import BALANCE_PATH, GENERATE_PATH, STATUS_PATH

from .config import ConfigError, FaultSettings
from .core import InsufficientCredits, ResultError, Simulator, TooManyTasks
from .results import parse_range
from .validation import InvalidRequest, parse_generate_body

logger = logging.getLogger(__name__)

API_METHODS = {GENERATE_PATH: "POST", STATUS_PATH: "GET", BALANCE_PATH: "GET"}
CONTROL_PATHS = ("/_sim/stats", "/_sim/faults", "/_sim/reset")
RESULT_PATH = re.compile(r"/results/(task_[0-9a-f]+)\.mp4")
MAX_BODY_BYTES = 1024 * 1024
CHUNK = 256 * 1024
Answer = tuple[int, dict[str, Any], dict[str, str]]


class Dropped(Exception):
    """Close the connection without answering."""


def envelope(code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "data": data}


def invalid(error: str) -> Answer:
    return 400, envelope(400, "Invalid request", {"error": error}), {}


def route_name(path: str) -> str:
    """The stats key of a path: result files and unknown paths are lumped."""
    if path in API_METHODS or path in CONTROL_PATHS:
        return path
    if path.startswith("/results/"):
        return "/results/*"
    return "(unknown path)"


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, SimulatorHandler)
        self.simulator = simulator


class SimulatorHandler(BaseHTTPRequestHandler):
    server: SimulatorServer
    protocol_version = "HTTP/1.1"
    server_version = "ApixoSimulator/1"
    # Idle keep-alive connections end after this, freeing their threads.
    timeout = 30

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        # The request line and status only: headers (the API key) never reach logs.
        logger.debug("%s %s", self.address_string(), format % args)

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        # The standard library's own refusals (bad request line, unknown method)
        # answer in the provider's JSON shape too.
        self.close_connection = True
        body = json.dumps(envelope(code, message or "Bad request")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200:
            self.wfile.write(body)

    @property
    def sim(self) -> Simulator:
        return self.server.simulator

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self._route = f"{method} {route_name(url.path)}"
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        try:
            body = self._read_body()
            if url.path.startswith("/results/"):
                self._serve_result(method, url.path, query)
            elif url.path.startswith("/_sim/"):
                self._send_json(*self._control(method, url.path, body))
            elif url.path in API_METHODS:
                self._api(method, url.path, query, body)
            else:
                self._send_json(404, envelope(404, "Not found"))
        except Dropped:
            self._drop()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            logger.exception("simulator: %s failed", self._route)
            with contextlib.suppress(OSError):
                self._send_json(500, envelope(500, "Internal server error"))

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or (length and not length.isdecimal()):
            self.close_connection = True
            return b"\x00"  # unreadable framing: fails validation as bad JSON
        size = int(length or 0)
        if size > MAX_BODY_BYTES:
            self.close_connection = True
            return b"\x00"
        return self.rfile.read(size) if size else b""

    def _authorized(self) -> Answer | None:
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return 401, envelope(401, "Missing API key"), {}
        expected = self.sim.config.api_key.encode()
        if not hmac.compare_digest(token.strip().encode(), expected):
            return 401, envelope(401, "Invalid API key"), {}
        return None

    # The contract's endpoints

    def _api(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        sim = self.sim
        is_generate = path == GENERATE_PATH
        if is_generate and method == "POST":
            sim.counters.add("generate_calls")
        if method != API_METHODS[path]:
            self._send_json(405, envelope(405, "Method not allowed"))
            return
        refusal = self._authorized() or self._rate_limited() or self._injected()
        if refusal is not None:
            self._send_json(*refusal)
            return
        faults = sim.faults
        drop = sim.chance(faults.drop_connection_rate)
        if drop and not (is_generate and faults.drop_after_create):
            sim.counters.add("faults.drop_connection")
            raise Dropped
        if is_generate:
            answer = self._generate(body)
            if faults.stall_after_create_seconds > 0:
                sim.counters.add("faults.stall_after_create")
                time.sleep(faults.stall_after_create_seconds)
        elif path == STATUS_PATH:
            answer = self._status(query)
        else:
            answer = 200, envelope(200, "success", sim.balance()), {}
        if drop:
            sim.counters.add("faults.drop_connection")
            raise Dropped
        if answer[0] == 200 and sim.chance(faults.malformed_json_rate):
            sim.counters.add("faults.malformed_json")
            text = json.dumps(answer[1]).encode()
            self._send(200, text[: len(text) // 2], "application/json")
            return
        self._send_json(*answer)

    def _rate_limited(self) -> Answer | None:
        retry_after = self.sim.window.admit()
        if retry_after is None:
            return None
        self.sim.counters.add("rate_limited")
        message = "Rate limit exceeded, please retry later"
        headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}
        return 429, envelope(429, message), headers

    def _injected(self) -> Answer | None:
        sim, faults = self.sim, self.sim.faults
        if faults.slow_seconds > 0 and sim.chance(faults.slow_rate):
            sim.counters.add("faults.slow")
            time.sleep(faults.slow_seconds)
        if sim.chance(faults.rate_429):
            sim.counters.add("faults.rate_429")
            message = "Rate limit exceeded, please retry later"
            return 429, envelope(429, message), {"Retry-After": "1"}
        if sim.chance(faults.rate_500):
            sim.counters.add("faults.rate_500")
            return 500, envelope(500, "Internal server error"), {}
        if sim.chance(faults.rate_503):
            sim.counters.add("faults.rate_503")
            return 503, envelope(503, "Model temporarily unavailable"), {}
        return None

    def _generate(self, body: bytes) -> Answer:
        try:
            request = parse_generate_body(body)
        except InvalidRequest as error:
            return invalid(str(error))
        try:
            task = self.sim.create_task(request)
        except TooManyTasks:
            limit = self.sim.config.concurrent_limit
            message = f"Concurrent task limit exceeded ({limit})"
            return 429, envelope(429, message), {"Retry-After": "5"}
        except InsufficientCredits:
            return 400, envelope(400, "Insufficient credits"), {}
        return 200, envelope(200, "success", {"taskId": task.task_id}), {}

    def _status(self, query: dict[str, str]) -> Answer:
        task_id = query.get("taskId", "").strip()
        if not task_id:
            return invalid("Missing required field: taskId")
        data = self.sim.status(task_id)
        if data is None:
            return 404, envelope(404, "Task not found"), {}
        return 200, envelope(200, "success", data), {}

    # Control endpoints

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        refusal = self._authorized()
        if refusal is not None:
            return refusal
        sim = self.sim
        if path == "/_sim/stats" and method == "GET":
            return 200, envelope(200, "success", sim.stats()), {}
        if path == "/_sim/faults" and method == "GET":
            return 200, envelope(200, "success", sim.faults.as_dict()), {}
        if path == "/_sim/faults" and method == "POST":
            try:
                faults = FaultSettings.from_json(body.decode("utf-8", "replace"))
            except ConfigError as error:
                return invalid(str(error))
            sim.set_faults(faults)
            return 200, envelope(200, "success", faults.as_dict()), {}
        if path == "/_sim/reset" and method == "POST":
            sim.reset()
            return 200, envelope(200, "success"), {}
        return 404, envelope(404, "Not found"), {}

    # Result files

    def _serve_result(self, method: str, path: str, query: dict[str, str]) -> None:
        match = RESULT_PATH.fullmatch(path)
        if method not in ("GET", "HEAD") or match is None:
            self._send_text(404, "Not found")
            return
        sim, faults = self.sim, self.sim.faults
        if faults.redirect_result_to:
            sim.counters.add("faults.redirect_result")
            self._send(302, b"", "text/plain", {"Location": faults.redirect_result_to})
            return
        if sim.chance(faults.result_404_rate):
            sim.counters.add("faults.result_404")
            self._send_text(404, "Not found")
            return
        try:
            file_path = sim.result_path(
                match.group(1), query.get("expires", ""), query.get("sig", "")
            )
        except ResultError as error:
            self._send_text(error.status, error.message)
            return
        if faults.slow_result_seconds > 0:
            # For crash tests: keeps a download in flight long enough to kill it.
            sim.counters.add("faults.slow_result")
            time.sleep(faults.slow_result_seconds)
        if sim.chance(faults.not_mp4_result_rate):
            sim.counters.add("faults.not_mp4_result")
            page = (
                b"<!doctype html><html><body><h1>Service unavailable</h1></body></html>"
            )
            self._send(200, page, "video/mp4")
            return
        self._send_file(method, file_path.open("rb"))

    def _send_file(self, method: str, handle: Any) -> None:
        with handle:
            size = handle.seek(0, 2)
            try:
                byte_range = parse_range(self.headers.get("Range"), size)
            except ValueError:
                unsatisfiable = {"Content-Range": f"bytes */{size}"}
                self._send_text(416, "Range not satisfiable", unsatisfiable)
                return
            first, last = byte_range or (0, size - 1)
            headers = {"Accept-Ranges": "bytes"}
            status = 200
            if byte_range is not None:
                status = 206
                headers["Content-Range"] = f"bytes {first}-{last}/{size}"
            length = last - first + 1
            truncated = method == "GET" and self.sim.chance(
                self.sim.faults.truncated_result_rate
            )
            self._start(status, "video/mp4", length, headers)
            if method == "HEAD":
                return
            sent = length // 2 if truncated else length
            if sent > 0:
                self.connection.sendfile(handle, first, sent)
            self.sim.counters.add("results_served")
            if truncated:
                # Fewer bytes than Content-Length promised, then hang up.
                self.sim.counters.add("faults.truncated_result")
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

    # Writing answers

    def _start(
        self, status: int, content_type: str, length: int, headers: dict[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.sim.counters.request(self._route, status)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._start(status, content_type, len(body), headers or {})
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(
        self,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._send(status, body, "application/json", headers)

    def _send_text(
        self, status: int, text: str, headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8", headers)

    def _drop(self) -> None:
        self.sim.counters.request(self._route, "dropped")
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
