"""The only module that sends HTTP to the provider.

Every call has a timeout. Every failure becomes a ``ProviderError`` that says whether
it may be retried and, for a submission, whether the request can have reached the
provider at all (``maybe_sent``): a paid request is re-sent only when it provably
was not. The API key never appears in a message, a repr or a log line.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from generations.apixo import contract

log = logging.getLogger(__name__)


class ProviderError(Exception):
    """A provider call that did not give a usable answer.

    ``retryable``: the same call may succeed later. ``maybe_sent``: the request may
    have reached the provider (for generateTask: a task may exist that we do not
    know the id of). ``status`` is the HTTP status or the JSON ``code``.
    """

    kind = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        maybe_sent: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.maybe_sent = maybe_sent
        self.retry_after = retry_after

    def __str__(self) -> str:
        prefix = f"HTTP {self.status}: " if self.status else ""
        return f"{prefix}{self.message}"


class BadRequest(ProviderError):
    kind = "bad_request"


class AuthError(ProviderError):
    kind = "auth"


class InsufficientBalance(ProviderError):
    kind = "insufficient_balance"


class NotFound(ProviderError):
    kind = "not_found"


class RateLimited(ProviderError):
    kind = "rate_limited"


class ServerError(ProviderError):
    kind = "server_error"


class TransportError(ProviderError):
    kind = "transport"


class MalformedResponse(ProviderError):
    kind = "malformed"


UNDOCUMENTED_STATE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")


@dataclass(frozen=True)
class TaskStatus:
    task_id: str
    state: str
    result_urls: list[str] = field(default_factory=list)
    fail_code: str = ""
    fail_message: str = ""
    create_time_ms: int | None = None
    complete_time_ms: int | None = None
    cost_time_ms: int | None = None

    @property
    def is_terminal(self) -> bool:
        return self.state in (contract.SUCCESS, contract.FAILED)

    @property
    def is_documented(self) -> bool:
        return self.state in contract.STATES


def parse_status(data: Any) -> TaskStatus:
    """Parse the ``data`` object of a status response or webhook body.

    Raises MalformedResponse for anything that does not follow the contract,
    including a ``resultJson`` that is not a JSON string holding resultUrls.
    """
    if not isinstance(data, dict):
        raise MalformedResponse("status data is not an object", retryable=True)
    task_id, state = data.get("taskId"), data.get("state")
    if not isinstance(task_id, str) or not task_id:
        raise MalformedResponse("status data has no taskId", retryable=True)
    # A state the contract does not document (say "queued") is kept as the
    # provider said it: not an error; callers treat it as still running.
    if not isinstance(state, str) or not UNDOCUMENTED_STATE.fullmatch(state):
        raise MalformedResponse(f"unreadable task state {state!r}", retryable=True)
    urls: list[str] = []
    if state == contract.SUCCESS:
        urls = _parse_result_json(data.get("resultJson"))
    return TaskStatus(
        task_id=task_id,
        state=state,
        result_urls=urls,
        fail_code=str(data.get("failCode") or ""),
        fail_message=str(data.get("failMsg") or ""),
        create_time_ms=_int_or_none(data.get("createTime")),
        complete_time_ms=_int_or_none(data.get("completeTime")),
        cost_time_ms=_int_or_none(data.get("costTime")),
    )


def _parse_result_json(raw: Any) -> list[str]:
    # resultJson is a JSON *string* to be parsed a second time; accept an already
    # decoded object too, in case the provider changes that.
    try:
        result = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise MalformedResponse(
            "resultJson is not valid JSON", retryable=True
        ) from None
    urls = result.get("resultUrls") if isinstance(result, dict) else None
    if (
        not isinstance(urls, list)
        or not urls
        or not all(isinstance(u, str) and u for u in urls)
    ):
        raise MalformedResponse("resultJson holds no resultUrls", retryable=True)
    return urls


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return None


# Called before every request with the endpoint name; the shared rate limiter hooks
# in here so that every process stays inside the provider's budget.
BeforeRequest = Callable[[str], None]
# Called after every request with the endpoint name and the error (None when the
# call succeeded): metrics and the provider circuit breaker hook in here.
AfterRequest = Callable[[str, "ProviderError | None"], None]


class ApixoClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float = 20.0,
        connect_timeout: float = 5.0,
        session: requests.Session | None = None,
        before_request: BeforeRequest | None = None,
        after_request: AfterRequest | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = (connect_timeout, timeout)
        self.session = session or requests.Session()
        self.before_request = before_request
        self.after_request = after_request

    def __repr__(self) -> str:
        return f"ApixoClient(base_url={self.base_url!r})"

    def create_task(
        self,
        *,
        input: dict[str, Any],
        provider: str = "auto",
        callback_url: str | None = None,
    ) -> str:
        """POST generateTask; returns the provider's taskId."""
        body: dict[str, Any] = {
            "request_type": "callback" if callback_url else "async",
            "provider": provider,
            "input": input,
        }
        if callback_url:
            body["callback_url"] = callback_url
        data = self._call("generate", "POST", contract.GENERATE_PATH, json_body=body)
        task_id = data.get("taskId") if isinstance(data, dict) else None
        if not isinstance(task_id, str) or not task_id:
            # We cannot tell whether a task was created: treat as maybe sent.
            raise MalformedResponse("generateTask answered without a taskId")
        return task_id

    def get_status(self, task_id: str) -> TaskStatus:
        data = self._call(
            "status", "GET", contract.STATUS_PATH, params={"taskId": task_id}
        )
        status = parse_status(data)
        if status.task_id != task_id:
            raise MalformedResponse("status answer names another task", retryable=True)
        return status

    def get_balance(self) -> float:
        data = self._call("balance", "GET", contract.BALANCE_PATH)
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise MalformedResponse("balance is not a number", retryable=True)
        return float(data)

    def _call(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> Any:
        if self.before_request is not None:
            self.before_request(endpoint)
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
        }
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=json_body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            error = _transport_error(exc)
            self._after(endpoint, error)
            raise error from None
        try:
            data = _decode(response)
        except ProviderError as exc:
            self._after(endpoint, exc)
            raise
        self._after(endpoint, None)
        return data

    def _after(self, endpoint: str, error: ProviderError | None) -> None:
        # Never let bookkeeping lose an answer (a taskId above all).
        if self.after_request is None:
            return
        try:
            self.after_request(endpoint, error)
        except Exception as exc:
            log.warning("after_request hook failed: %s", type(exc).__name__)


