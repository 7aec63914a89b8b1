"""The interface language: browser by default, a member's choice when made.

Django's LocaleMiddleware picks a language from the cookie, then from
Accept-Language. A signed-in member's stored choice wins over both, so it follows
them to every browser; a visitor's choice lives in the cookie alone. URLs never
carry a language prefix, so share links are the same in every language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from generations.models import MemberLanguage

SUPPORTED = frozenset(code for code, _name in settings.LANGUAGES)


def stored_language(user: Any) -> str | None:
    """The member's chosen language, or None to follow the browser.

    Read with the member (``auth_backend.MemberBackend`` loads it in the same
    query); a member loaded otherwise costs one query here.
    """
    try:
        language = user.language_choice.language
    except MemberLanguage.DoesNotExist:
        return None
    return language if language in SUPPORTED else None


class MemberLanguageMiddleware:
    """Activate a signed-in member's stored language (after authentication)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = stored_language(user)
            if language and language != getattr(request, "LANGUAGE_CODE", None):
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)


def _safe_next(request: HttpRequest) -> str:
    for candidate in (
        request.POST.get("next", "") or request.GET.get("next", ""),
        request.META.get("HTTP_REFERER", ""),
    ):
        if candidate and url_has_allowed_host_and_scheme(
            candidate,
            allowed_hosts={request.get_host()},
            require_https=request.is_secure(),
        ):
            return candidate
    return "/"


@require_http_methods(["GET", "POST"])
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; remembered per member and in a cookie.

    A POST (the header and log-in switcher, CSRF-checked) also stores a member's
    choice; a GET (the links on public pages, whose no-referrer policy makes a
    form's CSRF check fail) only sets the visitor's cookie.
    """
    data = request.POST if request.method == "POST" else request.GET
    language = data.get("language", "")
    response = HttpResponseRedirect(_safe_next(request))
    if language not in SUPPORTED:
        return response
    if request.method == "POST" and request.user.is_authenticated:
        MemberLanguage.objects.update_or_create(
            user_id=request.user.pk, defaults={"language": language}
        )
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )
    translation.activate(language)
    return response
