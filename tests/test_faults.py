"""The fault matrix (issue #18): real processes (simulator, web, workers,
dispatcher) on a PostgreSQL and a Redis this module starts itself
(tests/private_services.py), so restarting, flushing or stopping them disturbs
nothing else. After each fault every task is finished, nothing was submitted
twice, no hold is left open and every balance equals its ledger's sum; each test
prints its figures (tests/fault_figures.py) as one JSON line and asserts zeros.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from generations.models import TERMINAL_STATES, BreakerState, State
from generations.pipeline.download import STORAGE_FULL
from tests.fault_figures import ZERO_FIGURES
from tests.private_services import PrivateServices, skip_unless_available
from tests.processes import ROOT, Stack, wait_until

pytestmark = pytest.mark.slow

TASKS = "generations_generationtask"
SPEED = 40.0  # provider seconds per real second (the simulator's speed factor)
METRICS_TOKEN = "fault-matrix-metrics"


@pytest.fixture(scope="module")
def services() -> Iterator[PrivateServices]:
    if not os.environ.get("REDIS_URL"):
        pytest.skip(
            "the fault matrix runs in the PostgreSQL + Redis pass (make test-scaleout)"
        )
    skip_unless_available()
    private = PrivateServices()
    try:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "seedance_site.settings"}
        env["VAR_DIR"] = str(private.root / "var")
        private.start(env, [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"])
        yield private
    finally:
        private.stop()


class Matrix:
    """The stack of one fault test on a fresh private database."""

    def __init__(self, services: PrivateServices, workdir: Path) -> None:
        self.services = services
        self.database = services.fresh_database()
        self.stack = Stack(
            workdir, speed=SPEED, database=self.database, redis=services.redis.url
        )
        self.stack.env.update(
            BREAKER_FAILURE_THRESHOLD="3",
            BREAKER_PROBE_SECONDS="2",
            METRICS_TOKEN=METRICS_TOKEN,
        )

    # The database, read by the test itself (psycopg, no Django connection)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.database, connect_timeout=3) as conn:
            return list(conn.execute(sql, args).fetchall())  # type: ignore[arg-type]

    def states(self) -> dict[str, int]:
        try:
            rows = self.query(f"SELECT state, count(*) FROM {TASKS} GROUP BY state")
        except Exception:  # the database is restarting: nothing known now
            return {}
        return {str(state): int(n) for state, n in rows}

    def count(self, *states: State) -> int:
        found = self.states()
        return sum(found.get(s.value, 0) for s in states)

    def all_finished(self) -> bool:
        found = self.states()
        return bool(found) and all(s in TERMINAL_STATES for s in found)

    def breaker_state(self) -> str:
        rows = self.query("SELECT state FROM generations_providerbreaker")
        return str(rows[0][0]) if rows else BreakerState.CLOSED.value

    # Seeding and the figures (tests/fault_figures.py in a subprocess)

    def script(self, *args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "tests.fault_figures", *args],
            cwd=ROOT,
            env=self.stack.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def seed(self, tag: str, tasks: int, *, suffix: str = "") -> list[int]:
        made = self.script(
            "seed", "--tag", tag, "--tasks", str(tasks), "--suffix", suffix
        )
        return list(made["tasks"])

    def start_pipeline(self) -> None:
        self.stack.start_simulator()
        self.stack.start_dispatcher()
        self.stack.start_workers()

    def settle(self, timeout: float = 120) -> None:
        with contextlib.suppress(AssertionError):  # the figures say what is left
            wait_until(self.all_finished, timeout, "every task to finish")

    def report(self, fault: str, **extra: Any) -> dict[str, Any]:
        """Print the figures as one JSON line and assert the zeros."""
        found = self.script("figures")
        found["duplicates"] = int(self.stack.sim_stats()["repeated_prompts"])
        found["states"] = self.states()
        print(json.dumps({"fault": fault, **found, **extra}))
        assert {k: found[k] for k in ZERO_FIGURES} == dict.fromkeys(ZERO_FIGURES, 0)
        assert found["unfinished"] == 0, found
        assert found["tasks"] > 0
        return dict(found)


@pytest.fixture
def matrix(services: PrivateServices, tmp_path: Path) -> Iterator[Matrix]:
    running = Matrix(services, tmp_path / "stack")
    try:
        yield running
    finally:
        # The test is over: no need to wait for graceful stops (qcluster takes
        # 15 s or more to drain), and the database goes with the module.
        for name in list(running.stack.procs):
            with contextlib.suppress(ProcessLookupError):  # it may have exited
                running.stack.kill(name)


def test_postgres_restarted_mid_run(matrix: Matrix, services: PrivateServices) -> None:
    matrix.start_pipeline()
    matrix.seed("pg", 6, suffix=" [sim:time=240]")
    wait_until(
        lambda: matrix.count(State.WAITING, State.GENERATING) >= 2,
        60,
        "tasks at the provider",
    )
    services.pg.restart()  # pg_ctl restart -m fast: every connection is cut
    matrix.seed("pg-after", 2)
    matrix.settle()
    found = matrix.report("postgres restarted")
    assert found["states"] == {State.SUCCEEDED.value: 8}


def test_redis_restarted_and_flushed(matrix: Matrix, services: PrivateServices) -> None:
    matrix.stack.start_simulator()
    matrix.stack.start_dispatcher()
    matrix.seed("redis", 6)
    # No worker yet: the dispatcher leases the rows and enqueues their jobs in
    # Redis, where they wait.
    redis = services.redis.client()
    wait_until(
        lambda: sum(redis.llen(k) for k in redis.keys("django_q:*:q")) >= 6,
        30,
        "submit jobs waiting in the broker",
    )
    lost_jobs = sum(redis.llen(k) for k in redis.keys("django_q:*:q"))
    server = redis.info("server")["run_id"]
    services.redis.restart_flushed()  # every job gone, every lease key too
    # A new server that kept nothing (no dump); the running dispatcher may write
    # its lease key into it at once, so its size proves nothing.
    assert redis.info("server")["run_id"] != server
    matrix.stack.start_workers()
    matrix.settle()
    found = matrix.report("redis restarted and flushed", broker_jobs_lost=lost_jobs)
    assert found["states"] == {State.SUCCEEDED.value: 6}


def test_provider_down_for_minutes(matrix: Matrix) -> None:
    """The simulator frozen (SIGSTOP): it accepts connections but never answers,
    like a hung provider, keeping the tasks it has (a killed simulator would
    forget them: it keeps tasks in memory). 12 s at speed 40 are 8 provider
    minutes."""
    matrix.stack.env["APIXO_TIMEOUT_SECONDS"] = "2"
    matrix.start_pipeline()
    matrix.seed("down", 4, suffix=" [sim:time=400]")
    wait_until(
        lambda: matrix.count(State.WAITING, State.GENERATING) == 4,
        60,
        "every task at the provider",
    )
    frozen = time.monotonic()
    matrix.stack.send_signal("simulator", signal.SIGSTOP)
    try:
        wait_until(
            lambda: matrix.breaker_state() == BreakerState.OPEN, 60, "the breaker"
        )
        late = matrix.seed("down-late", 2)
        time.sleep(max(0.0, 12 - (time.monotonic() - frozen)))
        outage = time.monotonic() - frozen
        queued = matrix.query(
            f"SELECT count(*) FROM {TASKS} WHERE id = ANY(%s) AND state = 'queued'",
            late,
        )[0][0]
        assert queued == 2  # new work waits while the provider is down
        assert matrix.count(State.FAILED, State.UNKNOWN) == 0
    finally:
        matrix.stack.send_signal("simulator", signal.SIGCONT)
    wait_until(
        lambda: matrix.breaker_state() == BreakerState.CLOSED, 60, "a probe to close it"
    )
    matrix.settle()
    found = matrix.report(
        "provider down",
        outage_seconds=round(outage, 1),
        provider_minutes=round(outage * SPEED / 60, 1),
    )
    assert found["states"] == {State.SUCCEEDED.value: 6}


@contextlib.contextmanager
def hosts_entry(name: str) -> Iterator[Any]:
    """Make ``name`` resolve (an /etc/hosts line) or not, for the whole machine's
    resolver; only our own line is ever added or removed, and it is removed in
    the end whatever happens."""
    hosts = Path("/etc/hosts")
    line = f"127.0.0.1 {name}\n"

    def resolve(on: bool) -> None:
        text = hosts.read_text()
        kept = "".join(row for row in text.splitlines(True) if row != line)
        if kept and not kept.endswith("\n"):
            kept += "\n"
        hosts.write_text(kept + line if on else kept)  # in place: it may be a mount

    try:
        yield resolve
    finally:
        resolve(False)


def test_dns_failure_for_the_provider_host(matrix: Matrix) -> None:
    if os.geteuid() != 0 or not os.access("/etc/hosts", os.W_OK):
        pytest.skip("needs root to make a provider host name stop resolving")
    name = f"apixo-faults-{uuid.uuid4().hex[:8]}.test"
    base = f"http://{name}:{matrix.stack.sim_port}"
    matrix.stack.env.update(APIXO_BASE_URL=base, APIXO_RESULT_HOSTS=name)
    with hosts_entry(name) as resolve:
        matrix.stack.start_simulator("--public-base-url", base)
        matrix.stack.start_dispatcher()
        # Established keep-alive connections outlive a resolver failure, so the
        # name stops resolving before the workers first connect.
        resolve(False)
        matrix.seed("dns", 4)
        matrix.stack.start_workers()
        wait_until(
            lambda: matrix.breaker_state() == BreakerState.OPEN, 60, "the breaker"
        )
        time.sleep(3)
        assert matrix.count(State.QUEUED) == 4  # waiting, none failed
        errors = matrix.query(f"SELECT DISTINCT last_error FROM {TASKS}")
        resolve(True)
        matrix.settle()
        found = matrix.report(
            "DNS failure", errors_seen=sorted(str(e[0])[:80] for e in errors if e[0])
        )
    assert found["states"] == {State.SUCCEEDED.value: 4}


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full."""
    filler = disk / "filler.bin"
    block = b"\0" * 65536
    with contextlib.suppress(OSError), filler.open("wb") as out:
        while True:
            out.write(block)
            out.flush()
    return filler