def _transport_error(exc: requests.RequestException) -> TransportError:
    # Only a failure to open the connection proves the request never left us.
    if isinstance(exc, requests.ConnectTimeout) or _connect_refused(exc):
        return TransportError(
            f"could not connect to the provider ({type(exc).__name__})",
            retryable=True,
            maybe_sent=False,
        )
    if isinstance(exc, requests.Timeout):
        return TransportError("the provider did not answer in time", retryable=True)
    return TransportError(
        f"the connection to the provider failed ({type(exc).__name__})", retryable=True
    )


def _connect_refused(exc: requests.RequestException) -> bool:
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason: Any = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _decode(response: requests.Response) -> Any:
    """Turn a response into its ``data`` or a typed error.

    The contract does not say whether the HTTP status mirrors the JSON ``code``, so
    an error in either one counts.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    status = response.status_code
    if status == 200 and isinstance(code, int) and code == 200:
        return body.get("data") if isinstance(body, dict) else None
    error_status = status if status != 200 else code
    if error_status is None or not isinstance(error_status, int):
        raise MalformedResponse(
            f"unreadable answer (HTTP {status})", status=status, retryable=True
        )
    detail = str(message or response.reason or "error")
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        extra = body["data"].get("error")
        if extra:
            detail = f"{detail}: {extra}"
    raise _error_for(error_status, detail[:500], response.headers.get("Retry-After"))


def _error_for(
    status: int, detail: str, retry_after_header: str | None
) -> ProviderError:
    if status == 429:
        return RateLimited(
            detail,
            status=status,
            retryable=True,
            maybe_sent=False,
            retry_after=_retry_after(retry_after_header),
        )
    if status == 402 or (status == 400 and "insufficient" in detail.lower()):
        return InsufficientBalance(detail, status=status, maybe_sent=False)
    if status == 400:
        return BadRequest(detail, status=status, maybe_sent=False)
    if status in (401, 403):
        return AuthError(detail, status=status, maybe_sent=False)
    if status == 404:
        return NotFound(detail, status=status, maybe_sent=False)
    if status >= 500:
        return ServerError(detail, status=status, retryable=True)
    return ProviderError(detail, status=status)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def client_from_settings(**overrides: Any) -> ApixoClient:
    from django.conf import settings

    options: dict[str, Any] = {
        "base_url": settings.APIXO_BASE_URL,
        "api_key": settings.APIXO_EFFECTIVE_KEY,
        "timeout": settings.APIXO_TIMEOUT_SECONDS,
    }
    options.update(overrides)
    return ApixoClient(**options)
