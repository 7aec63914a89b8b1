"""The provider's webhook: an untrusted hint that triggers a status read.

The URL names our task and carries a per-task secret (only its hash is stored);
any mismatch answers 404. The body is never trusted for the task's state: the
callback only makes the task's next status read due now, and (for a submission
whose answer was lost) teaches us the provider's task id.
"""

from __future__ import annotations

import contextlib

from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from generations import security
from generations.models import POLLED_STATES, GenerationTask, State
from generations.models.tasks import ID_LEARNABLE_STATES
from generations.pipeline.common import hash_token

MAX_CALLBACK_BYTES = 64 * 1024
HINTABLE = POLLED_STATES | {State.UNKNOWN}


@csrf_exempt
@require_POST
def apixo_callback(request: HttpRequest, task_id: int, token: str) -> HttpResponse:
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdecimal() or int(length) > MAX_CALLBACK_BYTES:
        return JsonResponse({"error": "body too large"}, status=413)
    row = (
        GenerationTask.objects.filter(pk=task_id)
        .values("callback_token_hash", "provider_task_id", "state")
        .first()
    )
    expected = row["callback_token_hash"] if row else ""
    if not expected or not constant_time_compare(hash_token(token), expected):
        return HttpResponse(status=404)
    assert row is not None
    now = timezone.now()
    # A callback that knows this task's token (only our POST carried it) proves the
    # provider received the submission: in ID_LEARNABLE_STATES its taskId is kept.
    if row["provider_task_id"] is None and row["state"] in ID_LEARNABLE_STATES:
        _learn_task_id(task_id, _task_id_in(request.body))
    GenerationTask.objects.filter(pk=task_id).update(callback_received_at=now)
    GenerationTask.objects.filter(pk=task_id, state__in=HINTABLE).update(
        next_action_at=now
    )
    return JsonResponse({"ok": True})


def _task_id_in(body: bytes) -> str | None:
    try:
        # Depth-bounded: deeply nested JSON would otherwise recurse into a 500.
        data = security.load_json(body).get("data")
        value = data.get("taskId") if isinstance(data, dict) else None
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and 0 < len(value) <= 128 else None


def _learn_task_id(task_id: int, provider_task_id: str | None) -> None:
    if provider_task_id is None:
        return
    # An IntegrityError means the id belongs to another task: a forged or
    # confused callback, which changes nothing.
    with contextlib.suppress(IntegrityError):
        GenerationTask.objects.filter(
            pk=task_id, provider_task_id=None, state__in=ID_LEARNABLE_STATES
        ).update(provider_task_id=provider_task_id)
