"""Run a benchmark driver in a fresh, migrated database (never the developer's).

A new SQLite file, or with DATABASE_URL pointing at PostgreSQL a new database
beside the configured one; REDIS_URL, if set, passes through.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import CommandError


def run_in_fresh_database(
    command: str, args: list[str], db_name: str, *, keep: bool = False
) -> dict[str, Any]:
    """Migrate a fresh database, run ``manage.py <command> --drive --json <args>``
    against it, and return the JSON object it printed last. Afterwards the
    database and every file of the run are removed (a 1,000,000-video SQLite file
    is about 1 GB), unless ``keep``: then the report names them."""
    workdir = Path(tempfile.mkdtemp(prefix=f"seedance-{command}-"))
    database_url = fresh_database_url(workdir, db_name)
    (workdir / "tmp").mkdir()
    env = {
        **os.environ,
        "VAR_DIR": str(workdir / "var"),
        "MEDIA_ROOT": str(workdir / "media"),
        "DATABASE_URL": database_url,
        "TMPDIR": str(workdir / "tmp"),  # the driver's own scratch goes too
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("APIXO_API_KEY", None)
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    try:
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
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
            _drop_database(database_url)
    if keep:
        report["workdir"] = str(workdir)
        if database_url.startswith(("postgres", "pgsql")):
            # The name only: a URL may hold a password.
            report["kept_database"] = db_name
    return report


def fresh_database_url(workdir: Path, db_name: str) -> str:
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres", "pgsql")):
        return f"sqlite://{workdir / 'bench.sqlite3'}"
    _on_server(
        configured,
        f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)",
        f"CREATE DATABASE {db_name}",
    )
    return urlunsplit(urlsplit(configured)._replace(path=f"/{db_name}"))


def _drop_database(url: str) -> None:
    if not url.startswith(("postgres", "pgsql")):
        return  # SQLite: the file went with the work folder
    name = urlsplit(url).path.lstrip("/")
    _on_server(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _on_server(url: str, *statements: str) -> None:
    """Run statements on the PostgreSQL server of ``url``, outside any database
    of ours (through ``postgres``: a database cannot drop itself)."""
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def add_db_name_argument(parser: Any, default: str) -> None:
    """``--db-name``: the PostgreSQL database a benchmark creates (dropped first),
    and ``--keep``: leave it and the run's files for a look afterwards."""
    parser.add_argument(
        "--db-name",
        default=default,
        help="The PostgreSQL database to create (dropped first) when "
        "DATABASE_URL names PostgreSQL.",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="Keep the database and the run's files (the report names them); "
        "by default both are removed.",
    )


def hidden_help() -> str:
    import argparse

    return argparse.SUPPRESS
