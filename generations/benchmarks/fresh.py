"""Run a benchmark driver in a fresh, migrated database (never the developer's).

A new SQLite file, or with DATABASE_URL pointing at PostgreSQL a new database
beside the configured one; REDIS_URL, if set, passes through.
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
from django.core.management.base import CommandError


def run_in_fresh_database(
    command: str, args: list[str], db_name: str
) -> dict[str, Any]:
    """Migrate a fresh database, run ``manage.py <command> --drive --json <args>``
    against it, and return the JSON object it printed last."""
    workdir = Path(tempfile.mkdtemp(prefix=f"seedance-{command}-"))
    env = {
        **os.environ,
        "VAR_DIR": str(workdir / "var"),
        "MEDIA_ROOT": str(workdir / "media"),
        "DATABASE_URL": fresh_database_url(workdir, db_name),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("APIXO_API_KEY", None)
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True)
    done = subprocess.run(
        [*manage, command, "--drive", "--json", *args],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise CommandError(f"{command} driver failed:\n{done.stderr[-4000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["workdir"] = str(workdir)
    return report


def fresh_database_url(workdir: Path, db_name: str) -> str:
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres", "pgsql")):
        return f"sqlite://{workdir / 'bench.sqlite3'}"
    import psycopg

    parts = urlsplit(configured)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db_name}")
    return urlunsplit(parts._replace(path=f"/{db_name}"))


def add_db_name_argument(parser: Any, default: str) -> None:
    """``--db-name``: the PostgreSQL database a benchmark creates (dropped first)."""
    parser.add_argument(
        "--db-name",
        default=default,
        help="The PostgreSQL database to create (dropped first) when "
        "DATABASE_URL names PostgreSQL.",
    )


def hidden_help() -> str:
    import argparse

    return argparse.SUPPRESS
