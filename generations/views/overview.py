"""The staff overview page: the team at a glance, refreshed live with htmx.

The numbers come from ``generations.overview``; this module only lays them out,
including the charts, which are inline SVG computed here (no script, no CDN).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext, ngettext, pgettext
from django.views.decorators.http import require_GET

from generations import overview as stats
from generations.models import FailCode, State
from generations.pipeline import schedule
from generations.views.cards import STATE_TONES
from generations.views.common import AuthedHttpRequest

View = Callable[[AuthedHttpRequest], HttpResponse]
TEMPLATE = "generations/overview.html"
REFRESH_SECONDS = 10
# Bottom to top in the stacked bars: finished first, then work still moving.
STACK_ORDER = [
    State.SUCCEEDED,
    State.FAILED,
    State.CANCELLED,
    State.DOWNLOADING,
    State.GENERATING,
    State.WAITING,
    State.SUBMITTING,
    State.QUEUED,
    State.UNKNOWN,
]


def require_staff(request: AuthedHttpRequest) -> None:
    if not request.user.is_staff:
        raise PermissionDenied(gettext("Staff only."))


def staff_page(view: View) -> View:
    """Staff only: members get 403, visitors the login page.

    (A live refresh whose session ended is sent to the login page as a whole
    page by generations.middleware.HtmxLoginRedirectMiddleware.)
    """

    @wraps(view)
    def wrapper(request: AuthedHttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        require_staff(request)
        return view(request)

    return wrapper


@require_GET
@staff_page
def staff_overview(request: AuthedHttpRequest) -> HttpResponse:
    data = stats.overview()
    today = timezone.localdate(data.now)
    from generations.views.ops import breaker_panel_context

    context = {
        "overview": data,
        **breaker_panel_context(),
        "refresh_seconds": REFRESH_SECONDS,
        "history_minutes": stats.HISTORY_CACHE_SECONDS // 60,
        "tasks_chart": tasks_chart(data.tasks),
        "spend_chart": spend_chart(data.spend),
        "spend_summary": spend_summary(data.spend),
        "time_rows": time_rows(data.times),
        "time_scale": schedule.time_scale(),
        "rate_meter": Meter.of(
            data.usage.requests_last_minute or 0,
            data.usage.provider_rate_limit,
            data.usage.request_budget,
        ),
        "slot_meter": Meter.of(
            data.usage.at_provider,
            data.usage.provider_slot_limit,
            data.usage.slot_limit,
        ),
        "legend": legend(data.tasks),
        "export_start": today - dt.timedelta(days=stats.WINDOW_DAYS - 1),
        "export_end": today,
        "success_percent": percent(data.tasks.success_rate),
        "attention_counts": [
            (label, data.attention.counts.get(kind, 0), attention_list_url(kind))
            for kind, label in stats.ATTENTION_KINDS.items()
        ],
        "failures_shown": data.tasks.failures[: stats.FAILURE_CODES_SHOWN],
        "failures_more": data.tasks.failures[stats.FAILURE_CODES_SHOWN :],
        "attention_rows": [
            AttentionRow(item, STATE_TONES.get(item.task.state, "neutral"))
            for item in data.attention.items
        ],
    }
    template = TEMPLATE + "#live" if request.htmx else TEMPLATE
    return render(request, template, context)


def percent(share: float | None) -> str:
    if share is None:
        return "—"
    # The active language's decimal sign: 66.7% in English, 66,7% in Russian.
    value = round(100 * share, 1)
    return number_format(value, decimal_pos=0 if value.is_integer() else 1) + "%"


# The admin's task list, filtered to each kind of attention where a filter says it.
ATTENTION_FILTERS: dict[str, dict[str, str]] = {
    "unknown": {"state__exact": State.UNKNOWN},
    "unconfirmed": {
        "state__exact": State.FAILED,
        "fail_code": FailCode.SUBMISSION_UNCONFIRMED,
    },
    "download": {"state__exact": State.DOWNLOADING},
    "delivery": {"state__exact": State.SUCCEEDED, "delivery_mismatch__exact": "1"},
}


def attention_list_url(kind: str) -> str:
    if kind not in ATTENTION_FILTERS:
        return ""
    url = reverse("admin:generations_generationtask_changelist")
    return f"{url}?{urlencode(ATTENTION_FILTERS[kind])}"


@dataclass(frozen=True)
class AttentionRow:
    item: stats.AttentionItem
    tone: str


# --- Bar charts -----------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    y: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Column:
    x: float
    width: float
    label: str
    total: int
    title: str
    segments: list[Segment]
    show_label: bool

    @property
    def center(self) -> float:
        return self.x + self.width / 2

    @property
    def total_y(self) -> float:
        """Where the total is written: just above the column."""
        return min((s.y for s in self.segments), default=BarChart.BASELINE) - 4


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class BarChart:
    WIDTH = 640
    HEIGHT = 220
    LEFT = 40
    TOP = 12
    BASELINE = 190

    columns: list[Column]
    ticks: list[Tick]
    empty: bool

    @property
    def plot_right(self) -> int:
        return self.WIDTH - 8


def _day_format() -> str:
    return pgettext("date format: a day with its weekday", "D M j")


NICE_STEPS = (1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10)


def nice_ceiling(value: float, ticks: int = 4) -> int:
    """The top of an axis of ``ticks`` round steps that reaches ``value``."""
    if value <= ticks:
        return ticks
    raw = value / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    # Whole steps only: a tick at 1.5 tasks means nothing.
    step = next(
        s * power for s in NICE_STEPS if s * power >= raw and (s * power) % 1 == 0
    )
    return int(round(step * ticks))


def bar_chart(
    days: Sequence[dt.date],
    stacks: Sequence[list[tuple[str, int, str]]],
    count_text: Callable[[int], str],
) -> BarChart:
    """Stacked columns, one per day; a stack is (css class, value, title) bottom up."""
    totals = [sum(value for _, value, _ in stack) for stack in stacks]
    top = nice_ceiling(max(totals, default=0))
    plot_height = BarChart.BASELINE - BarChart.TOP
    scale = plot_height / top
    slot = (BarChart.WIDTH - 8 - BarChart.LEFT) / max(1, len(days))
    width = slot * 0.66
    columns = []
    for i, (day, stack, total) in enumerate(zip(days, stacks, totals, strict=True)):
        x = BarChart.LEFT + i * slot + (slot - width) / 2
        y = float(BarChart.BASELINE)
        segments = []
        for css, value, title in stack:
            if not value:
                continue
            height = value * scale
            y -= height
            segments.append(Segment(round(y, 2), round(height, 2), css, title))
        columns.append(
            Column(
                x=round(x, 2),
                width=round(width, 2),
                label=date_format(day, pgettext("date format: a chart's day", "M j")),
                total=total,
                title=f"{date_format(day, _day_format())}: {count_text(total)}",
                segments=segments,
                show_label=(len(days) - 1 - i) % 2 == 0,
            )
        )
    ticks = [
        Tick(round(BarChart.BASELINE - plot_height * k / 4, 2), _short(top * k / 4))
        for k in range(5)
    ]
    return BarChart(columns=columns, ticks=ticks, empty=not any(totals))


def _short(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def tasks_chart(tasks: stats.TaskStats) -> BarChart:
    labels = dict(State.choices)
    stacks = [
        [
            (
                f"state-{state}",
                day.counts.get(state, 0),
                f"{labels[state]}: {day.counts.get(state, 0)}",
            )
            for state in STACK_ORDER
        ]
        for day in tasks.days
    ]
    return bar_chart([day.day for day in tasks.days], stacks, _tasks_text)


def spend_chart(spend: stats.SpendStats) -> BarChart:
    stacks = [
        [("fill-accent", credits, _credits_text(credits))] for _, credits in spend.days
    ]
    return bar_chart([day for day, _ in spend.days], stacks, _credits_text)


def _tasks_text(count: int) -> str:
    return ngettext("%(count)s task", "%(count)s tasks", count) % {"count": count}


def _credits_text(count: int) -> str:
    return ngettext("%(count)s credit", "%(count)s credits", count) % {"count": count}


@dataclass(frozen=True)
class SpendSummary:
    average: float
    busiest: int
    busiest_day: dt.date
    today: int


def spend_summary(spend: stats.SpendStats) -> SpendSummary | None:
    if not spend.total:
        return None
    busiest_day, busiest = max(spend.days, key=lambda day: day[1])
    return SpendSummary(
        average=spend.total / len(spend.days),
        busiest=busiest,
        busiest_day=busiest_day,
        today=spend.days[-1][1],
    )


@dataclass(frozen=True)
class LegendItem:
    state: str
    label: str
    css: str
    count: int


def legend(tasks: stats.TaskStats) -> list[LegendItem]:
    labels = dict(State.choices)
    return [
        LegendItem(state, str(labels[state]), f"state-{state}", count)
        for state in STACK_ORDER
        if (count := tasks.total(state))
    ]


# --- Generation times -----------------------------------------------------------------


@dataclass(frozen=True)
class TimeRow:
    time: stats.GenerationTime
    median_x: float | None
    p95_x: float | None
    band_x: float
    band_width: float
    documented: tuple[float, float]  # at the provider's pace (simulator: scaled)


TIME_WIDTH = 300


def time_rows(times: list[stats.GenerationTime]) -> list[TimeRow]:
    """Median and p95 bars against the documented range, on one shared scale."""
    scale = schedule.time_scale()
    documented = {
        t.duration: (t.documented[0] / scale, t.documented[1] / scale) for t in times
    }
    longest = max(
        [high for _, high in documented.values()] + [t.p95 or 0 for t in times]
    )
    per_second = TIME_WIDTH / (longest * 1.1 or 1)
    rows = []
    for t in times:
        low, high = documented[t.duration]
        rows.append(
            TimeRow(
                time=t,
                median_x=round(t.median * per_second, 1) if t.median else None,
                p95_x=round(t.p95 * per_second, 1) if t.p95 else None,
                band_x=round(low * per_second, 1),
                band_width=round((high - low) * per_second, 1),
                documented=(low, high),
            )
        )
    return rows


# --- Meters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Meter:
    """A value against the provider's limit, with our own (lower) cap marked."""

    WIDTH = 300

    value: int
    limit: int
    ours: int
    fill: float
    ours_x: float
    tone: str

    @classmethod
    def of(cls, value: int, limit: int, ours: int) -> Meter:
        share = min(1.0, value / limit) if limit else 0.0
        tone = "danger" if value >= ours else "warning" if value >= 0.8 * ours else "ok"
        return cls(
            value=value,
            limit=limit,
            ours=ours,
            fill=round(share * cls.WIDTH, 1),
            ours_x=round(min(1.0, ours / limit) * cls.WIDTH, 1) if limit else 0.0,
            tone=tone,
        )

    @property
    def percent(self) -> int:
        return round(100 * self.value / self.limit) if self.limit else 0
