"""Tasks that need staff attention."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, ngettext

from generations.models import (
    POLLED_STATES,
    FailCode,
    GenerationTask,
    State,
)
from generations.overview.census import Kind
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


def attention(
    now: dt.datetime,
    rows: int = ATTENTION_ROWS,
    polled_kinds: Iterable[Kind] | None = None,
) -> Attention:
    """Tasks staff should look at, oldest problem first, at most ``rows`` per kind.

    - unknown: we cannot tell whether the provider accepted the submission;
    - unconfirmed: failed as SUBMISSION_UNCONFIRMED in the window and not
      resubmitted (staff may resubmit them from the admin);
    - delayed: at the provider for longer than ``DELAYED_FACTOR`` times the slowest
      read its poll plan expects (``schedule.is_delayed``);
    - download: finished at the provider, but copying the video failed twice or more;
    - delivery: delivered today, but the video differs from the order (charged only
      for what arrived; ``pipeline.delivery``).

    One query: each kind is numbered by its own order and counted whole (window
    functions), and only the first ``rows`` of each are read.
    """
    since = day_starts(now)[0]
    # kind: (its states, which of those tasks, oldest problem first by).
    kinds: dict[str, tuple[frozenset[str], Any, str]] = {
        "unknown": (frozenset({State.UNKNOWN}), Q(), "state_changed_at"),
        "unconfirmed": (
            frozenset({State.FAILED}),
            Q(fail_code=FailCode.SUBMISSION_UNCONFIRMED, created_at__gte=since)
            & ~Exists(GenerationTask.objects.filter(retry_of=OuterRef("pk"))),
            "finished_at",
        ),
        "delayed": (POLLED_STATES, delayed_q(now, polled_kinds), "submitted_at"),
        "download": (
            frozenset({State.DOWNLOADING}),
            Q(download_attempts__gte=DOWNLOAD_FAILING_ATTEMPTS),
            "state_changed_at",
        ),
        "delivery": (
            frozenset({State.SUCCEEDED}),
            Q(delivery_mismatch=True, finished_at__gte=since),
            "finished_at",
        ),
    }
    # The kinds' states do not overlap: among the rows found, the state alone
    # tells the kind (short SQL, whatever the number of delayed plans).
    which = Case(
        *(When(state__in=states, then=Value(k)) for k, (states, _, _) in kinds.items()),
        output_field=CharField(),
    )
    sort_at = Case(
        *(When(state__in=states, then=F(by)) for states, _, by in kinds.values()),
        output_field=DateTimeField(),
    )
    # Each kind's rows found through its own index, then numbered and counted
    # together: an OR of the kinds in one WHERE would read the whole table.
    ids = [
        GenerationTask.objects.filter(q, state__in=states).order_by().values("pk")
        for states, q, _ in kinds.values()
    ]
    anywhere = ids[0].union(*ids[1:], all=True)
    found: list[Any] = list(
        GenerationTask.objects.filter(pk__in=anywhere)
        .select_related("owner")
        .annotate(
            attention_kind=which,
            rank=Window(
                RowNumber(),
                partition_by=[which],
                order_by=[sort_at.asc(), F("pk").asc()],
            ),
            of_kind=Window(Count("pk"), partition_by=[which]),
        )
        .filter(rank__lte=rows)
        .order_by()
    )
    order = list(kinds)
    found.sort(key=lambda task: (order.index(task.attention_kind), task.rank))
    counts = dict.fromkeys(kinds, 0)
    counts.update({task.attention_kind: task.of_kind for task in found})
    items = [
        AttentionItem(task.attention_kind, task, _why(task.attention_kind, task, now))
        for task in found
    ]
    return Attention(items=items, counts=counts)


def delayed_q(now: dt.datetime, kinds: Iterable[Kind] | None = None) -> Q:
    """Tasks at the provider past their plan's slowest read times DELAYED_FACTOR.

    ``kinds`` are the (duration, resolution, sound, routing) of all the polled
    tasks (the overview's census has them); read here when not given.
    """
    if kinds is None:
        kinds = (
            GenerationTask.objects.filter(state__in=POLLED_STATES)
            .order_by()
            .values_list("duration", "resolution", "sound", "routing")
            .distinct()
        )
    # Kinds whose plans give the same bound share one time test (a new team's
    # plans are the documented priors: a handful of bounds for all kinds).
    by_bound: dict[float, list[Kind]] = {}
    for kind in kinds:
        by_bound.setdefault(delayed_after(*kind), []).append(kind)
    query = Q(pk__in=[])
    for bound, alike in by_bound.items():
        since = now - dt.timedelta(seconds=bound)
        late = Q(submitted_at__lt=since) | Q(
            submitted_at__isnull=True, created_at__lt=since
        )
        if len(by_bound) > 1:
            # Only these kinds: the others' polled tasks have bounds of their own.
            late &= functools.reduce(
                operator.or_,
                (
                    Q(duration=d, resolution=r, sound=snd, routing=rt)
                    for d, r, snd, rt in alike
                ),
            )
        query |= late
    # The state first and outside the OR: the database reads only polled rows.
    return Q(state__in=POLLED_STATES) & query


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
