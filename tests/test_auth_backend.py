"""The signed-in member comes with their interface language in one query
(generations/auth_backend.py); sessions signed in before still work, and a wrong
password is checked once."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from generations.models import MemberLanguage

pytestmark = pytest.mark.django_db

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _language_reads(client: Client) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/gallery/").content.decode()
    sql = [q["sql"] for q in captured]
    return page, [s for s in sql if "generations_memberlanguage" in s]


def test_the_language_comes_with_the_member(client: Client, alice: Any) -> None:
    MemberLanguage.objects.create(user=alice, language="ru")
    client.force_login(alice)
    page, reads = _language_reads(client)
    assert '<html lang="ru">' in page
    # Read in the member's own query (a join), not by a query of its own.
    assert len(reads) == 1 and "auth_user" in reads[0]


def test_a_member_without_a_choice_follows_the_browser(
    client: Client, alice: Any
) -> None:
    client.force_login(alice)
    page = client.get("/gallery/", headers={"accept-language": "ru"}).content.decode()
    assert '<html lang="ru">' in page
    _page, reads = _language_reads(client)
    assert len(reads) == 1 and "auth_user" in reads[0]


def test_a_session_signed_in_before_still_works(client: Client, alice: Any) -> None:
    MemberLanguage.objects.create(user=alice, language="ru")
    client.force_login(alice, backend=MODEL_BACKEND)
    page, reads = _language_reads(client)
    assert '<html lang="ru">' in page  # the language read on its own, as before
    assert len(reads) == 1 and "auth_user" not in reads[0]


def test_a_wrong_password_is_checked_once(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    real = AbstractBaseUser.check_password

    def counted(self: Any, password: str) -> bool:
        checks.append(password)
        return bool(real(self, password))

    monkeypatch.setattr(AbstractBaseUser, "check_password", counted)
    assert authenticate(username="alice", password="wrong") is None
    assert checks == ["wrong"]
    user = authenticate(username="alice", password="alice-password")
    assert user is not None and user.backend == "generations.auth_backend.MemberBackend"
