"""Start every process of a local run and stop them all on Ctrl-C.

web (Django), workers (django-q2 qcluster), the dispatcher and, with no API key
configured, the provider simulator. Output is prefixed with the process name.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext

GRACE_SECONDS = 10.0


class Command(BaseCommand):
    help = "Run web, workers, dispatcher and (without APIXO_API_KEY) the simulator."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--addr", default=os.environ.get("WEB_ADDR", "127.0.0.1:8000")
        )
        parser.add_argument("--workers", type=int, default=1, help="qcluster processes")

    def handle(self, *args: Any, **options: Any) -> None:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands: dict[str, list[str]] = {}
        if settings.SIMULATOR_ENABLED:
            commands["simulator"] = manage + [
                "run_simulator",
                "--host", settings.SIMULATOR_HOST,
                "--port", str(settings.SIMULATOR_PORT),
                "--speed", str(settings.SIMULATOR_SPEED),
                "--api-key", settings.SIMULATOR_API_KEY,
                "--data-dir", str(settings.VAR_DIR / "simulator"),
            ]  # fmt: skip
        commands["web"] = manage + ["runserver", options["addr"], "--noreload"]
        for n in range(options["workers"]):
            commands[f"worker{n + 1}" if options["workers"] > 1 else "worker"] = (
                manage + ["qcluster"]
            )
        commands["dispatcher"] = manage + ["run_dispatcher"]
        self.stdout.write(
            gettext("Open %(url)s and log in with the account above.")
            % {"url": browse_url(options["addr"])}
        )
        supervise(commands, self.stdout)


def browse_url(addr: str) -> str:
    """Where a browser on this machine reaches ``runserver ADDR`` (WEB_ADDR).

    runserver takes ``port``, ``host:port`` or ``[ipv6]:port``; a wildcard host
    listens on every address, loopback included.
    """
    host, sep, port = addr.rpartition(":")
    if not sep:
        host, port = "", addr
    if host in ("", "0.0.0.0", "0", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}/"


def supervise(commands: dict[str, list[str]], out: Any) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    selector = selectors.DefaultSelector()
    width = max(len(name) for name in commands)
    stopping = False

    def request_stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    for name, argv in commands.items():
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children
        )
        procs[name] = proc
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        selector.register(proc.stdout, selectors.EVENT_READ, name)
    out.write(f"Started {', '.join(procs)}. Press Ctrl-C to stop.")
    buffers: dict[str, bytes] = dict.fromkeys(procs, b"")
    try:
        while not stopping:
            for key, _ in selector.select(timeout=0.5):
                _relay(key.fileobj, key.data, buffers, width, out)  # type: ignore[arg-type]
            dead = [name for name, proc in procs.items() if proc.poll() is not None]
            if dead:
                out.write(f"{', '.join(dead)} exited; stopping everything.")
                break
    finally:
        _stop_all(procs, out)
        for key in list(selector.get_map().values()):
            _relay(key.fileobj, key.data, buffers, width, out)  # type: ignore[arg-type]


def _relay(
    stream: IO[bytes], name: str, buffers: dict[str, bytes], width: int, out: Any
) -> None:
    try:
        chunk = stream.read()
    except (BlockingIOError, ValueError):
        return
    if not chunk:
        return
    data = buffers[name] + chunk
    *lines, buffers[name] = data.split(b"\n")
    for line in lines:
        out.write(f"[{name:<{width}}] {line.decode(errors='replace')}")


def _stop_all(procs: dict[str, subprocess.Popen[bytes]], out: Any) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            out.write(f"{name} did not stop in time; killing it.")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    out.write("All processes stopped.")
