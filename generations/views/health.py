"""Health checks and metrics for load balancers and monitors.

- ``/healthz/live`` (liveness): this web process answers; touches nothing else,
  so a load balancer never drops web nodes because the dispatcher is stale.
- ``/healthz/ready`` (readiness), and ``/healthz`` as before: database, broker
  and dispatcher heartbeat. Each check answers "ok" or a one-word problem; the
  status is 200 only when every check is ok. Error details go to the log
  (redacted), never into the answer.
- ``/metrics``: Prometheus text format, for staff or ``Authorization: Bearer
  <METRICS_TOKEN>`` (compared in constant time, never logged).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from generations.ops import counters
from generations.pipeline import dispatch

log = logging.getLogger(__name__)


def database_status() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def broker_status() -> str:
    if settings.REDIS_URL:
        return "ok" if counters.redis_client(settings.REDIS_URL).ping() else "down"
    from django_q.models import OrmQ

    OrmQ.objects.exists()  # the ORM broker's queue table is readable
    return "ok"


def dispatcher_age() -> float | None:
    beat = dispatch.dispatcher_heartbeat()
    return None if beat is None else max(0.0, time.time() - beat)


def stale_after_seconds() -> float:
    return float(
        getattr(settings, "DISPATCHER_STALE_SECONDS", 0)
        or max(15.0, 10 * float(settings.DISPATCH_INTERVAL_SECONDS))
    )


def _run(name: str, check: Callable[[], str]) -> str:
    try:
        return check()
    except Exception as exc:
        log.warning("health check %s failed: %s", name, type(exc).__name__)
        return "error"


@never_cache
@require_safe
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    body: dict[str, object] = {
        "database": _run("database", database_status),
        "broker": _run("broker", broker_status),
    }
    try:
        age = dispatcher_age()
    except Exception as exc:
        log.warning("health check dispatcher failed: %s", type(exc).__name__)
        body["dispatcher"] = "error"
    else:
        if age is None:
            body["dispatcher"] = "missing"
        else:
            body["dispatcher"] = "ok" if age <= stale_after_seconds() else "stale"
            body["dispatcher_heartbeat_age_seconds"] = round(age, 1)
    healthy = all(body[k] == "ok" for k in ("database", "broker", "dispatcher"))
    body["status"] = "ok" if healthy else "fail"
    return JsonResponse(body, status=200 if healthy else 503)


def _bearer_token_ok(request: HttpRequest) -> bool:
    expected = str(getattr(settings, "METRICS_TOKEN", "") or "")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if not expected or scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    from prometheus_client import CONTENT_TYPE_LATEST

    from generations.ops import metrics as studio_metrics

    user = getattr(request, "user", None)
    is_staff = bool(user is not None and user.is_authenticated and user.is_staff)
    if not (is_staff or _bearer_token_ok(request)):
        response = HttpResponse("Authentication required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(studio_metrics.render(), content_type=CONTENT_TYPE_LATEST)
