"""The Studio's live task list: one poll per tab brings what changed.

A poll answers with the list header (running count and the next poll's URL),
the cards that changed or are new, and the clocks of those at the provider.
What the page shows is the client's truth: it sends the state of every card it
shows in flight (``watch``), so a change is never missed however late a worker
committed it; ``since`` (a time) and ``after`` (an id) find the rest cheaply.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, F
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_htmx.http import trigger_client_event

from generations import forms, security
from generations.models import IN_FLIGHT_STATES, GenerationTask, State
from generations.ops import queue
from generations.views.cards import (
    STUDIO_TEMPLATE,
    CardLinks,
    TaskCard,
    batch_summaries,
    cards_of,
)
from generations.views.common import AuthedHttpRequest

# A worker may commit a change stamped a moment before our query ran: asking again
# from a little earlier re-sends a card now and then. The watch (below) catches a
# card in flight whatever its stamp; the overlap covers the rest (hidden elsewhere).
SINCE_OVERLAP = dt.timedelta(seconds=2)
MAX_CHANGED_CARDS = 100
# "12.queued,13.generating": the cards the page shows in flight, newest first.
WATCH_SEPARATOR = ","


def in_flight_counts(request: AuthedHttpRequest) -> dict[str, int]:
    """The member's tasks in flight by state, in one grouped count."""
    return dict(
        GenerationTask.objects.in_task_list_of(request.user)
        .filter(state__in=IN_FLIGHT_STATES)
        .values_list("state")
        .annotate(tasks=Count("pk"))
        .order_by()
    )


def live_context(
    request: AuthedHttpRequest,
    now: dt.datetime,
    *,
    after: int | None,
    by_state: dict[str, int] | None = None,
    watching: bool = False,
) -> dict[str, Any]:
    """What the list's live header needs: running count and the next poll URL;
    and how many of those are queued (the queue panel's total), from the same
    grouped count.

    The list keeps polling while anything is in flight, or while the page shows
    a card in flight (``watching``): a count taken a moment after the cards were
    read can say 0 for a card the page still shows running, and that card's
    last change comes with the next poll.
    """
    if by_state is None:
        by_state = in_flight_counts(request)
    running = sum(by_state.values())
    return {
        "running": running,
        "polling": running > 0 or watching,
        "queued": by_state.get(State.QUEUED, 0),
        "since": int((now - SINCE_OVERLAP).timestamp() * 1000),
        "after": after,
    }


def parse_since(value: str) -> dt.datetime | None:
    """``since`` as epoch milliseconds or an ISO 8601 timestamp."""
    if not value:
        return None
    if value.isdecimal():
        try:
            moment = dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.UTC)
            return security.bounded_moment(moment)
        except (OverflowError, ValueError, OSError):
            return None
    try:
        moment = dt.datetime.fromisoformat(value.replace(" ", "+"))
        return security.bounded_moment(moment)
    except ValueError:  # security.UnboundedInput too
        return None


def parse_watch(value: str) -> dict[int, str] | None:
    """``watch`` as task id → the state the page shows; None if malformed.

    The page lists its newest cards first; past MAX_CHANGED_CARDS the rest are
    left to ``since`` (a page rarely shows that many in flight).
    """
    watched: dict[int, str] = {}
    if not value:
        return watched
    for item in value.split(WATCH_SEPARATOR)[:MAX_CHANGED_CARDS]:
        pk, _, state = item.partition(".")
        if not forms.is_id(pk) or state not in IN_FLIGHT_STATES:
            return None
        watched[int(pk)] = state
    return watched


