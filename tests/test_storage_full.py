"""A full media disk during a download: the task waits with backoff (never
failed for it), staff see an alert on the overview and in /metrics, and the
download goes through once there is space. The real-disk version (a small tmpfs)
is in tests/test_faults.py."""

from __future__ import annotations

import errno
from typing import Any

import pytest
from django.urls import reverse

from generations.apixo.simulator.running import RunningSimulator
from generations.models import State
from generations.ops import metrics
from generations.pipeline import download
from tests.factories import queue_task
from tests.sim import assert_books_balance, drive, drive_until_downloads_failed

pytestmark = pytest.mark.django_db(transaction=True)


class FullDisk:
    """A file on a disk with no space left: every write fails with ENOSPC."""

    def __init__(self, fd: int, *args: Any) -> None:
        import os

        os.close(fd)

    def __enter__(self) -> FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def gauge() -> float:
    text = metrics.render().decode()
    line = next(
        row
        for row in text.splitlines()
        if row.startswith("seedance_downloads_waiting_for_storage ")
    )
    return float(line.split()[1])


def test_a_full_disk_makes_the_download_wait_with_an_alert(
    sim: RunningSimulator, alice: Any, staff: Any, client: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(download.os, "fdopen", FullDisk)
    task = queue_task(alice)
    drive_until_downloads_failed(task, 2)
    task.refresh_from_db()
    assert task.state == State.DOWNLOADING  # waiting, not failed
    assert task.last_error == download.STORAGE_FULL
    assert task.next_action_at is not None and task.lease_until is None
    assert list(download.waiting_for_storage()) == [task]
    assert gauge() == 1.0

    client.force_login(staff)
    page = client.get(reverse("staff_overview")).content.decode()
    assert 'id="alert-storage-full"' in page
    assert "The media storage is full: 1 finished video waits" in page

    monkeypatch.undo()  # space freed
    drive(timeout=60)
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED
    assert gauge() == 0.0
    assert (
        'id="alert-storage-full"'
        not in client.get(reverse("staff_overview")).content.decode()
    )
    assert_books_balance()


def test_other_storage_errors_are_not_taken_for_a_full_disk(
    sim: RunningSimulator, alice: Any, monkeypatch: Any
) -> None:
    def refused(fd: int, *args: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(download.os, "fdopen", refused)
    task = queue_task(alice)
    with pytest.raises(PermissionError):  # a real fault, left to the job's error log
        drive(timeout=30)
    task.refresh_from_db()
    assert task.state == State.DOWNLOADING
    assert task.last_error != download.STORAGE_FULL
    assert not download.waiting_for_storage().exists()
