"""The members' banner while the breaker is open, and the staff breaker switch."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from generations.apixo.client import TransportError
from generations.models import ProviderBreaker
from generations.ops import breaker

pytestmark = pytest.mark.django_db

DOWN = "The provider is not answering since"


def open_breaker(settings: Any) -> None:
    settings.BREAKER_FAILURE_THRESHOLD = 2
    for _ in range(2):
        breaker.record(TransportError("refused", maybe_sent=False))


def test_it_shows_members_the_banner_while_the_provider_is_down(
    client: Any, alice: Any, settings: Any
) -> None:
    settings.TIME_ZONE = "UTC"
    client.force_login(alice)
    assert DOWN not in client.get("/").content.decode()
    open_breaker(settings)
    opened = ProviderBreaker.objects.get().opened_at
    assert opened is not None
    page = client.get("/gallery/").content.decode()
    assert f"{DOWN} {opened:%H:%M}; your jobs are safe" in page
    assert 'hx-get="/ops/banner/"' in page

    breaker.record(None)  # the provider answers again
    assert DOWN not in client.get("/").content.decode()
    refreshed = client.get("/ops/banner/").content.decode()
    assert DOWN not in refreshed
    assert "hx-trigger" not in refreshed  # stops polling once gone


def test_it_costs_pages_no_query(
    client: Any, alice: Any, settings: Any, django_assert_max_num_queries: Any
) -> None:
    client.force_login(alice)
    client.get("/gallery/")
    with django_assert_max_num_queries(20) as calm:
        client.get("/gallery/")
    open_breaker(settings)
    with django_assert_max_num_queries(len(calm.captured_queries)):
        assert DOWN in client.get("/gallery/").content.decode()


def test_it_tells_members_when_staff_paused_submissions(
    client: Any, alice: Any
) -> None:
    breaker.force("open", by="sam")
    client.force_login(alice)
    assert "Staff have paused new submissions" in client.get("/").content.decode()


def test_it_hides_the_banner_from_visitors(client: Any, settings: Any) -> None:
    open_breaker(settings)
    assert DOWN not in client.get("/login/").content.decode()
    assert client.get("/ops/banner/").status_code == 302
    assert client.post("/ops/banner/").status_code == 405


def test_it_lets_staff_force_the_breaker(client: Any, staff: Any) -> None:
    client.force_login(staff)
    response = client.post("/staff/breaker/", {"mode": "open"})
    assert response.status_code == 302
    assert breaker.status().forced == "open"
    assert breaker.status().forced_by == "sam"
    assert not breaker.status().submitting
    page = client.get("/staff/overview/").content.decode()
    assert "Provider circuit breaker" in page
    assert "paused by sam" in page

    client.post("/staff/breaker/", {"mode": "closed"})
    assert breaker.status().submitting
    client.post("/staff/breaker/", {"mode": "auto"})
    assert breaker.status().forced == ""


def test_it_refuses_members_visitors_and_bad_input(
    client: Any, alice: Any, staff: Any
) -> None:
    assert client.post("/staff/breaker/", {"mode": "open"}).status_code == 302
    client.force_login(alice)
    assert client.post("/staff/breaker/", {"mode": "open"}).status_code == 403
    client.force_login(staff)
    assert client.get("/staff/breaker/").status_code == 200
    assert client.put("/staff/breaker/").status_code == 405
    assert client.post("/staff/breaker/", {"mode": "sideways"}).status_code == 400
    assert client.post("/staff/breaker/", {}).status_code == 400
    assert breaker.status().forced == ""


def test_it_shows_staff_when_the_next_probe_goes(
    client: Any, staff: Any, settings: Any
) -> None:
    open_breaker(settings)
    ProviderBreaker.objects.update(probe_at=timezone.now() + dt.timedelta(seconds=30))
    client.force_login(staff)
    page = client.get("/staff/overview/").content.decode()
    assert "Not submitting" in page
    assert "next probe" in page
