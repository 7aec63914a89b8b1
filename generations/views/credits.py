"""The member's credits page: balance, what is held, spend by week, the ledger."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, TruncWeek
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from generations import credits
from generations.models import GenerationTask, LedgerEntry, State
from generations.views.common import AuthedHttpRequest

PAGE_SIZE = 50
WEEKS = 12
CHART_WIDTH = 600
CHART_HEIGHT = 140


@dataclass(frozen=True)
class WeekBar:
    start: dt.date
    credits: int
    x: int
    y: int
    width: int
    height: int


@login_required
@require_GET
def credit_history(request: AuthedHttpRequest) -> HttpResponse:
    before = request.GET.get("before", "")
    if before and not before.isdecimal():
        return HttpResponseBadRequest("before must be a ledger entry number")
    account = credits.account_for(request.user)
    entries = (
        LedgerEntry.objects.filter(account=account)
        .select_related("task", "created_by")
        .order_by("-id")
    )
    if before:
        entries = entries.filter(id__lt=int(before))
    page = list(entries[: PAGE_SIZE + 1])
    settled = LedgerEntry.objects.filter(
        task_id=OuterRef("task_id"), kind__in=["capture", "release"]
    )
    held = (
        LedgerEntry.objects.filter(account=account, kind="hold")
        .exclude(Exists(settled))
        .aggregate(total=Sum("amount"))["total"]
    )
    context = {
        "account": account,
        "held": -(held or 0),
        "entries": page[:PAGE_SIZE],
        "next_before": page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None,
        "weeks": spend_by_week(request.user.pk, timezone.now()),
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
    }
    return render(request, "generations/credits.html", context)


_returned_on_capture = LedgerEntry.objects.filter(
    task_id=OuterRef("pk"), kind=LedgerEntry.Kind.CAPTURE
).values("amount")[:1]


def spend_by_week(owner_id: int, now: dt.datetime) -> list[WeekBar]:
    """Credits captured (delivered videos) per week, the last WEEKS weeks."""
    this_week = (now - dt.timedelta(days=now.weekday())).date()
    first = this_week - dt.timedelta(weeks=WEEKS - 1)
    rows = (
        GenerationTask.objects.filter(
            owner_id=owner_id,
            state=State.SUCCEEDED,
            finished_at__date__gte=first,
        )
        .annotate(
            week=TruncWeek("finished_at"),
            # A video delivered short of its order gave part of its cost back.
            returned=Coalesce(Subquery(_returned_on_capture), 0),
        )
        .values("week")
        .annotate(total=Sum(F("cost") - F("returned")))
    )
    totals = {row["week"].date(): int(row["total"]) for row in rows}
    peak = max(totals.values(), default=0) or 1
    slot = CHART_WIDTH // WEEKS
    bars = []
    for i in range(WEEKS):
        start = first + dt.timedelta(weeks=i)
        value = totals.get(start, 0)
        # Room below for the week label and above for the value label.
        height = round((CHART_HEIGHT - 36) * value / peak)
        bars.append(
            WeekBar(
                start=start,
                credits=value,
                x=i * slot + 4,
                y=CHART_HEIGHT - 18 - height,
                width=slot - 8,
                height=height,
            )
        )
    return bars