def test_media_disk_full_during_a_download(matrix: Matrix, tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs as the media disk")
    with small_tmpfs(tmp_path / "media", "8m") as media:
        matrix.stack.env["MEDIA_ROOT"] = str(media)
        filler = fill(media)
        matrix.start_pipeline()
        matrix.stack.start_web()
        matrix.seed("disk", 3)
        wait_until(
            lambda: bool(
                matrix.query(
                    f"SELECT 1 FROM {TASKS} WHERE state = 'downloading' "
                    "AND last_error = %s",
                    STORAGE_FULL,
                )
            ),
            90,
            "a download to hit the full disk",
        )
        metrics = requests.get(
            matrix.stack.web_url + "/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=10,
        ).text
        gauge = next(
            line
            for line in metrics.splitlines()
            if line.startswith("seedance_downloads_waiting_for_storage ")
        )
        assert float(gauge.split()[1]) >= 1  # the alert
        assert matrix.count(State.FAILED) == 0  # waiting, not failed
        filler.unlink()  # space freed: the retries go through
        matrix.settle()
        found = matrix.report("media disk full", alert=gauge)
    assert found["states"] == {State.SUCCEEDED.value: 3}


def test_web_killed_while_a_member_submits(matrix: Matrix) -> None:
    import psycopg

    matrix.start_pipeline()
    matrix.stack.start_web()
    matrix.script("seed", "--tag", "web")  # the member, no task yet
    token = matrix.script("token")["token"]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "fault-web-1"}
    body = {"prompt": "fault web, job 0: a lighthouse at dusk, slow pan"}
    url = matrix.stack.web_url + "/api/v1/generations"
    outcome: dict[str, Any] = {}

    def submit() -> None:
        try:
            outcome["answer"] = requests.post(
                url, json=body, headers=headers, timeout=60
            )
        except requests.RequestException as exc:
            outcome["error"] = type(exc).__name__

    # The member's credit row locked by the test: the submission stops inside
    # its transaction (task written, hold waiting) until the web process dies.
    with psycopg.connect(matrix.database) as lock:
        lock.execute("SELECT 1 FROM generations_creditaccount FOR UPDATE")
        sender = threading.Thread(target=submit)
        sender.start()
        wait_until(
            lambda: bool(
                matrix.query(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ),
            30,
            "the submission to wait inside its transaction",
        )
        matrix.stack.kill("web")
        lock.rollback()
    sender.join(30)
    assert "error" in outcome, outcome  # the member saw the connection break
    assert matrix.script("figures")["tasks"] == 0  # nothing half-made: no task, no hold

    matrix.stack.start_web()
    first = requests.post(url, json=body, headers=headers, timeout=30)
    again = requests.post(url, json=body, headers=headers, timeout=30)
    assert first.status_code == 201, first.text
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed")
    assert again.json() == first.json()
    matrix.settle()
    holds = matrix.query(
        "SELECT count(*) FROM generations_ledgerentry WHERE kind = 'hold'"
    )[0][0]
    found = matrix.report("web killed mid-submit", holds=holds)
    assert found["tasks"] == 1 and holds == 1
    assert found["states"] == {State.SUCCEEDED.value: 1}
