"""/healthz: database, broker and dispatcher heartbeat, for load balancers."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache

from generations.pipeline import dispatch
from generations.views import health

pytestmark = pytest.mark.django_db


def beat(age_seconds: float = 0.0) -> None:
    cache.set(dispatch.HEARTBEAT_KEY, time.time() - age_seconds, timeout=None)


def test_it_answers_ok_without_login(
    client: Any, django_assert_max_num_queries: Any
) -> None:
    beat(1.0)
    with django_assert_max_num_queries(2):
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["dispatcher"] == "ok"
    assert body["status"] == "ok"
    assert 0.5 <= body["dispatcher_heartbeat_age_seconds"] < 30
    assert "no-cache" in response["Cache-Control"]


def test_it_fails_when_the_dispatcher_never_ran(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["dispatcher"] == "missing"
    assert response.json()["status"] == "fail"


def test_it_fails_when_the_dispatcher_is_stale(client: Any, settings: Any) -> None:
    settings.DISPATCHER_STALE_SECONDS = 20
    beat(21)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["dispatcher"] == "stale"
    beat(19)
    assert client.get("/healthz").status_code == 200


def test_it_hides_why_a_check_failed(
    client: Any, monkeypatch: Any, settings: Any
) -> None:
    beat()

    def broken() -> str:
        raise RuntimeError(f"connection to postgres://u:{settings.SECRET_KEY}@db")

    monkeypatch.setattr(health, "database_status", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error"
    assert settings.SECRET_KEY not in response.content.decode()
    assert "postgres" not in response.content.decode()


def test_it_reports_an_unreachable_redis_broker(client: Any, settings: Any) -> None:
    beat()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "error"


def test_it_pings_a_redis_broker(client: Any, settings: Any) -> None:
    redis = pytest.importorskip("redis")
    url = settings.REDIS_URL or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    beat()
    settings.REDIS_URL = url
    assert client.get("/healthz").json()["broker"] == "ok"


def test_it_refuses_other_methods(client: Any) -> None:
    assert client.post("/healthz").status_code == 405
    assert client.head("/healthz").status_code in (200, 503)


def test_it_is_exempt_from_the_https_redirect(client: Any, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    beat()
    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 301


def test_it_answers_liveness_without_touching_the_database(
    client: Any, django_assert_num_queries: Any, monkeypatch: Any
) -> None:
    def broken() -> str:
        raise RuntimeError("database down")

    monkeypatch.setattr(health, "database_status", broken)
    with django_assert_num_queries(0):
        response = client.get("/healthz/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    # The dispatcher never ran: readiness fails, liveness does not.
    assert client.get("/healthz/ready").status_code == 503
    assert client.post("/healthz/live").status_code == 405


def test_it_answers_readiness_like_healthz(client: Any) -> None:
    beat(1.0)
    ready = client.get("/healthz/ready")
    assert ready.status_code == 200
    assert ready.json()["dispatcher"] == "ok"
    assert set(ready.json()) == set(client.get("/healthz").json())


def test_it_exempts_both_probes_from_the_https_redirect(
    client: Any, settings: Any
) -> None:
    settings.SECURE_SSL_REDIRECT = True
    beat()
    assert client.get("/healthz/live").status_code == 200
    assert client.get("/healthz/ready").status_code == 200
    assert client.get("/metrics").status_code == 301
