"""schemathesis against the live schema: no server error, no answer that breaks
the published schema, for a bounded number of examples per operation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from generations.api import tokens
from tests.factories import make_finished_task, queue_task

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXAMPLES_PER_OPERATION = 12


def test_it_keeps_to_its_schema(live_server: Any, alice: Any, settings: Any) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000
    secret = tokens.create_token(
        owner=alice,
        name="schemathesis",
        scopes=["read", "generate", "share"],
        expires_in_days=1,
    ).secret
    make_finished_task(alice)
    queue_task(alice)
    cli = shutil.which("st", path=str(Path(sys.executable).parent))
    assert cli, "schemathesis is a dev dependency (pyproject.toml)"
    result = subprocess.run(
        [
            cli,
            "run",
            f"{live_server.url}/api/v1/openapi.json",
            "--url",
            live_server.url,
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--header",
            f"Authorization: Bearer {secret}",
            "--request-timeout",
            "20",
            "--seed",
            "16",
            "--generation-deterministic",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
