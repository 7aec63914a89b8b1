"""Login throttling under real concurrency: 40 attempts released at once.

Each thread has its own database connection and its own cache connection. The
throttle must hold whatever the cache is (the file cache of the default
settings, whose ``incr`` is not atomic, or Redis): slots are reserved in the
database before any password is checked.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import forms as auth_forms
from django.test import Client

from tests.factories import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

STRANGER = "203.0.113.9"
REDIS_URL = "redis://127.0.0.1:6379/11"
PARALLEL = 40


def redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture(params=["file", "redis"])
def cache_backend(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> str:
    if request.param == "redis":
        if not redis_reachable():
            pytest.skip(f"Redis at {REDIS_URL} is not reachable")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_URL,
            }
        }
    else:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(tmp_path / "cache"),
            }
        }
    from django.core.cache import cache

    cache.clear()
    return str(request.param)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password check, each taking as long as a real hasher would (the
    race is between taking a slot and finishing the check)."""
    seen: list[str] = []
    lock = threading.Lock()
    real = auth_forms.authenticate

    def slow_authenticate(request: Any = None, **credentials: Any) -> Any:
        with lock:
            seen.append(str(credentials.get("username")))
        time.sleep(0.05)
        return real(request, **credentials)

    monkeypatch.setattr(auth_forms, "authenticate", slow_authenticate)
    return seen


def attempt(username: str) -> int:
    response = Client().post(
        "/login/",
        {"username": username, "password": "wrong"},
        REMOTE_ADDR=STRANGER,
    )
    return int(response.status_code)


def test_it_checks_at_most_the_address_limit_of_parallel_attempts(
    cache_backend: str, checks: list[str], settings: Any
) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = 30
    statuses = run_in_threads(PARALLEL, lambda n: attempt(f"user{n}"))
    assert not [s for s in statuses if isinstance(s, Exception)], statuses
    assert len(checks) <= 30
    assert statuses.count(429) == PARALLEL - len(checks)
    assert statuses.count(200) == len(checks)


def test_it_checks_at_most_the_pair_limit_of_parallel_guesses(
    cache_backend: str, checks: list[str], alice: Any
) -> None:
    statuses = run_in_threads(PARALLEL, lambda _n: attempt("alice"))
    assert not [s for s in statuses if isinstance(s, Exception)], statuses
    assert 1 <= len(checks) <= 5
    assert statuses.count(429) == PARALLEL - len(checks)
