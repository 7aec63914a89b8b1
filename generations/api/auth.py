"""Who is calling: a personal access token (Bearer) or the browser session.

A token carries scopes; the session (same origin, CSRF checked by ninja's
SessionAuth) may do what its member may do on the pages. Every caller is rate
limited per token (or per member for the session).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from generations import security, windows
from generations.api import tokens
from generations.api.problems import Problem
from generations.models.api import ApiToken, Scope

RATE_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Caller:
    user: User
    token: ApiToken | None

    def allows(self, scope: Scope) -> bool:
        return self.token is None or scope in self.token.scopes


def rate_limit() -> int:
    return int(getattr(settings, "API_RATE_LIMIT_PER_MINUTE", 120))


def check_rate(principal: str) -> None:
    """A fixed window per principal; raises Problem(429) with Retry-After."""
    made, left = windows.count("api-rate", principal, RATE_WINDOW_SECONDS)
    if made > rate_limit():
        raise Problem(
            429, "Rate limit exceeded for this token; slow down.", retry_after=left
        )


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        found = tokens.find_active(token)
        if found is None:
            raise Problem(401, "The token is unknown, revoked or expired.")
        check_rate(f"t{found.pk}")
        tokens.record_use(found, security.client_address(request))
        return Caller(user=found.owner, token=found)


class SessionCaller(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:
        user = request.user
        if not user.is_authenticated or not isinstance(user, User):
            return None
        check_rate(f"u{user.pk}")
        return Caller(user=user, token=None)


def caller_of(request: HttpRequest) -> Caller:
    caller = getattr(request, "auth", None)
    assert isinstance(caller, Caller)
    return caller


def require(request: HttpRequest, scope: Scope) -> User:
    """The calling member, if the token has ``scope``; else 403."""
    caller = caller_of(request)
    if not caller.allows(scope):
        raise Problem(403, f"This token lacks the '{scope.value}' scope.")
    return caller.user
