"""A PostgreSQL and a Redis of the test's own, on temporary directories and free
ports, so a fault test may restart, flush or stop them without disturbing anything
else on the machine (the shared services are never touched).

PostgreSQL's ``initdb`` refuses to run as root: as root the server runs as the
``postgres`` user (``runuser``), in a directory handed to that user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.processes import free_port, wait_until

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def pg_tool(name: str) -> str | None:
    for folder in PG_BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    return shutil.which(name)


def missing_tools() -> str:
    """Why the private services cannot run here ("" when they can)."""
    missing = [t for t in ("initdb", "pg_ctl") if pg_tool(t) is None]
    missing += [t for t in ("redis-server",) if shutil.which(t) is None]
    if missing:
        return "needs " + ", ".join(missing) + " (PostgreSQL and Redis servers)"
    if os.geteuid() == 0:
        import pwd

        if shutil.which("runuser") is None:
            return "runs as root but runuser is missing (initdb refuses root)"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "runs as root but there is no postgres user to run the server"
    return ""


class PrivatePostgres:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.log = root / "postgres.log"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(
            command, check=True, capture_output=True, text=True, timeout=120
        )

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            str(pg_tool("initdb")), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--no-sync",
        )  # fmt: skip
        self.start()

    def _ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(pg_tool("pg_ctl")), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "-t", "60", action, *extra,
        )  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, then it is back."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("stop", "-m", "immediate")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]


class PrivateRedis:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.root),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_until(self.answers, 20, "the private Redis")

    def client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=2)

    def answers(self) -> bool:
        import redis

        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def flushall(self) -> None:
        self.client().flushall()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def restart_flushed(self) -> None:
        """FLUSHALL, then the process killed and started again, empty (no dump)."""
        self.flushall()
        self.stop()
        time.sleep(0.5)
        self.start()


class PrivateServices:
    """One PostgreSQL and one Redis for a test module; a fresh database per test,
    cloned from a migrated template."""

    TEMPLATE = "faults_template"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="seedance-faults-"))
        os.chmod(self.root, 0o755)
        self.pg = PrivatePostgres(self.root / "pg")
        self.redis = PrivateRedis(self.root / "redis")
        self.count = 0

    def start(self, migrate_env: dict[str, str], migrate: list[str]) -> None:
        self.pg.init()
        self.redis.start()
        self.pg.sql(f"CREATE DATABASE {self.TEMPLATE}")
        env = {**migrate_env, "DATABASE_URL": self.pg.url(self.TEMPLATE)}
        env["REDIS_URL"] = self.redis.url
        subprocess.run(migrate, env=env, check=True, capture_output=True, timeout=300)

    def fresh_database(self) -> str:
        """A new database (a copy of the migrated template); Redis emptied."""
        self.count += 1
        name = f"faults_{self.count}"
        self.pg.sql(f"CREATE DATABASE {name} TEMPLATE {self.TEMPLATE}")
        self.redis.flushall()
        return self.pg.url(name)

    def stop(self) -> None:
        self.redis.stop()
        self.pg.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def skip_unless_available() -> None:
    reason = missing_tools()
    if reason:
        pytest.skip(f"the fault matrix {reason}")
