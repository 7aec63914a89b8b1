"""CSV exports of tasks and of the ledger, for a range of days, staff only."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from generations.models import CreditAccount, GenerationTask, LedgerEntry, State

pytestmark = pytest.mark.django_db

TASKS = reverse("export_tasks")
LEDGER = reverse("export_ledger")
RANGE = {"start": "2026-03-02", "end": "2026-03-03"}


@pytest.fixture
def staff_client(client: Client, staff: Any) -> Client:
    client.force_login(staff)
    return client


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=dt.UTC)


def make_task(owner: Any, created_at: dt.datetime, **fields: Any) -> GenerationTask:
    fields.setdefault("prompt", "a red kite over green hills")
    fields.setdefault("cost", 16)
    return GenerationTask.objects.create(owner=owner, created_at=created_at, **fields)


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_it_exports_the_tasks_of_a_range(staff_client: Client, alice: Any) -> None:
    make_task(alice, at(1, 23))  # the day before: out
    first = make_task(
        alice,
        at(2, 0),
        state=State.SUCCEEDED,
        provider_task_id="prov-1",
        provider_created_at=at(2, 1),
        provider_completed_at=at(2, 1) + dt.timedelta(seconds=42.5),
    )
    second = make_task(
        alice,
        at(3, 23),
        state=State.FAILED,
        fail_code="NSFW_DETECTED",
        fail_message="adult content",
        provider_cost_ms=61_000,
    )
    make_task(alice, at(4, 0))  # the day after: out

    response = staff_client.get(TASKS, RANGE)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="tasks-2026-03-02-to-2026-03-03.csv"'
    )
    rows = rows_of(response)
    assert [int(row["id"]) for row in rows] == [first.pk, second.pk]
    assert rows[0]["member"] == "alice"
    assert rows[0]["state"] == "succeeded"
    assert rows[0]["generation_seconds"] == "42.5"
    assert rows[0]["provider_task_id"] == "prov-1"
    assert rows[0]["created_at"] == "2026-03-02T00:00:00+00:00"
    assert rows[0]["prompt"] == "a red kite over green hills"
    assert rows[1]["fail_code"] == "NSFW_DETECTED"
    assert rows[1]["fail_message"] == "adult content"
    assert rows[1]["generation_seconds"] == "61.0"


def test_it_exports_the_ledger_of_a_range(
    staff_client: Client, alice: Any, staff: Any
) -> None:
    account = CreditAccount.objects.get(user=alice)
    task = make_task(alice, at(2))
    LedgerEntry.objects.filter(account=account).update(created_at=at(1))  # out
    LedgerEntry.objects.create(
        account=account, kind="hold", amount=-16, task=task, created_at=at(2)
    )
    LedgerEntry.objects.create(
        account=account,
        kind="grant",
        amount=500,
        created_by=staff,
        reason="April budget",
        created_at=at(3),
    )

    rows = rows_of(staff_client.get(LEDGER, RANGE))

    assert [(r["kind"], r["amount"], r["task"]) for r in rows] == [
        ("hold", "-16", str(task.pk)),
        ("grant", "500", ""),
    ]
    assert rows[1]["member"] == "alice"
    assert rows[1]["created_by"] == "sam"
    assert rows[1]["reason"] == "April budget"


def test_it_defuses_spreadsheet_formulas(staff_client: Client, alice: Any) -> None:
    make_task(alice, at(2), prompt='=HYPERLINK("http://evil","click")')
    [row] = rows_of(staff_client.get(TASKS, RANGE))
    assert row["prompt"] == '\'=HYPERLINK("http://evil","click")'


def test_it_defaults_to_the_last_fourteen_days(
    staff_client: Client, alice: Any
) -> None:
    recent = make_task(alice, dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    make_task(alice, dt.datetime.now(dt.UTC) - dt.timedelta(days=30))
    rows = rows_of(staff_client.get(TASKS))
    assert [int(row["id"]) for row in rows] == [recent.pk]


@pytest.mark.parametrize(
    "query",
    [
        {"start": "yesterday"},
        {"start": "2026-03-05", "end": "2026-03-01"},
        {"end": "2026-02-30"},
    ],
)
def test_it_rejects_bad_ranges(staff_client: Client, query: dict[str, str]) -> None:
    for url in (TASKS, LEDGER):
        assert staff_client.get(url, query).status_code == 400


@pytest.mark.parametrize("url", [TASKS, LEDGER])
def test_it_is_for_staff_only(client: Client, alice: Any, url: str) -> None:
    assert client.get(url).status_code == 302  # anonymous: log in first
    client.force_login(alice)
    assert client.get(url, RANGE).status_code == 403
    assert client.post(url).status_code == 405


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'nice cat;=HYPERLINK("http://evil","x")',
            'nice cat;\'=HYPERLINK("http://evil","x")',
        ),
        ("a red kite, +cmd|' /C calc'!A0", "a red kite, '+cmd|' /C calc'!A0"),
        ("first line\n@SUM(1+1)", "first line\n'@SUM(1+1)"),
        ("  =1+1", "'  =1+1"),
        ("\uff1dHYPERLINK()", "'\uff1dHYPERLINK()"),
        ("a calm sea - slow dolly, 4 s", "a calm sea - slow dolly, 4 s"),
    ],
)
def test_it_defuses_formulas_after_a_separator(
    staff_client: Client, alice: Any, text: str, expected: str
) -> None:
    make_task(alice, at(2), prompt=text)
    [row] = rows_of(staff_client.get(TASKS, RANGE))
    assert row["prompt"] == expected


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-03-01", "end": "9999-12-31"},
        {"start": "0001-01-01", "end": "2026-03-01"},
        {"end": "0001-01-01"},
    ],
)
def test_it_refuses_dates_out_of_range_without_failing(
    staff_client: Client, query: dict[str, str]
) -> None:
    for url in (TASKS, LEDGER):
        response = staff_client.get(url, query)
        assert response.status_code == 400
        assert b"between" in response.content or b"dates" in response.content
