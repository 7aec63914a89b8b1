"""Tasks that need staff attention."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, ngettext

from generations.models import (
    POLLED_STATES,
    FailCode,
    GenerationTask,
    State,
)
from generations.overview.common import (
    ATTENTION_ROWS,
    DOWNLOAD_FAILING_ATTEMPTS,
    _ago,
    _seconds,
    day_starts,
)
from generations.pipeline import schedule

log = logging.getLogger(__name__)

# --- Tasks that need attention --------------------------------------------------------


@dataclass(frozen=True)
class AttentionItem:
    kind: str  # unknown | unconfirmed | delayed | download | delivery
    task: GenerationTask
    why: str

    @property
    def label(self) -> str:
        return str(ATTENTION_KINDS[self.kind])


@dataclass(frozen=True)
class Attention:
    items: list[AttentionItem]
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


ATTENTION_KINDS: dict[str, Promise] = {
    "unknown": gettext_lazy("Outcome unknown"),
    "unconfirmed": gettext_lazy("Unconfirmed, not resubmitted"),
    "delayed": gettext_lazy("Delayed"),
    "download": gettext_lazy("Download failing"),
    "delivery": gettext_lazy("Delivered off the order"),
}


def attention(now: dt.datetime, rows: int = ATTENTION_ROWS) -> Attention:
    """Tasks staff should look at, oldest problem first, at most ``rows`` per kind.

    - unknown: we cannot tell whether the provider accepted the submission;
    - unconfirmed: failed as SUBMISSION_UNCONFIRMED in the window and not
      resubmitted (staff may resubmit them from the admin);
    - delayed: at the provider for longer than ``DELAYED_FACTOR`` times the slowest
      read its poll plan expects (``schedule.is_delayed``);
    - download: finished at the provider, but copying the video failed twice or more;
    - delivery: delivered today, but the video differs from the order (charged only
      for what arrived; ``pipeline.delivery``).
    """
    base = GenerationTask.objects.select_related("owner")
    queries: dict[str, tuple[QuerySet[GenerationTask], list[str]]] = {
        "unknown": (base.filter(state=State.UNKNOWN), ["state_changed_at"]),
        "unconfirmed": (
            base.filter(
                state=State.FAILED,
                fail_code=FailCode.SUBMISSION_UNCONFIRMED,
                created_at__gte=day_starts(now)[0],
                retries__isnull=True,
            ),
            ["finished_at"],
        ),
        "delayed": (base.filter(delayed_q(now)), ["submitted_at"]),
        "download": (
            base.filter(
                state=State.DOWNLOADING,
                download_attempts__gte=DOWNLOAD_FAILING_ATTEMPTS,
            ),
            ["state_changed_at"],
        ),
        "delivery": (
            base.filter(
                state=State.SUCCEEDED,
                delivery_mismatch=True,
                finished_at__gte=day_starts(now)[0],
            ),
            ["finished_at"],
        ),
    }
    items: list[AttentionItem] = []
    counts: dict[str, int] = {}
    for kind, (query, order) in queries.items():
        found = list(query.order_by(*order, "pk")[: rows + 1])
        counts[kind] = len(found) if len(found) <= rows else query.order_by().count()
        items.extend(
            AttentionItem(kind, task, _why(kind, task, now)) for task in found[:rows]
        )
    return Attention(items=items, counts=counts)


def delayed_q(now: dt.datetime) -> Q:
    """Tasks at the provider past their plan's slowest read times DELAYED_FACTOR."""
    kinds: Iterable[tuple[int, str, bool, str]] = (
        GenerationTask.objects.filter(state__in=POLLED_STATES)
        .order_by()
        .values_list("duration", "resolution", "sound", "routing")
        .distinct()
    )
    query = Q(pk__in=[])
    for duration, resolution, sound, routing in kinds:
        bound = delayed_after(duration, resolution, sound, routing)
        since = now - dt.timedelta(seconds=bound)
        query |= Q(
            Q(submitted_at__lt=since)
            | Q(submitted_at__isnull=True, created_at__lt=since),
            state__in=POLLED_STATES,
            duration=duration,
            resolution=resolution,
            sound=sound,
            routing=routing,
        )
    return query


def delayed_after(duration: int, resolution: str, sound: bool, routing: str) -> float:
    """Seconds after submission past which a task of this kind counts as delayed."""
    plan = schedule.plan_for(duration, resolution, sound, routing)
    return plan.slowest_expected * schedule.DELAYED_FACTOR


def _why(kind: str, task: GenerationTask, now: dt.datetime) -> str:
    return _reason(kind, task, now) + _callback_note(task, now)


def _reason(kind: str, task: GenerationTask, now: dt.datetime) -> str:
    if kind == "unknown":
        since = _ago(task.state_changed_at, now)
        reason = gettext("No clear answer to the submission, %(since)s ago.") % {
            "since": since
        }
        if task.provider_task_id:
            reason += " " + gettext("Provider task id %(id)s.") % {
                "id": task.provider_task_id
            }
        return reason
    if kind == "unconfirmed":
        return gettext(
            "Failed as unconfirmed: the member was not charged. Resubmit if wanted."
        )
    if kind == "delayed":
        started = task.submitted_at or task.created_at
        bound = delayed_after(task.duration, task.resolution, task.sound, task.routing)
        said = f" ({task.provider_says})" if task.provider_says else ""
        return gettext(
            "At the provider for %(elapsed)s%(said)s; delayed after %(bound)s."
        ) % {"elapsed": _ago(started, now), "said": said, "bound": _seconds(bound)}
    if kind == "delivery":
        return (
            "; ".join(task.delivery_notes)
            + ". "
            + gettext("Charged only for what arrived.")
        )
    return ngettext(
        "%(count)s download attempt failed.",
        "%(count)s download attempts failed.",
        task.download_attempts,
    ) % {"count": task.download_attempts}


def _callback_note(task: GenerationTask, now: dt.datetime) -> str:
    """Whether the provider had called back: it proves it received the task."""
    if task.callback_received_at is None or task.state == State.SUCCEEDED:
        return ""
    return " " + gettext("A callback arrived %(ago)s ago.") % {
        "ago": _ago(task.callback_received_at, now)
    }
