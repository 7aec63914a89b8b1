"""End-to-end pipeline benchmark on real processes (prints one JSON object).

The command prepares a fresh database (a new SQLite file, or with DATABASE_URL a
new PostgreSQL database beside the configured one; REDIS_URL, if set, is used as
the broker and limiter), migrates it, then runs itself as a driver against it: the
driver starts the simulator, the dispatcher and one or more qcluster processes,
queues the tasks (polling mode), waits until every task is finished, and reports.
Times are in simulated seconds (wall seconds x speed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

BENCH_DB = "seedance_bench"
SIM_KEY = "bench-sim-key"


class Command(BaseCommand):
    help = "Run N tasks through real processes and the simulator; print JSON."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tasks", type=int, default=1000)
        parser.add_argument("--speed", type=float, default=60.0)
        parser.add_argument("--workers", type=int, default=1, help="qcluster processes")
        parser.add_argument("--timeout", type=float, default=900.0)
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--drive", action="store_true", help=argparse_hidden())

    def handle(self, *args: Any, **options: Any) -> None:
        run = drive if options["drive"] else self.prepare_and_run
        report = run(options)
        self.stdout.write(json.dumps(report, indent=None if options["json"] else 2))

    def prepare_and_run(self, options: dict[str, Any]) -> dict[str, Any]:
        workdir = Path(tempfile.mkdtemp(prefix="seedance-bench-"))
        env = {
            **os.environ,
            "VAR_DIR": str(workdir / "var"),
            "MEDIA_ROOT": str(workdir / "media"),
            "DATABASE_URL": fresh_database_url(workdir),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("APIXO_API_KEY", None)
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True)
        argv = [
            *manage, "bench_pipeline", "--drive", "--json",
            "--tasks", str(options["tasks"]), "--speed", str(options["speed"]),
            "--workers", str(options["workers"]), "--timeout", str(options["timeout"]),
        ]  # fmt: skip
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise CommandError(f"benchmark driver failed:\n{done.stderr[-4000:]}")
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        report["workdir"] = str(workdir)
        return report


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


def fresh_database_url(workdir: Path) -> str:
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres", "pgsql")):
        return f"sqlite://{workdir / 'bench.sqlite3'}"
    import psycopg

    parts = urlsplit(configured)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def drive(options: dict[str, Any]) -> dict[str, Any]:
    from generations.benchmarks.pipeline_driver import PipelineRun

    run = PipelineRun(
        tasks=options["tasks"],
        speed=options["speed"],
        workers=options["workers"],
        timeout=options["timeout"],
        sim_key=SIM_KEY,
    )
    try:
        return run.execute()
    finally:
        run.stop()
