"""Errors as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse

PROBLEM_TYPE = "application/problem+json"
# Stable English titles per status (machine-facing; ``detail`` says what happened).
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    402: "Payment required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
}


class Problem(Exception):
    """Raised by an operation; answered as a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        retry_after: int | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after
        self.errors = errors


def problem_body(
    status: int, detail: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    title = TITLES.get(status) or HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return body


def problem_response(
    status: int,
    detail: str,
    *,
    retry_after: int | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    response = HttpResponse(
        json.dumps(problem_body(status, detail, errors)),
        status=status,
        content_type=PROBLEM_TYPE,
    )
    if retry_after is not None:
        response["Retry-After"] = str(max(1, retry_after))
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def from_problem(problem: Problem) -> HttpResponse:
    return problem_response(
        problem.status,
        problem.detail,
        retry_after=problem.retry_after,
        errors=problem.errors,
    )
