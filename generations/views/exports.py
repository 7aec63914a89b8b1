"""CSV exports for staff: tasks and the credit ledger, for a range of days.

Rows are streamed from a database iterator, so a year of tasks never sits in
memory. Days are calendar days of the current time zone, both ends included.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from generations import security
from generations.models import GenerationTask, LedgerEntry
from generations.overview import WINDOW_DAYS
from generations.params import GenerationParams
from generations.pipeline.learning import generation_seconds
from generations.views.common import AuthedHttpRequest
from generations.views.overview import require_staff

CHUNK = 2000
# A cell starting with one of these is a formula to a spreadsheet (CSV injection),
# also after blanks, and in full-width form (U+FF1D, U+FF0B, U+FF0D, U+FF20).
FORMULA_SIGNS = "=+\\-@\uff1d\uff0b\uff0d\uff20"
FORMULA_AT_START = re.compile(rf"^[\t\r\n ]*[{FORMULA_SIGNS}\t\r]")
FORMULA_AFTER_SEPARATOR = re.compile(rf"([,;|\t\r\n] *)([{FORMULA_SIGNS}])")

TASK_COLUMNS = [
    "id",
    "created_at",
    "member",
    "state",
    *GenerationParams.setting_names(),
    "cost",
    "provider_task_id",
    "submitted_at",
    "provider_created_at",
    "provider_completed_at",
    "generation_seconds",
    "finished_at",
    "fail_code",
    "fail_message",
    "retry_of",
    "prompt",
]
LEDGER_COLUMNS = [
    "id",
    "created_at",
    "member",
    "kind",
    "amount",
    "task",
    "created_by",
    "reason",
]


class DateRangeError(ValueError):
    pass


def parse_range(query: Any, today: dt.date) -> tuple[dt.date, dt.date]:
    """``start`` and ``end`` (YYYY-MM-DD, both included); default the last 14 days."""
    try:
        end = dt.date.fromisoformat(query.get("end") or today.isoformat())
        start_text = query.get("start")
        start = (
            dt.date.fromisoformat(start_text)
            if start_text
            else end - dt.timedelta(days=WINDOW_DAYS - 1)
        )
    except (ValueError, OverflowError):
        raise DateRangeError("start and end must be dates (YYYY-MM-DD).") from None
    try:
        security.bounded_day(start)
        security.bounded_day(end)
    except security.UnboundedInput as exc:
        raise DateRangeError(str(exc)) from None
    if start > end:
        raise DateRangeError("start must not be after end.")
    return start, end


def bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time(), tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz),
    )


class _Echo:
    """A file-like object whose write returns the line, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def safe_text(value: str) -> str:
    """The cell with every formula a spreadsheet could run defused by a quote.

    A cell is split again at ``;``, ``,``, tabs or line breaks by spreadsheets
    that guess the separator, so a formula after any of them counts as well
    (``nice cat;=HYPERLINK(...)``), as do full-width forms of the signs.
    """
    value = FORMULA_AFTER_SEPARATOR.sub(r"\1'\2", value)
    return "'" + value if FORMULA_AT_START.match(value) else value


def _when(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).isoformat() if moment else ""


def stream_csv(
    header: list[str], rows: Iterable[list[Any]], filename: str
) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _export(
    request: AuthedHttpRequest,
    kind: str,
    columns: list[str],
    rows: QuerySet[Any],
    row: Callable[[Any], list[Any]],
) -> HttpResponse | StreamingHttpResponse:
    """The staff check, the day range (400 if malformed) and the streamed file of
    the ``rows`` created in it, oldest first."""
    require_staff(request)
    try:
        first, last = parse_range(request.GET, timezone.localdate())
    except DateRangeError as exc:
        return HttpResponseBadRequest(str(exc))
    since, until = bounds(first, last)
    in_range = rows.filter(created_at__gte=since, created_at__lt=until).order_by(
        "created_at", "id"
    )
    lines = (row(item) for item in in_range.iterator(chunk_size=CHUNK))
    return stream_csv(columns, lines, f"{kind}-{first}-to-{last}.csv")


@login_required
@require_GET
def export_tasks(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    tasks = GenerationTask.objects.select_related("owner")
    return _export(request, "tasks", TASK_COLUMNS, tasks, _task_row)


def _task_row(task: GenerationTask) -> list[Any]:
    took = generation_seconds(
        task.provider_created_at, task.provider_completed_at, task.provider_cost_ms
    )
    seconds: float | str = "" if took is None else round(took, 3)
    settings = GenerationParams.from_task(task).as_query()
    del settings["prompt"]  # last, as text a spreadsheet must not evaluate
    return [
        task.pk,
        _when(task.created_at),
        safe_text(task.owner.get_username()),
        task.state,
        *settings.values(),
        task.cost,
        safe_text(task.provider_task_id or ""),
        _when(task.submitted_at),
        _when(task.provider_created_at),
        _when(task.provider_completed_at),
        seconds,
        _when(task.finished_at),
        task.fail_code,
        safe_text(task.fail_message),
        task.retry_of_id or "",
        safe_text(task.prompt),
    ]


@login_required
@require_GET
def export_ledger(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    entries = LedgerEntry.objects.select_related("account__user", "created_by")
    return _export(request, "ledger", LEDGER_COLUMNS, entries, _ledger_row)


def _ledger_row(entry: LedgerEntry) -> list[Any]:
    return [
        entry.pk,
        _when(entry.created_at),
        safe_text(entry.account.user.get_username()),
        entry.kind,
        entry.amount,
        entry.task_id or "",
        safe_text(entry.created_by.get_username()) if entry.created_by else "",
        safe_text(entry.reason),
    ]
