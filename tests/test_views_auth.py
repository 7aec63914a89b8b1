"""Logging in and out, and the layout every signed-in page shares."""

from __future__ import annotations

from typing import Any

import pytest


def html(response: Any) -> str:
    return response.content.decode()


@pytest.mark.django_db
def test_it_shows_the_login_page(client: Any) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    page = html(response)
    assert '<label for="id_username">Username</label>' in page
    assert 'autocomplete="current-password"' in page
    assert "/static/generations/studio.css" in page


@pytest.mark.django_db
def test_it_logs_in_and_lands_on_the_studio(client: Any, alice: Any) -> None:
    response = client.post(
        "/login/", {"username": "alice", "password": "alice-password"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_it_returns_to_the_page_asked_for(client: Any, alice: Any) -> None:
    response = client.post(
        "/login/?next=/gallery/",
        {"username": "alice", "password": "alice-password", "next": "/gallery/"},
    )
    assert response["Location"] == "/gallery/"


@pytest.mark.django_db
def test_it_explains_a_wrong_password(client: Any, alice: Any) -> None:
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in html(response)
    assert 'role="alert"' in html(response)


@pytest.mark.django_db
def test_it_logs_out_by_post_only(client: Any, alice: Any) -> None:
    client.force_login(alice)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_it_shows_the_balance_nav_and_logout_in_the_header(
    client: Any, alice: Any, settings: Any
) -> None:
    client.force_login(alice)
    page = html(client.get("/gallery/"))
    assert 'id="credit-balance"' in page
    assert "<strong>1000</strong>" in page
    assert 'href="/gallery/" aria-current="page"' in page
    assert 'action="/logout/"' in page
    assert "/admin/" not in page
    assert '"includeIndicatorStyles":false' in page
    assert "htmx" in page


@pytest.mark.django_db
def test_it_shows_the_simulator_badge_only_when_simulating(
    client: Any, alice: Any, settings: Any
) -> None:
    client.force_login(alice)
    settings.SIMULATOR_ENABLED = True
    assert 'class="badge badge-sim"' in html(client.get("/gallery/"))
    settings.SIMULATOR_ENABLED = False
    assert 'class="badge badge-sim"' not in html(client.get("/gallery/"))


@pytest.mark.django_db
def test_it_links_staff_to_the_admin(client: Any, staff: Any) -> None:
    client.force_login(staff)
    page = html(client.get("/gallery/"))
    assert 'href="/admin/"' in page
    assert "<strong>0</strong>" in page


@pytest.mark.django_db
def test_it_uses_no_inline_scripts_or_handlers(client: Any, alice: Any) -> None:
    client.force_login(alice)
    page = html(client.get("/"))
    assert " onclick=" not in page and "hx-on" not in page
    scripts = page.split("<script")[1:]
    for script in scripts:
        opening = script.split(">", 1)[0]
        assert "src=" in opening or 'type="application/json"' in opening


@pytest.mark.django_db
def test_a_session_is_read_from_the_cache_and_survives_losing_it(
    client: Any, alice: Any
) -> None:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert (
        client.post(
            "/login/", {"username": "alice", "password": "alice-password"}
        ).status_code
        == 302
    )
    client.get("/credits/")
    with CaptureQueriesContext(connection) as cached:
        assert client.get("/credits/").status_code == 200
    assert not any("django_session" in q["sql"] for q in cached.captured_queries)
    cache.clear()  # Redis restarted empty, or evicted the key
    with CaptureQueriesContext(connection) as fallen_back:
        page = client.get("/credits/")
    assert page.status_code == 200  # still signed in: read from the database
    assert any("django_session" in q["sql"] for q in fallen_back.captured_queries)
    client.post("/logout/")
    assert client.get("/credits/").status_code == 302  # signed out everywhere
