"""Secrets never reach a log line or an error page: the API key, bearer tokens,
share tokens, webhook tokens and signed frame URLs are redacted everywhere."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest, HttpResponse
from django.urls import path
from PIL import Image

from generations import images, sharing
from generations import logging as seedance_logging
from generations.models import Delivery, GenerationTask, Mode, State
from generations.services import GenerationParams, create_generations
from tests.processes import SIM_KEY, Stack, wait_until

REDACTED = seedance_logging.REDACTED


def test_it_redacts_every_kind_of_secret() -> None:
    key = "sk-live-0123456789abcdef"
    text = (
        f"POST https://api.apixo.ai/x Authorization: Bearer {key} "
        "callBackUrl=https://studio.example.com/hooks/apixo/42/Zt0k-3n_9/ "
        "frame https://studio.example.com/i/MTI:1u2v3w:abcDEF-123/ "
        'share "GET /s/AbCdEf0123456789_-xyz/ HTTP/1.1" 200 '
        "/s/tok/v/key.mp4 password=hunter2&next=/ {'apiKey': 'k-123456'}"
    )
    redacted = seedance_logging.redact(text, secrets=[key])
    for secret in (key, "Zt0k-3n_9", "MTI:1u2v3w", "AbCdEf0123", "hunter2", "k-123456"):
        assert secret not in redacted
    assert "/hooks/apixo/42/[redacted]/" in redacted
    assert "/i/[redacted]/" in redacted
    assert "/s/[redacted]/ HTTP/1.1" in redacted
    assert "/s/[redacted]/v/key.mp4" in redacted
    assert "Bearer [redacted]" in redacted
    assert "&next=/" in redacted  # the rest is kept


def test_it_redacts_the_configured_keys(settings: Any) -> None:
    settings.APIXO_API_KEY = "real-provider-key-123"
    settings.SIMULATOR_API_KEY = "sim-key-456789"
    line = seedance_logging.redact("k=real-provider-key-123 s=sim-key-456789")
    assert "real-provider-key-123" not in line and "sim-key-456789" not in line


def records_through_console(*logs: tuple[str, int, str, tuple[Any, ...]]) -> str:
    """Log through the handler settings configured; return what it wrote."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, seedance_logging.RedactingFilter) for f in h.filters)
    )
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    try:
        for name, level, msg, args in logs:
            logging.getLogger(name).log(level, msg, *args)
    finally:
        handler.setStream(old)
    return buffer.getvalue()


def test_it_redacts_arguments_and_tracebacks(settings: Any) -> None:
    settings.APIXO_EFFECTIVE_KEY = "effective-key-998877"
    handler_output = records_through_console(
        ("generations.test", logging.WARNING, "submit to %s failed: %s",
         ("/hooks/apixo/7/secret-token-1/", "Bearer effective-key-998877")),
    )  # fmt: skip
    assert "secret-token-1" not in handler_output
    assert "effective-key-998877" not in handler_output
    assert "/hooks/apixo/7/[redacted]/" in handler_output
    buffer = io.StringIO()
    stream = logging.StreamHandler(buffer)
    stream.addFilter(seedance_logging.RedactingFilter())
    log = logging.getLogger("generations.test.tb")
    log.addHandler(stream)
    try:
        raise RuntimeError("could not fetch /i/SIGNED-FRAME-TOKEN/")
    except RuntimeError:
        log.exception("download failed")
    finally:
        log.removeHandler(stream)
    assert "SIGNED-FRAME-TOKEN" not in buffer.getvalue()
    assert "Traceback" in buffer.getvalue()


def test_it_routes_every_configured_handler_through_the_filter() -> None:
    import django_q.conf  # noqa: F401  (adds its own handler to a bare logger)

    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    unfiltered = []
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler).__module__.startswith("_pytest"):
                continue  # pytest's own capture
            if isinstance(handler, logging.NullHandler):
                continue
            if not any(
                isinstance(f, seedance_logging.RedactingFilter) for f in handler.filters
            ):
                unfiltered.append((logger.name, handler))
    assert unfiltered == []
    assert logging.getLogger("django-q").handlers  # ours, not django-q2's


def test_it_tags_records_with_the_task_they_are_about() -> None:
    formatter = seedance_logging.JsonFormatter()
    record = logging.LogRecord("generations.x", logging.INFO, "", 1, "polled", (), None)
    with seedance_logging.task_context(41, "poll_task"):
        seedance_logging.TaskContextFilter().filter(record)
    entry = json.loads(formatter.format(record))
    assert entry["task_id"] == 41 and entry["job"] == "poll_task"
    assert entry["message"] == "polled"
    plain = seedance_logging.PlainFormatter().format(record)
    assert "[task 41 poll_task]: polled" in plain


