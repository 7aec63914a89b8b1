"""Signing in and loading the signed-in member on each request.

``MemberBackend`` is Django's ``ModelBackend`` except that the member comes with
their interface language in the same query (``select_related``): every page's
``MemberLanguageMiddleware`` then reads it without a query of its own.

``ModelBackend`` stays listed after it only so that sessions signed in before
keep working (a session names the backend that signed it in); it never checks a
password: a failed check here ends the attempt (``PermissionDenied``), so a wrong
password is hashed once, as before.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


class MemberBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            raise PermissionDenied  # not again by ModelBackend
        return user

    def get_user(self, user_id: Any) -> Any:
        users = get_user_model()._default_manager.select_related("language_choice")
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
