"""Backup of a running studio (real processes writing), restore into a fresh
directory, every video checked against its sha256, every balance against its
ledger (generations/ops/backup.py)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from generations import credits
from generations.models import GenerationTask, State, VideoAsset
from generations.ops import backup
from tests.factories import queue_task
from tests.processes import ROOT, Stack, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def keep_granting(user: Any, stop: threading.Event, done: list[int]) -> None:
    """Ledger writes from another thread while the backup runs."""
    try:
        while not stop.is_set():
            credits.grant(user=user, amount=1, reason="during the backup")
            done.append(1)
    finally:
        connection.close()


class FreshDatabase:
    """An empty database of the test's engine to restore into, and raw SQL on it
    (checked without the studio's code)."""

    def __init__(self, directory: Path) -> None:
        self.vendor = connection.vendor
        db = connection.settings_dict
        if self.vendor == "sqlite":
            self.path = directory / "data" / "db.sqlite3"  # restore makes data/
            self.url = f"sqlite://{self.path}"
            return
        import psycopg

        self.name = f"{db['NAME']}_restored"[:63]
        self.params = {
            "host": db["HOST"] or "127.0.0.1",
            "port": db["PORT"] or 5432,
            "user": db["USER"],
            "password": db["PASSWORD"] or None,
        }
        with psycopg.connect(dbname="postgres", autocommit=True, **self.params) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            c.execute(f'CREATE DATABASE "{self.name}"')
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        self.url = (
            f"postgres://{auth}@{self.params['host']}:{self.params['port']}/{self.name}"
        )

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.vendor == "sqlite":
            with sqlite3.connect(self.path) as db:
                return db.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(dbname=self.name, **self.params) as db:
            return db.execute(sql).fetchall()

    def drop(self) -> None:
        if self.vendor == "sqlite":
            return
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **self.params) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.mark.slow
def test_it_backs_up_a_running_studio_and_restores_it(
    stack: Stack, alice: Any, bob: Any, tmp_path: Path
) -> None:
    stack.start_simulator()
    stack.start_dispatcher()
    stack.start_workers()
    for _ in range(2):
        queue_task(alice)
        queue_task(bob)
    wait_until(lambda: VideoAsset.objects.count() >= 3, 120, "three videos")
    for _ in range(4):
        queue_task(alice, duration=8)
    stop, grants = threading.Event(), []
    writer = threading.Thread(target=keep_granting, args=(bob, stop, grants))
    writer.start()
    try:
        made = manage(stack.env, "backup", "--output", str(tmp_path / "backups"))
    finally:
        stop.set()
        writer.join()
    assert made.returncode == 0, made.stderr
    assert grants  # the ledger was written to while the backup ran
    [snapshot] = list((tmp_path / "backups").glob("seedance-*"))
    assert not list((tmp_path / "backups").glob(".*partial"))

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    target = FreshDatabase(fresh)
    try:
        check_restore(stack, snapshot, fresh, target)
    finally:
        target.drop()


def check_restore(stack: Stack, snapshot: Path, fresh: Path, db: FreshDatabase) -> None:
    env = {
        **stack.env,
        "VAR_DIR": str(fresh / "var"),
        "DATABASE_URL": db.url,
        "MEDIA_ROOT": str(fresh / "media"),
    }
    restored = manage(env, "restore", str(snapshot))
    assert restored.returncode == 0, restored.stderr
    assert "all match" in restored.stdout

    # Checked again here, without the studio's code: the restored files and rows.
    videos = db.query("SELECT file, sha256 FROM generations_videoasset")
    assert len(videos) >= 3
    for name, digest in videos:
        assert sha256(fresh / "media" / name) == digest
    balances = db.query(
        "SELECT a.id, a.balance, (SELECT COALESCE(SUM(amount), 0) FROM "
        "generations_ledgerentry e WHERE e.account_id = a.id) "
        "FROM generations_creditaccount a"
    )
    assert len(balances) == 2
    for _, balance, ledger in balances:
        assert balance == ledger
    assert db.query("SELECT COUNT(*) FROM generations_generationtask") == [(8,)]
    manifest = json.loads((snapshot / "manifest.json").read_text())
    for item in manifest["media"]:
        assert sha256(fresh / "media" / item["path"]) == item["sha256"]


