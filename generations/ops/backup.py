"""Backups that can be taken while the studio runs, and their restore.

A backup is one directory: ``manifest.json``, the database snapshot, and
``media/`` (videos, posters, uploaded frames), every file with its sha256.

- The database comes first, as one consistent snapshot: SQLite's online backup
  API (a read transaction; WAL lets the studio keep writing) or ``pg_dump``
  (one repeatable-read transaction). Media is copied after it: a video is in
  place before the row that names it commits, and media is never rewritten, so
  every file the snapshot names is there to copy (files newer than the snapshot
  are harmless extras).
- The directory is written as ``.<name>.partial`` and renamed when complete: a
  crash leaves no half backup that looks whole.
- Restore refuses a non-empty target, checks every file against the manifest
  before it touches anything, then checks every video against its recorded
  sha256 and every balance against its ledger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from generations import media_store

FORMAT = "seedance-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
MEDIA_DIR = "media"
PREFIX = "seedance-"
# In-progress downloads live here; they are not media yet.
SKIPPED_MEDIA_DIRS = frozenset({"tmp"})
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


def engine() -> str:
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups of a {vendor} database are not supported")
    return vendor


# --- Backup -------------------------------------------------------------------


def create_backup(*, destination: Path, now: dt.datetime | None = None) -> Path:
    now = now or timezone.now()
    media_root = Path(settings.MEDIA_ROOT).resolve()
    if destination.resolve().is_relative_to(media_root):
        raise BackupError("the backup directory must not be inside MEDIA_ROOT")
    destination.mkdir(parents=True, exist_ok=True)
    name = f"{PREFIX}{now:%Y%m%d-%H%M%S}"
    final = destination / name
    if final.exists():
        raise BackupError(f"{final} exists already")
    partial = destination / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        kind = engine()
        database_file = _snapshot_database(kind, partial)
        # Media in a bucket stays there (README, Backups: bucket versioning);
        # the manifest names where it lives and the restore check reads it.
        root = media_store.local_root()
        files = _copy_media(root, partial / MEDIA_DIR) if root else []
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": now.isoformat(),
            "engine": kind,
            "database": {
                "file": database_file,
                "sha256": media_store.file_sha256(partial / database_file),
            },
            "media": files,
            "media_location": media_store.describe(),
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1))
        os.replace(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def _snapshot_database(kind: str, into: Path) -> str:
    if kind == "sqlite":
        source = sqlite3.connect(str(connection.settings_dict["NAME"]), timeout=30)
        target = sqlite3.connect(str(into / SQLITE_FILE))
        try:
            with target:
                source.backup(target)  # all pages in one step: one snapshot
        finally:
            target.close()
            source.close()
        return SQLITE_FILE
    _run_pg(["pg_dump", "--format=custom", "--no-owner", f"--file={into / PG_FILE}"])
    return PG_FILE


def _copy_media(root: Path, into: Path) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = []
    if not root.exists():
        return files
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        if here == root:
            dirs[:] = [d for d in dirs if d not in SKIPPED_MEDIA_DIRS]
        dirs.sort()
        for name in sorted(names):
            source = here / name
            relative = source.relative_to(root).as_posix()
            try:
                digest, size = _copy_hashing(source, into / relative)
            except FileNotFoundError:
                continue  # removed meanwhile: the snapshot cannot name it
            files.append({"path": relative, "size": size, "sha256": digest})
    return files


def _copy_hashing(source: Path, target: Path) -> tuple[str, int]:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def prune(*, destination: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` complete backups in ``destination``."""
    backups = sorted(
        p for p in destination.glob(f"{PREFIX}*") if (p / MANIFEST).is_file()
    )
    doomed = backups[:-keep] if keep > 0 else []
    for path in doomed:
        shutil.rmtree(path)
    return doomed


# --- PostgreSQL tools ---------------------------------------------------------


def _pg_env() -> dict[str, str]:
    """Connection settings as libpq variables: the password never reaches argv."""
    db = connection.settings_dict
    env = {**os.environ, "PGDATABASE": str(db["NAME"])}
    for key, var in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
    ):
        if db.get(key):
            env[var] = str(db[key])
    return env


