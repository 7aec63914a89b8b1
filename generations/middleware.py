"""An ended session seen by an htmx request: the whole page goes to log in."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect


class HtmxLoginRedirectMiddleware:
    """Turn a redirect to the login page into a client redirect for htmx.

    A poll or a form swap whose session ended would otherwise receive the login
    page (the browser follows the redirect silently) and swap it into a list.
    The member lands on the login page instead, and comes back to the page
    they were on (not to the fragment URL) after logging in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if not htmx or response.status_code not in (301, 302):
            return response
        login = resolve_url(settings.LOGIN_URL)
        if urlsplit(response["Location"]).path != login:
            return response
        back = htmx.current_url_abs_path or request.get_full_path()
        return HttpResponseClientRedirect(f"{login}?{urlencode({'next': back})}")