@login_required
@require_GET
def task_refresh(request: AuthedHttpRequest) -> HttpResponse:
    """One poll per tab: the list header, plus only the cards that changed."""
    since = parse_since(request.GET.get("since", ""))
    after_raw = request.GET.get("after", "")
    if since is None or (after_raw and not forms.is_id(after_raw)):
        return HttpResponseBadRequest("since must be epoch ms or ISO 8601")
    watched = parse_watch(request.GET.get("watch", ""))
    if watched is None:
        return HttpResponseBadRequest("watch must be id.state pairs, comma-separated")
    after = int(after_raw) if after_raw else None
    now = timezone.now()
    # What is in flight is counted and read before what changed: a change
    # committed between the reads is in the second, or seen by the next poll's
    # watch; and the polling stops only once the count found nothing in flight.
    by_state = in_flight_counts(request)
    flight = _in_flight(request)
    mine = GenerationTask.objects.filter(owner_id=request.user.pk).select_related(
        "video"
    )
    # Two index-friendly queries rather than one OR (which scans every task of the
    # member): changed since the last poll (owner, updated_at), and new (owner, id).
    # Ordered along (owner, updated_at): ordered by id, a poll in which nothing
    # changed (most polls) would walk every task the member ever made.
    found = {
        task.pk: task
        for task in mine.filter(updated_at__gt=since).order_by("-updated_at", "-id")[
            :MAX_CHANGED_CARDS
        ]
    }
    if after is not None:
        found.update(
            (task.pk, task)
            for task in mine.filter(pk__gt=after).order_by("-id")[:MAX_CHANGED_CARDS]
        )
    # A card the page shows in a state its task has left, whatever its stamp said.
    # Most polls: every watched card is still in flight as shown, and this reads
    # nothing more. (One past the in-flight list's cap is read to be sure.)
    now_in = {task.pk: task.state for task in flight}
    doubtful = [
        pk
        for pk, state in watched.items()
        if pk not in found and now_in.get(pk) != state
    ]
    if doubtful:
        found.update(
            (task.pk, task)
            for task in mine.filter(pk__in=doubtful)
            if task.state != watched[task.pk]
        )
    rows = sorted(found.values(), key=lambda task: -task.pk)[:MAX_CHANGED_CARDS]
    new = [t for t in rows if after is not None and t.pk > after and not t.hidden]
    changed = [t for t in rows if after is None or t.pk <= after]
    ticking = [t for t in flight if t.submitted_at and t.pk not in found]
    next_after = max([after or 0, *(t.pk for t in new)]) if after is not None else None
    # Counted before the cards were read: "none in flight" means every card
    # the page shows in flight has just been sent in its final state.
    context = live_context(request, now, after=next_after, by_state=by_state)
    links = CardLinks.build() if changed else None
    finished = [t for t in rows if t.state == State.SUCCEEDED and not t.hidden]
    if finished and hasattr(finished[0], "video"):
        # A video that just finished plays large at once (rows are newest first).
        context.update(player=finished[0], player_oob=True)
    context.update(
        new_cards=cards_of(new, now),
        changed_cards=[TaskCard(t, now, links=links) for t in changed if not t.hidden],
        # A changed card's batch line follows (a new batch brings its own).
        changed_batches=[
            summary
            for batch, summary in batch_summaries(changed).items()
            if not any(t.batch == batch for t in new)
        ],
        hidden_ids=[t.pk for t in changed if t.hidden],
        # Unchanged cards at the provider: only their clock and estimate.
        ticking_cards=[TaskCard(t, now) for t in ticking],
        oob_balance=bool(rows or ticking),
    )
    if any(task.state == State.QUEUED for task in new):
        # Queued in another tab (or by the API): the queue panel shows it too.
        context.update(queue_panel(request, context["queued"], oob=True))
    response = render(request, f"{STUDIO_TEMPLATE}#refresh", context)
    # A new task holds credits, a finished one captures or refunds them.
    moved_credits = bool(new) or any(task.is_terminal for task in changed)
    return credits_changed(response) if moved_credits else response


def _in_flight(request: AuthedHttpRequest) -> list[GenerationTask]:
    """The member's cards in flight, with only their state and what their clock
    and estimate need (``TaskCard.elapsed_label``, ``progress``, ``eta_label``).

    Their states are compared with the page's watch. Those at the provider tick
    on every poll, changed or not: their progress and estimate are the server's
    and move with time (a queued card's estimate does not move). A card whose
    row did not change gets only those (the ``card_tick`` partial), not the
    whole card again.
    """
    tasks = (
        GenerationTask.objects.in_task_list_of(request.user)
        .filter(state__in=IN_FLIGHT_STATES)
        .only("id", "state", "duration", "created_at", "submitted_at", "finished_at")
    )
    # Those at the provider first (past the cap, a queued card's estimate does
    # not move), then newest first by "id + 0", not "id": SQLite would otherwise
    # walk the member's (owner, id) index through every task they ever made to
    # find the few in flight; this way it reads them through (owner, state,
    # hidden) and sorts those few.
    order = (F("submitted_at").desc(nulls_last=True), (F("id") + 0).desc())
    return list(tasks.order_by(*order)[:MAX_CHANGED_CARDS])


def queue_panel(
    request: AuthedHttpRequest, queued: int, *, oob: bool = False
) -> dict[str, Any]:
    """The queue panel's context (``queued``: the live header's count); ``oob``
    when it is sent again because a job joined the member's queue."""
    shown, total = queue.queue_of(request.user, queued=queued)
    return {"queue": shown, "queue_total": total, "queue_oob": oob}


def credits_changed(response: HttpResponse) -> HttpResponse:
    """Tell the create form that the balance moved (its "Balance after" follows)."""
    return trigger_client_event(response, "credits-changed", after="settle")