def _run_pg(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} is not installed (PostgreSQL client tools)")
    done = subprocess.run(argv, env=_pg_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{argv[0]} failed: {done.stderr.strip()[:2000]}")


# --- Restore ------------------------------------------------------------------


@dataclass
class RestoreReport:
    files: int = 0
    videos: int = 0
    accounts: int = 0
    problems: list[str] = field(default_factory=list)


def read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(
            f"{source} has no {MANIFEST}: not a complete backup"
        ) from None
    except ValueError:
        raise BackupError(f"{source / MANIFEST} is not valid JSON") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError(f"{source} is not a backup this version can restore")
    return manifest


def check_backup(source: Path, manifest: dict[str, Any]) -> None:
    """Every file of the backup is there and intact, before anything is touched."""
    database = source / manifest["database"]["file"]
    if (
        not database.is_file()
        or media_store.file_sha256(database) != manifest["database"]["sha256"]
    ):
        raise BackupError(f"{database} is missing or damaged")
    for item in manifest["media"]:
        path = source / MEDIA_DIR / item["path"]
        if not path.is_file() or media_store.file_sha256(path) != item["sha256"]:
            raise BackupError(f"{path} is missing or damaged")


def restore_backup(*, source: Path) -> RestoreReport:
    manifest = read_manifest(source)
    kind = engine()
    if manifest["engine"] != kind:
        raise BackupError(
            f"the backup holds a {manifest['engine']} database; "
            f"DATABASE_URL points to {kind}"
        )
    check_backup(source, manifest)
    media_root = Path(settings.MEDIA_ROOT)
    if media_root.exists() and any(media_root.iterdir()):
        raise BackupError(
            f"MEDIA_ROOT {media_root} is not empty; restore needs a fresh one"
        )
    if kind == "sqlite":
        Path(str(connection.settings_dict["NAME"])).parent.mkdir(
            parents=True, exist_ok=True
        )
    _require_empty_database(kind)
    _restore_database(kind, source / manifest["database"]["file"])
    for item in manifest["media"]:
        _copy_hashing(source / MEDIA_DIR / item["path"], media_root / item["path"])
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)  # newer code, older backup
    report = verify_restored()
    report.files = len(manifest["media"])
    return report


def _require_empty_database(kind: str) -> None:
    tables = connection.introspection.table_names()
    if tables:
        name = connection.settings_dict["NAME"]
        raise BackupError(
            f"the database {name} is not empty ({len(tables)} tables); "
            "restore needs a fresh one"
        )
    if kind == "sqlite":
        # An empty file (made by merely connecting) is replaced by the snapshot.
        connection.close()
        name = Path(str(connection.settings_dict["NAME"]))
        for path in (name, Path(f"{name}-wal"), Path(f"{name}-shm")):
            path.unlink(missing_ok=True)


def _restore_database(kind: str, snapshot: Path) -> None:
    if kind == "sqlite":
        source = sqlite3.connect(str(snapshot))
        target = sqlite3.connect(str(connection.settings_dict["NAME"]))
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        return
    connection.close()
    _run_pg(
        ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction",
         f"--dbname={connection.settings_dict['NAME']}", str(snapshot)]
    )  # fmt: skip


def verify_restored() -> RestoreReport:
    """Every video against its recorded sha256, every balance against its ledger."""
    from generations.models import CreditAccount, LedgerEntry, VideoAsset

    report = RestoreReport()
    for video in VideoAsset.objects.only("pk", "file", "sha256").iterator():
        report.videos += 1
        name = str(video.file.name)
        try:
            digest = media_store.sha256_of(name)
        except FileNotFoundError:
            report.problems.append(f"video {video.pk}: {name} is missing")
            continue
        if digest != video.sha256:
            report.problems.append(f"video {video.pk}: {name} differs from its sha256")
    sums = dict(
        LedgerEntry.objects.values_list("account_id")
        .annotate(total=Sum("amount"))
        .values_list("account_id", "total")
    )
    for account_id, balance in CreditAccount.objects.values_list("pk", "balance"):
        report.accounts += 1
        if balance != (sums.get(account_id) or 0):
            report.problems.append(
                f"account {account_id}: balance {balance} but ledger sum "
                f"{sums.get(account_id) or 0}"
            )
    return report
