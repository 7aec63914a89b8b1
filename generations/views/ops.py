"""Operations pages: the members' banner refresh and the staff breaker switch."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from generations.ops import breaker, queue
from generations.templatetags.ops import BANNER_TEMPLATE, banner_context
from generations.views.common import AuthedHttpRequest, own_task_or_404
from generations.views.overview import staff_page

# What staff may choose; "auto" lets the breaker decide by itself.
FORCE_CHOICES = {"open": "open", "closed": "closed", "auto": ""}


@require_GET
@login_required
def ops_banner(request: AuthedHttpRequest) -> HttpResponse:
    return render(request, f"{BANNER_TEMPLATE}#banner", banner_context(request.user))


def breaker_panel_context() -> dict[str, Any]:
    """What the breaker panel shows (overview and its own page)."""
    current = breaker.status()
    paused = current.forced == "open"
    return {
        "breaker": current,
        "breaker_mode": current.forced or "auto",
        "breaker_choices": [
            # While staff's pause holds, going back to automatic resumes.
            ("auto", _("Resume submissions") if paused else _("Automatic")),
            ("open", _("Pause submissions")),
            ("closed", _("Force closed (submit)")),
        ],
    }


@require_http_methods(["GET", "POST"])
@staff_page
def breaker_force(request: AuthedHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "generations/breaker.html", breaker_panel_context())
    choice = request.POST.get("mode", "")
    if choice not in FORCE_CHOICES:
        return HttpResponseBadRequest(_("Choose open, closed or auto."))
    try:
        breaker.force(
            FORCE_CHOICES[choice],
            by=request.user.get_username(),
            reason=request.POST.get("reason", ""),
        )
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    notes = {
        "open": _("Submissions are paused until you resume them."),
        "closed": _("Submissions go out even if the provider keeps failing."),
        "auto": _("The breaker decides by itself again."),
    }
    messages.success(request, notes[choice])
    return redirect("staff_overview")


@require_POST
@login_required
def task_move_top(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    task = own_task_or_404(request, pk)
    if queue.move_to_top(task=task):
        messages.success(request, _("Moved to the top of your queue."))
    else:
        messages.error(request, _("Too late to move: the task has left the queue."))
    return _back_to_queue()


def _back_to_queue() -> HttpResponse:
    """The Studio, scrolled to the queue panel (keyboard focus starts there)."""
    return redirect(reverse("dashboard") + "#queue")


@require_POST
@login_required
def tasks_cancel_queued(request: AuthedHttpRequest) -> HttpResponse:
    """Cancel the member's queued tasks: those ticked (``ids``), else all.

    The panel's "Cancel selected" sends ``selected``: with nothing ticked it
    cancels nothing (never all)."""
    raw = request.POST.getlist("ids")
    try:
        ids = [int(value) for value in raw] if raw else None
    except ValueError:
        return HttpResponseBadRequest(_("Task ids must be numbers."))
    if ids is None and "selected" in request.POST:
        messages.info(request, _("Tick the queued jobs to cancel first."))
        return _back_to_queue()
    cancelled = queue.cancel_queued(owner=request.user, ids=ids)
    if cancelled:
        messages.success(
            request,
            ngettext(
                "Cancelled %(n)d queued task; its credits are back.",
                "Cancelled %(n)d queued tasks; their credits are back.",
                cancelled,
            )
            % {"n": cancelled},
        )
    else:
        messages.info(request, _("Nothing to cancel: no task of yours is queued."))
    return _back_to_queue()