def test_it_tags_records_logged_inside_a_django_q_job() -> None:
    from django_q.signals import post_execute_in_worker, pre_execute

    seedance_logging.connect_task_logging()
    task = {"func": "generations.tasks.poll_task", "args": (77,)}
    pre_execute.send(sender="django_q", func=None, task=task)
    record = logging.LogRecord("generations.x", logging.INFO, "", 1, "m", (), None)
    seedance_logging.TaskContextFilter().filter(record)
    post_execute_in_worker.send(sender="django_q", func=None, task=task)
    after = logging.LogRecord("generations.x", logging.INFO, "", 1, "m", (), None)
    seedance_logging.TaskContextFilter().filter(after)
    assert (record.task_id, record.job) == (77, "poll_task")
    assert after.task_id is None


# --- Error pages with DEBUG off -------------------------------------------------------


def leaky_view(request: HttpRequest) -> HttpResponse:
    from django.conf import settings

    raise RuntimeError(f"provider refused key {settings.APIXO_EFFECTIVE_KEY}")


urlpatterns = [path("boom/", leaky_view)]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_it_shows_nothing_secret_on_an_error_page(client: Any, settings: Any) -> None:
    settings.DEBUG = False
    settings.APIXO_EFFECTIVE_KEY = "error-page-key-123456"
    client.raise_request_exception = False
    output = io.StringIO()
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, seedance_logging.RedactingFilter) for f in h.filters)
    )
    old = handler.setStream(output)  # type: ignore[attr-defined]
    try:
        response = client.get("/boom/")
    finally:
        handler.setStream(old)  # type: ignore[attr-defined]
    assert response.status_code == 500
    body = response.content.decode()
    assert "error-page-key-123456" not in body
    assert "Traceback" not in body and "RuntimeError" not in body
    assert "error-page-key-123456" not in output.getvalue()
    assert "Internal Server Error: /boom/" in output.getvalue()


# --- A whole pipeline run, every process's output ------------------------------

UNREDACTED = {
    "webhook token": re.compile(r"/hooks/apixo/\d+/(?!\[redacted\])[^/\s\"']+"),
    "signed frame URL": re.compile(r"/i/(?!\[redacted\])[^/\s\"']+"),
    "share token": re.compile(r"/s/(?!\[redacted\])[^/\s\"']+"),
}


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 90)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def debug_stack(stack: Stack) -> Iterator[Stack]:
    stack.env["LOG_LEVEL"] = "DEBUG"
    yield stack


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_keeps_secrets_out_of_every_process_log(
    debug_stack: Stack, alice: Any
) -> None:
    stack = debug_stack
    stack.start_simulator()
    stack.start_web()
    stack.start_workers()
    stack.start_dispatcher()
    frame = images.store_upload(
        SimpleUploadedFile("start.png", png_bytes(), "image/png"),
        owner=alice,
        position=0,
    )
    params = GenerationParams(
        prompt="a paper kite rising over a windy hill",
        mode=Mode.IMAGE,
        resolution="480p",
        duration=4,
        sound=False,
        delivery=Delivery.WEBHOOK,
    )
    [task] = create_generations(owner=alice, variants=[params], images=[frame])
    wait_until(
        lambda: GenerationTask.objects.get(pk=task.pk).state == State.SUCCEEDED,
        60,
        "the task to succeed",
    )
    task.refresh_from_db()
    new = sharing.create_link(owner=alice, video=task.video)
    page = requests.get(f"{stack.web_url}/s/{new.token}/", timeout=10)
    assert page.status_code == 200
    requests.get(f"{stack.web_url}/s/not-a-real-token/", timeout=10)
    stack.stop()  # flush every log

    logs = {
        name: stack.log(name) for name in ("web", "worker", "dispatcher", "simulator")
    }
    everything = "\n".join(logs.values())
    assert SIM_KEY not in everything
    assert new.token not in everything
    for what, pattern in UNREDACTED.items():
        leaks = pattern.findall(everything)
        assert not leaks, f"{what} in the logs: {leaks[:3]}"
    web = logs["web"]
    # The tokens were there to hide: the simulator fetched the frame and called back.
    assert re.search(r"GET /i/\[redacted\]/ HTTP", web), web[-3000:]
    assert re.search(r"POST /hooks/apixo/\d+/\[redacted\]/ HTTP", web), web[-3000:]
    assert "GET /s/[redacted]/ HTTP" in web
