"""A task as a card: what the member sees at a glance, computed without queries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext, ngettext

from generations.apixo import contract
from generations.durations import format_seconds
from generations.models import IN_FLIGHT_STATES, GenerationTask, State
from generations.params import GenerationParams
from generations.pipeline import schedule
from generations.views.common import url_pattern

# The Studio page; its partials render the cards (the page's and the live poll's).
STUDIO_TEMPLATE = "generations/dashboard.html"

# Progress is an estimate from the documented generation times; it never claims
# to be done before the video is in our storage.
PROGRESS_CAP = 95

STATE_TONES: dict[str, str] = {
    State.QUEUED: "neutral",
    State.SUBMITTING: "info",
    State.WAITING: "info",
    State.GENERATING: "active",
    State.DOWNLOADING: "active",
    State.SUCCEEDED: "success",
    State.FAILED: "danger",
    State.UNKNOWN: "warning",
    State.CANCELLED: "muted",
}


def expected_seconds(duration: int) -> int:
    """The provider's usual time, at the pace of the configured provider.

    The simulator runs faster than the real provider (the overview scales its
    times the same way): an estimate must not say 48 s for a 5 s job.
    """
    low, high = contract.GENERATION_SECONDS.get(duration, (60.0, 120.0))
    return max(1, round((low + high) / 2 / schedule.time_scale()))


@dataclass(frozen=True)
class BatchSummary:
    """One create that made several videos: "10 videos: 7 done, 3 running"."""

    batch: uuid.UUID
    counts: Counter[str]

    @property
    def dom_id(self) -> str:
        return f"batch-{self.batch.hex}"

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def label(self) -> str:
        running = sum(self.counts[state] for state in IN_FLIGHT_STATES)
        parts = [
            (self.counts[State.SUCCEEDED], gettext("%(count)s done")),
            (running, gettext("%(count)s running")),
            (self.counts[State.FAILED], gettext("%(count)s failed")),
            (self.counts[State.CANCELLED], gettext("%(count)s cancelled")),
        ]
        found = ", ".join(text % {"count": count} for count, text in parts if count)
        return ngettext(
            "%(count)s video: %(found)s", "%(count)s videos: %(found)s", self.total
        ) % {"count": self.total, "found": found}


def batch_summaries(tasks: list[GenerationTask]) -> dict[uuid.UUID, BatchSummary]:
    """The summaries of the batches these tasks belong to, in one query."""
    batches = {task.batch for task in tasks if task.batch is not None}
    counts: dict[uuid.UUID, Counter[str]] = {batch: Counter() for batch in batches}
    rows = (
        GenerationTask.objects.filter(batch__in=batches, hidden=False)
        .values_list("batch", "state")
        .order_by()
    )
    for batch, state in rows:
        if batch is not None:
            counts[batch][state] += 1
    return {batch: BatchSummary(batch, found) for batch, found in counts.items()}


def cards_of(tasks: list[GenerationTask], now: dt.datetime) -> list[TaskCard]:
    """Cards newest first; the first card of each batch carries its summary."""
    summaries = batch_summaries(tasks)
    links = CardLinks.build() if tasks else None
    cards = []
    for task in tasks:
        head = summaries.pop(task.batch, None) if task.batch else None
        cards.append(TaskCard(task, now, batch_head=head, links=links))
    return cards


@dataclass(frozen=True)
class CardLinks:
    """A card's links as ``{pk}`` patterns: reversed once for a list of cards."""

    cancel: str
    move_top: str
    retry: str
    hide: str
    detail: str
    player: str
    poster: str
    continue_from: str

    @classmethod
    def build(cls) -> CardLinks:
        names = (
            "task_cancel",
            "task_move_top",
            "task_retry",
            "task_hide",
            "video_detail",
            "task_player",
            "video_poster",
            "video_continue",
        )
        return cls(*(url_pattern(name) for name in names))


@dataclass(frozen=True)
class TaskCard:
    task: GenerationTask
    now: dt.datetime
    batch_head: BatchSummary | None = None
    links: CardLinks | None = None  # built for this card alone if not given

    @cached_property
    def _links(self) -> CardLinks:
        return self.links or CardLinks.build()

    def _link(self, pattern: str) -> str:
        return pattern.format(pk=self.task.pk)

    @property
    def cancel_url(self) -> str:
        return self._link(self._links.cancel)

    @property
    def move_top_url(self) -> str:
        return self._link(self._links.move_top)

    @property
    def retry_url(self) -> str:
        return self._link(self._links.retry)

    @property
    def hide_url(self) -> str:
        return self._link(self._links.hide)

    @property
    def detail_url(self) -> str:
        return self._link(self._links.detail)

    @property
    def player_url(self) -> str:
        return self._link(self._links.player)

    @property
    def poster_url(self) -> str:
        return self._link(self._links.poster)

    @property
    def continue_url(self) -> str:
        return self._link(self._links.continue_from)

    @property
    def tone(self) -> str:
        return STATE_TONES.get(self.task.state, "neutral")

    @property
    def elapsed_seconds(self) -> int:
        end = self.task.finished_at or self.now
        return max(0, int((end - self.task.created_at).total_seconds()))

    @property
    def elapsed_label(self) -> str:
        return format_seconds(self.elapsed_seconds)

    @property
    def expected_seconds(self) -> int:
        return expected_seconds(self.task.duration)

    @property
    def since_submit_seconds(self) -> int:
        if self.task.submitted_at is None:
            return 0
        end = self.task.finished_at or self.now
        return max(0, int((end - self.task.submitted_at).total_seconds()))

    @property
    def show_progress(self) -> bool:
        return self.task.state not in {State.FAILED, State.CANCELLED}

    @property
    def progress(self) -> int:
        if self.task.state == State.SUCCEEDED:
            return 100
        if self.task.submitted_at is None:
            return 0
        ratio = self.since_submit_seconds / max(1, self.expected_seconds)
        return min(PROGRESS_CAP, int(ratio * 100))

    @property
    def eta_label(self) -> str:
        state = self.task.state
        if state == State.QUEUED:
            return gettext("Waiting for a free slot")
        if state == State.DOWNLOADING:
            return gettext("Copying the video to our storage")
        if state == State.UNKNOWN:
            return gettext("Checking with the provider")
        left = self.expected_seconds - self.since_submit_seconds
        if left <= 0:
            return gettext("Taking longer than usual")
        return gettext("About %(duration)s left") % {"duration": format_seconds(left)}

    @property
    def can_cancel(self) -> bool:
        return self.task.state == State.QUEUED

    @property
    def can_retry(self) -> bool:
        return self.task.state in {State.FAILED, State.CANCELLED}

    @property
    def can_hide(self) -> bool:
        return self.task.is_terminal

    @property
    def remix_url(self) -> str:
        return remix_url(self.task)


def remix_url(task: GenerationTask) -> str:
    """The dashboard with the create form prefilled from this task."""
    query = GenerationParams.from_task(task).as_query()
    return f"{reverse('dashboard')}?{urlencode(query)}#create"
