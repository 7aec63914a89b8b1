"""The README's batch script (examples/batch.py) against real processes: web,
workers, dispatcher and the simulator, as ``make run`` starts them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from generations.api import tokens, webhooks
from generations.models import GenerationTask, LedgerEntry, State, WebhookDelivery
from generations.models.api import DeliveryState
from tests.processes import ROOT, Stack, free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CSV = """prompt,resolution,duration,sound
a red fox trots through fresh snow at dawn,480p,4,0
a lighthouse in a storm with crashing waves,480p,4,1
"""


def run_script(stack: Stack, secret: str, csv: Path, out: Path, *extra: str) -> str:
    script = str(ROOT / "examples" / "batch.py")
    result = subprocess.run(
        [sys.executable, script, str(csv), "--out", str(out), *extra],
        env={"SEEDANCE_URL": stack.web_url, "SEEDANCE_TOKEN": secret, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_it_runs_the_readme_batch_script(
    stack: Stack, alice: Any, tmp_path: Path
) -> None:
    secret = tokens.create_token(
        owner=alice, name="batch", scopes=["read", "generate"], expires_in_days=1
    ).secret
    stack.start_simulator()
    stack.start_workers()
    stack.start_dispatcher()
    stack.start_web()
    csv = tmp_path / "prompts.csv"
    csv.write_text(CSV)
    out = tmp_path / "videos"
    run_script(stack, secret, csv, out)
    tasks = list(GenerationTask.objects.filter(owner=alice))
    assert len(tasks) == 2
    assert {t.state for t in tasks} == {State.SUCCEEDED}
    saved = sorted(out.glob("*.mp4"))
    assert [p.name for p in saved] == sorted(f"seedance-{t.pk}.mp4" for t in tasks)
    assert all(p.read_bytes()[4:8] == b"ftyp" for p in saved)
    # Run again (as after a crash): the same keys answer; nothing new is paid.
    holds = LedgerEntry.objects.filter(kind="hold").count()
    run_script(stack, secret, csv, out)
    assert GenerationTask.objects.filter(owner=alice).count() == 2
    assert LedgerEntry.objects.filter(kind="hold").count() == holds


def test_it_waits_for_the_signed_webhooks(
    stack: Stack, alice: Any, tmp_path: Path, settings: Any
) -> None:
    settings.WEBHOOKS_ALLOW_LOCAL = True
    stack.env["WEBHOOKS_ALLOW_LOCAL"] = "1"
    port = free_port()
    endpoint = webhooks.add_endpoint(
        owner=alice,
        url=f"http://127.0.0.1:{port}/hooks",
        event_types=["task.succeeded", "task.failed"],
    )
    secret = tokens.create_token(
        owner=alice, name="batch", scopes=["read", "generate"], expires_in_days=1
    ).secret
    stack.start_simulator()
    stack.start_workers()
    stack.start_dispatcher()
    stack.start_web()
    csv = tmp_path / "prompts.csv"
    csv.write_text(CSV)
    output = run_script(
        stack, secret, csv, tmp_path / "videos",
        "--webhook-port", str(port), "--webhook-secret", endpoint.secret,
        "--webhook-timeout", "120",
    )  # fmt: skip
    tasks = list(GenerationTask.objects.filter(owner=alice))
    for task in tasks:
        assert f"webhook task.succeeded: task {task.pk}" in output
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert {d.state for d in deliveries} == {DeliveryState.DELIVERED}
    assert deliveries.count() == len(tasks) == 2