def test_it_refuses_a_damaged_backup_before_touching_anything(
    alice: Any, tmp_path: Path, settings: Any
) -> None:
    video = tmp_path / "media" / "videos" / "a.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42 video bytes")
    call_command("backup", "--output", str(tmp_path / "backups"), stdout=_null())
    [snapshot] = list((tmp_path / "backups").glob("seedance-*"))
    copied = snapshot / "media" / "videos" / "a.mp4"
    copied.write_bytes(copied.read_bytes() + b"!")
    settings.MEDIA_ROOT = tmp_path / "restore-media"
    with pytest.raises(CommandError, match="damaged"):
        call_command("restore", str(snapshot))
    assert not (tmp_path / "restore-media").exists()


def test_it_refuses_to_restore_over_a_studio_in_use(
    alice: Any, tmp_path: Path, settings: Any
) -> None:
    queue_task(alice)
    call_command("backup", "--output", str(tmp_path / "backups"), stdout=_null())
    [snapshot] = list((tmp_path / "backups").glob("seedance-*"))
    settings.MEDIA_ROOT = tmp_path / "restore-media"
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(snapshot))
    assert GenerationTask.objects.get().state == State.QUEUED  # nothing touched


def test_it_refuses_a_directory_that_is_not_a_backup(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not a complete backup"):
        call_command("restore", str(tmp_path))


def test_it_keeps_only_the_newest_backups(tmp_path: Path) -> None:
    import datetime as dt

    from django.utils import timezone

    start = timezone.now()
    for minutes in range(4):
        backup.create_backup(
            destination=tmp_path, now=start + dt.timedelta(minutes=minutes)
        )
    removed = backup.prune(destination=tmp_path, keep=2)
    assert len(removed) == 2
    left = sorted(p.name for p in tmp_path.glob("seedance-*"))
    assert left == sorted(p.name for p in tmp_path.glob("seedance-*"))[-2:]
    assert len(left) == 2
    assert min(left) > max(p.name for p in removed)


def _null() -> Any:
    return open(os.devnull, "w")  # noqa: SIM115


def test_it_refuses_to_write_a_backup_into_the_media_it_copies(
    tmp_path: Path, settings: Any
) -> None:
    with pytest.raises(CommandError, match="inside MEDIA_ROOT"):
        call_command("backup", "--output", str(Path(settings.MEDIA_ROOT) / "b"))


@pytest.mark.usefixtures("media_storage")
def test_it_names_the_bucket_and_checks_its_videos(
    tmp_path: Path, alice: Any, media_storage: str
) -> None:
    """With media in a bucket the backup holds the database only (the bucket's
    versioning keeps the files, README: Backups); the restore check still reads
    every video from wherever media lives."""
    from generations import media_store
    from tests.factories import make_finished_task, video_bytes

    task = make_finished_task(alice)
    VideoAsset.objects.filter(task=task).update(
        sha256=hashlib.sha256(video_bytes(task)).hexdigest()
    )
    path = backup.create_backup(destination=tmp_path / "backups")
    manifest = backup.read_manifest(path)
    assert manifest["media_location"] == media_store.describe()
    if media_storage == "s3":
        assert manifest["media"] == []
        assert not (path / "media").exists()
    else:
        assert {item["path"] for item in manifest["media"]} >= {task.video.file.name}
    assert backup.verify_restored().problems == []
    media_store.remove(task.video.file.name)
    assert backup.verify_restored().problems == [
        f"video {task.video.pk}: {task.video.file.name} is missing"
    ]
