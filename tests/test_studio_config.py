"""Start-up and staff chrome: the address run_studio prints, the local-results
switch narrowed and refused in production, the admin's names and the favicon."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.urls import reverse

from generations.checks import result_allow_local_check
from generations.management.commands import run_studio
from generations.pipeline.download import DownloadError, check_result_url

# --- run_studio ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addr", "url"),
    [
        ("127.0.0.1:8123", "http://127.0.0.1:8123/"),
        ("8124", "http://127.0.0.1:8124/"),
        ("0.0.0.0:9000", "http://127.0.0.1:9000/"),
        ("studio.local:8000", "http://studio.local:8000/"),
    ],
)
def test_it_names_the_address_the_web_process_listens_on(addr: str, url: str) -> None:
    assert run_studio.browse_url(addr) == url


@pytest.mark.django_db
def test_it_prints_the_web_addr_at_start(monkeypatch: Any, settings: Any) -> None:
    monkeypatch.setenv("WEB_ADDR", "127.0.0.1:8123")
    started: list[dict[str, list[str]]] = []
    # The seam that starts processes: this test checks only what is printed.
    monkeypatch.setattr(
        run_studio, "supervise", lambda commands, out: started.append(commands)
    )
    out = StringIO()
    call_command("run_studio", stdout=out)
    assert "Open http://127.0.0.1:8123/ and log in" in out.getvalue()
    assert "8000" not in out.getvalue()
    assert started[0]["web"][-2] == "127.0.0.1:8123"


# --- APIXO_RESULT_ALLOW_LOCAL --------------------------------------------------------


def test_it_frees_only_the_provider_host_for_local_results(settings: Any) -> None:
    settings.APIXO_RESULT_ALLOW_LOCAL = True
    settings.APIXO_BASE_URL = "http://127.0.0.1:8765"
    settings.APIXO_RESULT_HOSTS = ["127.0.0.1", "localhost"]
    check_result_url("http://127.0.0.1:8765/results/t.mp4")  # the simulator
    with pytest.raises(DownloadError, match="refusing a http URL"):
        check_result_url("http://localhost:8765/results/t.mp4")
    with pytest.raises(DownloadError, match="private address"):
        check_result_url("https://localhost/results/t.mp4")


@pytest.mark.django_db
def test_it_refuses_local_results_with_debug_off(settings: Any) -> None:
    settings.DEBUG = False
    settings.APIXO_RESULT_ALLOW_LOCAL = True
    settings.APIXO_BASE_URL = "https://api.apixo.ai"
    [error] = result_allow_local_check()
    assert error.id == "generations.E001"
    with pytest.raises(SystemCheckError, match="APIXO_RESULT_ALLOW_LOCAL"):
        call_command("check", stdout=StringIO(), stderr=StringIO())
    settings.APIXO_RESULT_ALLOW_LOCAL = False
    assert result_allow_local_check() == []
    settings.DEBUG = True
    settings.APIXO_RESULT_ALLOW_LOCAL = True
    assert result_allow_local_check() == []


@pytest.mark.parametrize(
    ("base_url", "refused"),
    [
        ("http://127.0.0.1:8765", False),
        ("http://127.3.0.1:8765", False),
        ("http://[::1]:8765", False),
        ("http://localhost:8765", False),
        ("http://10.0.0.5:8765", True),
        ("https://sim.example.com", True),
        ("http://localhost.example.com", True),
    ],
)
def test_it_allows_local_results_with_debug_off_only_from_a_loopback_provider(
    settings: Any, base_url: str, refused: bool
) -> None:
    """A production-shaped stack load-tested against the simulator on the same
    machine; anything off the machine stays refused."""
    settings.DEBUG = False
    settings.APIXO_RESULT_ALLOW_LOCAL = True
    settings.APIXO_BASE_URL = base_url
    assert bool(result_allow_local_check()) is refused


# --- admin and favicon ------------------------------------------------------------


@pytest.mark.django_db
def test_it_names_the_admin_after_the_studio(client: Client, staff: Any) -> None:
    client.force_login(staff)
    index = client.get(reverse("admin:index")).content.decode()
    assert "Seedance Studio administration" in index
    assert "Django administration" not in index
    assert "<title>Members, credits and tasks | Seedance Studio admin</title>" in index


@pytest.mark.django_db
def test_it_groups_django_q_models_under_workers(client: Client, staff: Any) -> None:
    client.force_login(staff)
    index = client.get(reverse("admin:index")).content.decode()
    assert "Workers (django-q2)" in index
    assert "Django Q" not in index and "Task queue" not in index


@pytest.mark.django_db
def test_it_lists_tasks_in_seven_columns(client: Client, staff: Any) -> None:
    from generations.admin_tasks import GenerationTaskAdmin

    assert len(GenerationTaskAdmin.list_display) <= 7
    assert "provider_task_id" not in GenerationTaskAdmin.list_display
    client.force_login(staff)
    page = client.get(reverse("admin:generations_generationtask_changelist"))
    assert page.status_code == 200


def test_it_serves_a_favicon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("generations/icon.svg")
    assert client.post("/favicon.ico").status_code == 405
