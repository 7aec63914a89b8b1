"""The member's API pages: personal access tokens and webhook endpoints."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from generations.api import tokens, webhooks
from generations.models import ApiToken, WebhookAttempt, WebhookEndpoint
from generations.models.api import Scope
from generations.views.common import AuthedHttpRequest


def _expiry_choices() -> list[tuple[str, str]]:
    return [
        (
            str(days),
            ngettext("%(days)d day", "%(days)d days", days) % {"days": days}
            if days
            else _("Never"),
        )
        for days in tokens.EXPIRY_DAYS
    ]


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, label=gettext_lazy("Name"))
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Scopes"),
        error_messages={"required": gettext_lazy("Choose at least one scope.")},
    )
    expires_in_days = forms.TypedChoiceField(
        coerce=int, label=gettext_lazy("Expires after"), initial="30"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_in_days"].choices = _expiry_choices()  # type: ignore[attr-defined]


class EndpointForm(forms.Form):
    url = forms.CharField(max_length=2000, label=gettext_lazy("Endpoint URL"))
    event_types = forms.MultipleChoiceField(
        choices=[(t.value, t.label) for t in webhooks.SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Events"),
        error_messages={"required": gettext_lazy("Choose at least one event type.")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: AuthedHttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            new = tokens.create_token(
                owner=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
            return _show_once(request, new.secret, "api_tokens")
        status = 422
    rows = ApiToken.objects.filter(owner=request.user)
    context = {"form": form, "tokens": rows, "new_secret": _shown_once(request)}
    return render(request, "generations/tokens.html", context, status=status)


SHOW_ONCE_KEY = "api_secret_shown_once"


def _show_once(request: AuthedHttpRequest, secret: str, page: str) -> HttpResponse:
    """Post/redirect/get: a reload neither repeats the POST nor shows it again."""
    request.session[SHOW_ONCE_KEY] = secret
    return redirect(page)


def _shown_once(request: AuthedHttpRequest) -> str:
    return str(request.session.pop(SHOW_ONCE_KEY, ""))


@login_required
@require_POST
def token_revoke(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    if not ApiToken.objects.filter(owner=request.user, pk=pk).exists():
        raise Http404(_("No such token."))
    if tokens.revoke_token(owner=request.user, token_id=pk):
        messages.success(request, _("Token revoked: it no longer works."))
    return redirect("api_tokens")


def _endpoint_or_404(request: AuthedHttpRequest, pk: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(owner=request.user, pk=pk).first()
    if endpoint is None:
        raise Http404(_("No such endpoint."))
    return endpoint


@login_required
@require_http_methods(["GET", "POST"])
def webhook_list(request: AuthedHttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                endpoint = webhooks.add_endpoint(
                    owner=request.user,
                    url=form.cleaned_data["url"],
                    event_types=form.cleaned_data["event_types"],
                )
            except webhooks.EndpointRefused as exc:
                form.add_error("url", exc.message)
            else:
                return _show_once(request, endpoint.secret, "api_webhooks")
    return _webhook_page(request, form, _shown_once(request), status)


def _webhook_page(
    request: AuthedHttpRequest, form: EndpointForm, new_secret: str, status: int
) -> HttpResponse:
    endpoints = list(WebhookEndpoint.objects.filter(owner=request.user))
    attempts = (
        WebhookAttempt.objects.filter(delivery__endpoint__owner=request.user)
        .select_related("delivery__event", "delivery__endpoint")
        .order_by("-at", "-id")[:50]
    )
    context = {
        "form": form,
        "endpoints": endpoints,
        "attempts": attempts,
        "new_secret": new_secret,
    }
    return render(request, "generations/webhooks.html", context, status=status)


@login_required
@require_POST
def webhook_test(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    webhooks.send_test_event(_endpoint_or_404(request, pk))
    messages.success(request, _("Test event queued: its attempts appear below."))
    return redirect("api_webhooks")


@login_required
@require_POST
def webhook_rotate(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    secret = webhooks.rotate_secret(_endpoint_or_404(request, pk))
    return _show_once(request, secret, "api_webhooks")


@login_required
@require_POST
def webhook_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _endpoint_or_404(request, pk).delete()
    messages.success(request, _("Endpoint removed."))
    return redirect("api_webhooks")
