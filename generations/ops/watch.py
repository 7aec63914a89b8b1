"""What every provider call tells us: counted for metrics, fed to the breaker.

``observe_provider_call`` is the client's ``after_request`` hook (wired in
``generations.pipeline.common.get_client``). It never raises: losing a count is
acceptable, losing a taskId the provider just gave us is not.
"""

from __future__ import annotations

import logging

from generations.apixo.client import ProviderError
from generations.ops import breaker, counters

log = logging.getLogger(__name__)

PREFIX = "provider:"
OK = "ok"


def counter_name(endpoint: str, outcome: str) -> str:
    return f"{PREFIX}{endpoint}:{outcome}"


def parse_counter_name(name: str) -> tuple[str, str]:
    """(endpoint, outcome) of a name made by ``counter_name``."""
    endpoint, _, outcome = name.removeprefix(PREFIX).partition(":")
    return endpoint, outcome


def observe_provider_call(endpoint: str, error: ProviderError | None) -> None:
    try:
        counters.incr(counter_name(endpoint, error.kind if error else OK))
    except Exception as exc:
        log.warning("could not count a provider request: %s", type(exc).__name__)
    try:
        breaker.record(error)
    except Exception as exc:
        log.warning("could not update the provider breaker: %s", type(exc).__name__)
