"""Operations pages: the members' banner refresh and the staff breaker switch."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from generations.ops import breaker
from generations.templatetags.ops import BANNER_TEMPLATE, banner_context
from generations.views.common import AuthedHttpRequest
from generations.views.overview import staff_page

# What staff may choose; "auto" lets the breaker decide by itself.
FORCE_CHOICES = {"open": "open", "closed": "closed", "auto": ""}


@require_GET
@login_required
def ops_banner(request: AuthedHttpRequest) -> HttpResponse:
    return render(request, BANNER_TEMPLATE, banner_context(request.user))


def breaker_panel_context() -> dict[str, Any]:
    """What the breaker panel shows (overview and its own page)."""
    current = breaker.status()
    return {
        "breaker": current,
        "breaker_mode": current.forced or "auto",
        "breaker_choices": [
            ("auto", _("Automatic")),
            ("open", _("Force open (stop)")),
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
    breaker.force(FORCE_CHOICES[choice], by=request.user.get_username())
    notes = {
        "open": _("Submissions are stopped until you switch the breaker back."),
        "closed": _("Submissions go out even if the provider keeps failing."),
        "auto": _("The breaker decides by itself again."),
    }
    messages.success(request, notes[choice])
    return redirect("staff_overview")
