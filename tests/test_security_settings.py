"""Production settings (DEBUG=0 plus environment): check --deploy is clean, and the
headers, cookies and CSP a browser actually gets."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from seedance_site.settings import local_secret_key, proxy_ssl_header

ROOT = Path(__file__).resolve().parent.parent


def production_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "APIXO_API_KEY",
            "DEBUG",
            "DJANGO_ALLOW_ASYNC_UNSAFE",  # set for Playwright by conftest
        }
        and not key.startswith(("SECURE_", "SESSION_", "CSRF_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="seedance_site.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="studio.example.com",
        CSRF_TRUSTED_ORIGINS="https://studio.example.com",
        VAR_DIR=str(var_dir),
        **extra,
    )
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_check_deploy_with_production_settings(tmp_path: Path) -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off(
    tmp_path: Path,
) -> None:
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


# Runs in a production-configured process: migrate, collect static files, then
# fetch pages through the test client as a browser would over https.
PROBE = r"""
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("collectstatic", "--noinput", verbosity=0)
from django.contrib.auth.models import User
from django.test import Client
User.objects.create_user("ana", password="ana-password-123")
out = {}
host = "studio.example.com"
plain = Client(HTTP_HOST=host).get("/login/")
out["http"] = {"status": plain.status_code, "location": plain.get("Location")}
c = Client(HTTP_HOST=host)
page = c.get("/login/", secure=True)
out["headers"] = dict(page.headers)
out["html"] = page.content.decode()
out["csrf_cookie"] = {k: str(v) for k, v in c.cookies["csrftoken"].items()}
credentials = {"username": "ana", "password": "ana-password-123"}
out["login"] = c.post("/login/", credentials, secure=True).status_code
out["session_cookie"] = {k: str(v) for k, v in c.cookies["sessionid"].items()}
proxied = Client(HTTP_HOST=host).get("/login/", HTTP_X_FORWARDED_PROTO="https")
out["proxied"] = proxied.status_code
missing = c.get("/no-such-page/", secure=True)
out["not_found"] = {"status": missing.status_code, "html": missing.content.decode()}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def production_page(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    var_dir = tmp_path_factory.mktemp("production")
    env = production_env(var_dir, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto,https")
    result = run(["-c", PROBE], env)
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_it_redirects_plain_http_to_https(production_page: dict[str, Any]) -> None:
    assert production_page["http"]["status"] == 301
    assert production_page["http"]["location"] == "https://studio.example.com/login/"
    # Behind our proxy, its X-Forwarded-Proto says the client used https.
    assert production_page["proxied"] == 200


def test_it_sends_the_security_headers(production_page: dict[str, Any]) -> None:
    headers = production_page["headers"]
    assert headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_it_sends_a_strict_csp_with_a_nonce_on_the_htmx_script(
    production_page: dict[str, Any],
) -> None:
    policy = production_page["headers"]["Content-Security-Policy"]
    directives = dict(
        (part.split(" ", 1) + [""])[:2] for part in policy.split("; ") if part
    )
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"])
    assert nonce, policy
    assert directives["default-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    html = production_page["html"]
    htmx_tag = re.search(r"<script[^>]*htmx[^>]*>", html)
    assert htmx_tag, html
    assert f'nonce="{nonce.group(1)}"' in htmx_tag.group(0)
    # Static files are served compressed and hashed (collectstatic manifest).
    assert re.search(r"/static/generations/studio\.[0-9a-f]{12}\.css", html)


def test_it_marks_cookies_secure_and_sessions_expire(
    production_page: dict[str, Any],
) -> None:
    assert production_page["login"] == 302
    session = production_page["session_cookie"]
    assert session["secure"] == "True"
    assert session["httponly"] == "True"
    assert session["samesite"] == "Lax"
    assert session["max-age"] == str(14 * 24 * 3600)
    assert production_page["csrf_cookie"]["secure"] == "True"


def test_it_shows_a_plain_not_found_page(production_page: dict[str, Any]) -> None:
    assert production_page["not_found"]["status"] == 404
    assert "Traceback" not in production_page["not_found"]["html"]
    assert "SECRET_KEY" not in production_page["not_found"]["html"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("X-Forwarded-Proto,https", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("HTTP_X_FORWARDED_PROTO,https", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Proto", ("HTTP_X_FORWARDED_PROTO", "https")),
    ],
)
def test_it_reads_the_proxy_ssl_header(
    value: str, expected: tuple[str, str] | None
) -> None:
    assert proxy_ssl_header(value) == expected


@pytest.mark.django_db
def test_it_sends_the_same_csp_in_development(client: Any) -> None:
    response = client.get("/login/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce
    assert f'nonce="{nonce.group(1)}"' in response.content.decode()


def _key_at_the_barrier(path: str, barrier: Any, keys: Any) -> None:
    barrier.wait()
    keys.put(local_secret_key(Path(path)))


def test_processes_started_at_once_share_one_local_secret_key(tmp_path: Path) -> None:
    """``make run`` starts web, dispatcher and workers together on a fresh var/:
    a worker with another key would refuse every queued job (a bad signature)."""
    context = multiprocessing.get_context("spawn")  # the test process has threads
    for round_ in range(4):
        path = tmp_path / f"round-{round_}" / "secret_key"
        barrier, keys = context.Barrier(8), context.Queue()
        workers = [
            context.Process(target=_key_at_the_barrier, args=(str(path), barrier, keys))
            for _ in range(8)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
            assert worker.exitcode == 0
        found = {keys.get(timeout=5) for _ in workers}
        assert found == {path.read_text().strip()}, f"round {round_}: {found}"
        assert len(found.pop()) >= 50
        assert path.stat().st_mode & 0o777 == 0o600
        assert [p.name for p in path.parent.iterdir()] == ["secret_key"]
