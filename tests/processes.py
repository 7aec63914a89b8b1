"""Real processes for end-to-end and crash tests: simulator, web, workers
(django-q2 qcluster) and dispatcher, each started as ``manage.py`` would be, all
sharing the test database so the test can set up and inspect rows."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
SIM_KEY = "e2e-sim-key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url() -> str:
    """The URL of the database the test runs on (so subprocesses share it)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite://{Path(db['NAME']).resolve()}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}"


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    explain: Callable[[], str] | None = None,
) -> None:
    """Wait for ``predicate``; on time-out fail with ``explain()`` (the state the
    test saw: rows, process logs) so a failure in CI says why."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            detail = f"\n{explain()}" if explain else ""
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what}{detail}"
            )
        time.sleep(0.1)


class Stack:
    def __init__(
        self,
        workdir: Path,
        *,
        speed: float = 40.0,
        database: str | None = None,
        redis: str | None = None,
    ) -> None:
        """``database``/``redis``: URLs for the processes (default: the test's own
        database, and the test run's REDIS_URL if any)."""
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.sim_port = free_port()
        self.web_port = free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "seedance_site.settings",
            "VAR_DIR": str(workdir / "var"),
            "DATABASE_URL": database or database_url(),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "DEBUG": "1",
            "SIMULATOR_PORT": str(self.sim_port),
            "SIMULATOR_SPEED": str(speed),
            "SIMULATOR_API_KEY": SIM_KEY,
            "PUBLIC_BASE_URL": self.web_url,
            "LEASE_SECONDS": "4",
            "DISPATCH_INTERVAL_SECONDS": "0.3",
            "Q_WORKERS": "2",
            "LOG_LEVEL": "INFO",
        }
        self.env.pop("APIXO_API_KEY", None)
        if redis is not None:
            self.env["REDIS_URL"] = redis

    def start(
        self,
        name: str,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
    ) -> None:
        """Start ``manage.py args``; ``env`` adds to or overrides the stack's."""
        log = (self.logs / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=cwd,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill takes children too
        )

    def start_simulator(self, *extra: str) -> None:
        self.start(
            "simulator", "run_simulator", "--port", str(self.sim_port),
            "--api-key", SIM_KEY, "--data-dir", str(self.workdir / "sim"), *extra,
        )  # fmt: skip
        wait_until(self._simulator_up, 30, "the simulator")

    def start_web(
        self,
        name: str = "web",
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
    ) -> str:
        """A web server (the stack's own port unless given); returns its URL."""
        port = port or self.web_port
        url = f"http://127.0.0.1:{port}"
        self.start(
            name, "runserver", f"127.0.0.1:{port}", "--noreload", env=env, cwd=cwd
        )
        wait_until(lambda: self._web_up(url), 30, f"the web server {name}")
        return url

    def start_workers(
        self,
        name: str = "worker",
        *,
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
    ) -> None:
        self.start(name, "qcluster", env=env, cwd=cwd)

    def start_dispatcher(self) -> None:
        self.start("dispatcher", "run_dispatcher")

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def send_signal(self, name: str, signum: int) -> None:
        """Send ``signum`` to the process group (SIGSTOP/SIGCONT: freeze, thaw)."""
        os.killpg(self.procs[name].pid, signum)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                os.killpg(proc.pid, signal.SIGCONT)  # a frozen one must hear it
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.procs.clear()

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def _sim(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {SIM_KEY}"}
        return requests.request(
            method, self.sim_url + path, headers=headers, timeout=5, **kwargs
        )

    def set_faults(self, faults: dict[str, Any]) -> None:
        self._sim("POST", "/_sim/faults", json=faults).raise_for_status()

    def sim_stats(self) -> dict[str, Any]:
        response = self._sim("GET", "/_sim/stats")
        response.raise_for_status()
        return dict(response.json()["data"])

    def _simulator_up(self) -> bool:
        try:
            return self._sim("GET", "/_sim/stats").status_code == 200
        except requests.RequestException:
            return False

    def _web_up(self, url: str) -> bool:
        try:
            return requests.get(url + "/login/", timeout=2).status_code == 200
        except requests.RequestException:
            return False


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path / "stack")
    try:
        yield running
    finally:
        running.stop()
