#!/usr/bin/env python3
"""Submit a batch of videos from a CSV, wait until they finish, download them.

    SEEDANCE_URL=https://studio.example.com SEEDANCE_TOKEN=sst_... \
        python examples/batch.py prompts.csv --out videos/

The CSV has a ``prompt`` column and optionally any other generation parameter
(resolution, duration, sound, aspect_ratio, fixed_lens, routing,
start_image_url, ...). Each row is sent with an Idempotency-Key made from the
file name and the row, so running the script again after a crash or a timeout
never pays twice: the Studio answers with the tasks it already made.

It polls (GET /api/v1/tasks/{id}); with --webhook-port it instead waits for the
signed task.succeeded / task.failed webhooks on that port (verified with
--webhook-secret, using the ``standardwebhooks`` package), polling as a fallback.
Needs only ``requests`` (and ``standardwebhooks`` for --webhook-port).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import requests

DONE = {"succeeded", "failed", "cancelled"}
YES = {"1", "true", "yes", "on"}


def row_params(row: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {k: v for k, v in row.items() if v not in ("", None)}
    if "duration" in params:
        params["duration"] = int(params["duration"])
    for name in ("sound", "fixed_lens"):
        if name in params:
            params[name] = str(params[name]).lower() in YES
    return params


def submit(
    session: requests.Session, base: str, key: str, params: dict[str, Any]
) -> list[int]:
    for attempt in range(5):
        try:
            response = session.post(
                f"{base}/api/v1/generations",
                json=params,
                headers={"Idempotency-Key": key},
                timeout=30,
            )
        except requests.RequestException:
            time.sleep(2**attempt)  # safe: the same key never pays twice
            continue
        if response.status_code == 429:
            time.sleep(int(response.headers.get("Retry-After", "5")))
            continue
        if response.status_code != 201:
            problem = response.json()
            sys.exit(f"{params.get('prompt', '')[:40]!r}: {problem.get('detail')}")
        return [task["id"] for task in response.json()["tasks"]]
    sys.exit("The Studio did not answer; run the script again (it is safe).")


def wait_by_polling(
    session: requests.Session, base: str, ids: set[int]
) -> dict[int, dict[str, Any]]:
    finished: dict[int, dict[str, Any]] = {}
    while ids - finished.keys():
        for task_id in sorted(ids - finished.keys()):
            response = session.get(f"{base}/api/v1/tasks/{task_id}", timeout=30)
            if response.status_code == 429:
                time.sleep(int(response.headers.get("Retry-After", "5")))
                continue
            response.raise_for_status()
            task = response.json()
            if task["state"] in DONE:
                finished[task_id] = task
                print(f"task {task_id}: {task['state']}", flush=True)
        time.sleep(2)
    return finished


def wait_for_webhooks(
    port: int, secret: str, ids: set[int], timeout: float
) -> set[int]:
    """Task ids whose signed webhook arrived (others are polled afterwards)."""
    import http.server
    import json

    from standardwebhooks.webhooks import Webhook

    verifier = Webhook(secret)
    heard: set[int] = set()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                event = verifier.verify(body, dict(self.headers.items()))
            except Exception:
                self.send_response(401)
                self.end_headers()
                return
            data = (
                event.get("data", {}) if isinstance(event, dict) else json.loads(body)
            )
            if data.get("task_id") in ids:
                heard.add(int(data["task_id"]))
                print(f"webhook {event['type']}: task {data['task_id']}", flush=True)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("0.0.0.0", port), Handler)
    server.timeout = 1
    deadline = time.monotonic() + timeout
    while ids - heard and time.monotonic() < deadline:
        server.handle_request()
    server.server_close()
    return heard


def download(
    session: requests.Session, base: str, task: dict[str, Any], out: Path
) -> Path:
    target = out / f"seedance-{task['id']}.mp4"
    with session.get(base + task["video_url"], stream=True, timeout=60) as response:
        response.raise_for_status()
        partial = target.with_suffix(".part")
        with partial.open("wb") as file:
            for chunk in response.iter_content(64 * 1024):
                file.write(chunk)
        partial.replace(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--out", type=Path, default=Path("videos"))
    parser.add_argument("--webhook-port", type=int, default=0)
    parser.add_argument(
        "--webhook-secret", default=os.environ.get("SEEDANCE_WEBHOOK_SECRET", "")
    )
    parser.add_argument("--webhook-timeout", type=float, default=1800)
    args = parser.parse_args()
    base = os.environ.get("SEEDANCE_URL", "http://127.0.0.1:8000").rstrip("/")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {os.environ['SEEDANCE_TOKEN']}"

    ids: set[int] = set()
    with args.csv.open(newline="", encoding="utf-8") as file:
        for number, row in enumerate(csv.DictReader(file), start=1):
            params = row_params(row)
            key = hashlib.sha256(
                f"{args.csv.name}:{number}:{sorted(params.items())}".encode()
            ).hexdigest()
            made = submit(session, base, key, params)
            print(f"row {number}: tasks {made}", flush=True)
            ids.update(made)
    if args.webhook_port and args.webhook_secret:
        wait_for_webhooks(
            args.webhook_port, args.webhook_secret, ids, args.webhook_timeout
        )
    finished = wait_by_polling(session, base, ids)
    args.out.mkdir(parents=True, exist_ok=True)
    for task in finished.values():
        if task["state"] == "succeeded":
            print(f"saved {download(session, base, task, args.out)}", flush=True)
        else:
            print(
                f"task {task['id']} {task['state']}: {task.get('fail_reason')}",
                flush=True,
            )


if __name__ == "__main__":
    main()
