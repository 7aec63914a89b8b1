"""Log records that never carry a secret, and say which task they are about.

``RedactingFilter`` sits on every handler (see LOGGING in settings): it renders
the message (and any traceback) once, removes secrets, and stores the result, so
every formatter downstream sees only the redacted text. It removes:

- the configured keys (the Apixo API key, the simulator key, SECRET_KEY, the
  media bucket's secret key),
- ``Bearer`` credentials and ``password=``/``token=``-style query values,
- API personal access tokens (``sst_…``) and webhook secrets (``whsec_…``),
- tokens in our own URLs: share links ``/s/<token>``, webhook callbacks
  ``/hooks/apixo/<id>/<token>/`` and signed frame URLs ``/i/<token>/``.

``TaskContextFilter`` adds ``task_id`` (and ``job``) to records logged while a
django-q2 worker runs one of our jobs, and ``JsonFormatter`` writes one JSON
object per line when ``LOG_FORMAT=json``.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

REDACTED = "[redacted]"

# (pattern, replacement): each keeps the part that says what was removed.
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\1{REDACTED}"),
    (
        re.compile(r"(/hooks/apixo/[^/\s\"'?#]+/)[^/\s\"'?#]+"),
        rf"\1{REDACTED}",
    ),
    # Personal access tokens of the API (generations/models/api.py TOKEN_PREFIX),
    # wherever they appear (a pasted curl line, a header dump, a traceback).
    (re.compile(r"\b(sst_)[A-Za-z0-9_-]{8,}"), rf"\1{REDACTED}"),
    # Webhook endpoint signing secrets (Standard Webhooks' "whsec_" form).
    (re.compile(r"\b(whsec_)[A-Za-z0-9+/=]{8,}"), rf"\1{REDACTED}"),
    (re.compile(r"(/s/)[^/\s\"'?#]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/i/)[^/\s\"'?#]+"), rf"\1{REDACTED}"),
    (
        re.compile(
            r"(?i)\b((?:api[_-]?key|apikey|password|passwd|secret|token|"
            r"sessionid|csrftoken|signature|sig)[\"']?\s*[=:]\s*[\"']?)"
            r"[^\s&\"',;}]+"
        ),
        rf"\1{REDACTED}",
    ),
]
# Literal secrets shorter than this are not worth (or safe for) replacing.
MIN_SECRET_LENGTH = 6


def configured_secrets() -> list[str]:
    try:
        from django.conf import settings

        names = (
            "APIXO_API_KEY",
            "APIXO_EFFECTIVE_KEY",
            "SIMULATOR_API_KEY",
            "METRICS_TOKEN",
        )
        values = [str(getattr(settings, name, "") or "") for name in names]
        values.append(str(settings.SECRET_KEY or ""))
        # The media bucket's secret key (MEDIA_STORAGE=s3).
        media = settings.STORAGES.get("default", {}).get("OPTIONS", {})
        values.append(str(media.get("secret_key") or ""))
    except Exception:  # settings not configured (yet): patterns still apply
        return []
    found = {v for v in values if len(v) >= MIN_SECRET_LENGTH}
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    for secret in configured_secrets() if secrets is None else secrets:
        text = text.replace(secret, REDACTED)
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Replaces a record's message and traceback with redacted text; never drops."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_seedance_redacted", False):
            return True
        secrets = configured_secrets()
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what we can show
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message, secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        record._seedance_redacted = True
        return True


# --- Task ids --------------------------------------------------------------------

_task: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "seedance_log_task", default=None
)


@contextlib.contextmanager
def task_context(task_id: int | None, job: str = "") -> Iterator[None]:
    """Records logged inside carry ``task_id`` and ``job``."""
    token = _task.set({"task_id": task_id, "job": job})
    try:
        yield
    finally:
        _task.reset(token)


class TaskContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = _task.get()
        if not hasattr(record, "task_id"):
            record.task_id = current["task_id"] if current else None
        if not hasattr(record, "job"):
            record.job = current["job"] if current else ""
        return True


def _job_started(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    name = str(task.get("func", ""))
    args = task.get("args") or ()
    if not name.startswith("generations.") or not args or not isinstance(args[0], int):
        return
    _task.set({"task_id": args[0], "job": name.rsplit(".", 1)[-1]})


def _job_finished(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    _task.set(None)


def connect_task_logging() -> None:
    """Tag records logged inside django-q2 jobs with their task id.

    Call from ``AppConfig.ready()``: django-q2's signals need the app registry.
    """
    from django_q.signals import post_execute_in_worker, pre_execute

    pre_execute.connect(_job_started, dispatch_uid="seedance-log-task")
    post_execute_in_worker.connect(_job_finished, dispatch_uid="seedance-log-task")


# --- Formats ---------------------------------------------------------------------


class PlainFormatter(logging.Formatter):
    """``time level logger [task 12 poll_task]: message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(task)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        task_id = getattr(record, "task_id", None)
        job = getattr(record, "job", "")
        record.task = f" [task {task_id}{' ' + job if job else ''}]" if task_id else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        task_id = getattr(record, "task_id", None)
        if task_id is not None:
            entry["task_id"] = task_id
            entry["job"] = getattr(record, "job", "")
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, default=str)
