"""Benchmarks run in a fresh database and leave nothing behind unless asked."""

from __future__ import annotations

import json
import os
import tempfile
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management import call_command

SMALL = ["--videos", "300", "--in-flight", "30", "--runs", "2", "--json"]


def on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql"))


def server(sql: str, *params: str) -> object:
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    admin = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def database_exists(name: str) -> bool:
    if not on_postgres():
        return False
    return server("SELECT 1 FROM pg_database WHERE datname = %s", name) is not None


@pytest.mark.slow
@pytest.mark.parametrize("keep", [False, True])
def test_bench_pages_cleans_up_unless_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: bool
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    name = f"seedance_test_bench_{os.getpid()}"
    out = StringIO()
    call_command(
        "bench_pages", *SMALL, "--db-name", name, *(["--keep"] if keep else []),
        stdout=out,
    )  # fmt: skip
    report = json.loads(out.getvalue())
    assert report["pages"]["gallery"]["queries"] > 0
    left = list(tmp_path.glob("seedance-bench_pages-*"))
    if not keep:
        assert left == [] and "workdir" not in report
        assert not database_exists(name)
        return
    assert [str(p) for p in left] == [report["workdir"]]
    if on_postgres():
        assert report["kept_database"] == name and database_exists(name)
        server(f"DROP DATABASE {name} WITH (FORCE)")
        assert not database_exists(name)
    else:
        assert (Path(report["workdir"]) / "bench.sqlite3").exists()
