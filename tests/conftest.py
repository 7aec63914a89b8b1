"""The shared cast (alice, bob, a staff member) and browser settings."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def _isolated_storage(
    tmp_path: Path, settings: Any, request: pytest.FixtureRequest
) -> Iterator[None]:
    """Media and cache of their own for every test (never the developer's var/)."""
    from django.core.cache import cache
    from django.utils import translation

    if "stack" not in request.fixturenames:
        # A fast hasher, except where real processes (default settings) must
        # check the cast's passwords.
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    # Imported before any test patches pipeline.common.get_client, so these
    # modules bind the real one (a first import under a patch kept the fake).
    from generations.pipeline import poll, schedule, submit  # noqa: F401

    cache.clear()
    schedule.forget_plans()
    yield
    cache.clear()
    schedule.forget_plans()
    # A request in Russian leaves Russian active in this thread: start English.
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    from generations import credits

    user = django_user_model.objects.create_user("alice", password="alice-password")
    credits.grant(user=user, amount=1000, reason="test")
    return user


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    from generations import credits

    user = django_user_model.objects.create_user("bob", password="bob-password")
    credits.grant(user=user, amount=1000, reason="test")
    return user


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        "sam", password="sam-password", is_staff=True, is_superuser=True
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any],
) -> dict[str, Any]:
    from generations.management.commands._screenshots_browser import CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        # The same flags as `manage.py screenshots` (no network of its own).
        "args": CHROMIUM_ARGS,
    }


from tests.processes import stack  # noqa: E402,F401  (shared fixtures)
from tests.s3 import media_storage, s3_server  # noqa: E402,F401
from tests.sim import sim, simulator  # noqa: E402,F401
