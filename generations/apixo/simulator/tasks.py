"""Simulated tasks: their timeline, their state at any moment, their status view.

State is never stored: it is computed from timestamps when asked (no thread per
task). A task is ``pending`` until ``created_at + queue_seconds``; then
``processing`` until its end; then ``success`` or ``failed``. A task that still
waits for its image check has no end yet and stays ``processing``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generations.apixo.contract import FAIL_CODES, FAILED, PENDING, PROCESSING, SUCCESS

from .validation import GenerateRequest
from .video import VideoSpec

FAIL_TRIGGER = re.compile(r"\[sim:fail=([A-Za-z0-9_]+)\]")
TIME_TRIGGER = re.compile(r"\[sim:time=([0-9]+(?:\.[0-9]+)?)\]")

# What the provider says in failMsg (its words, not ours).
PROVIDER_FAIL_MESSAGES = {
    "CONTENT_VIOLATION": "Content does not meet safety guidelines",
    "INVALID_IMAGE_URL": "Failed to fetch image from the provided URL",
    "IMAGE_DOWNLOAD_FAILED": "Image download failed",
    "IMAGE_TOO_LARGE": "Image size exceeds the 10MB limit",
    "UNSUPPORTED_FORMAT": "Unsupported image format, use JPG, PNG or WebP",
    "GENERATION_FAILED": "Video generation failed",
}


def fail_message(code: str) -> str:
    if code in PROVIDER_FAIL_MESSAGES:
        return PROVIDER_FAIL_MESSAGES[code]
    if code in FAIL_CODES:
        return FAIL_CODES[code][0]
    return "Task failed"


def prompt_fail_trigger(prompt: str) -> str | None:
    """The failCode named by a ``[sim:fail=CODE]`` trigger in the prompt, if any."""
    match = FAIL_TRIGGER.search(prompt)
    return match.group(1).upper() if match else None


def prompt_time_trigger(prompt: str) -> float | None:
    """Generation seconds (before speed scaling) named by ``[sim:time=S]``."""
    match = TIME_TRIGGER.search(prompt)
    return float(match.group(1)) if match else None


@dataclass
class SimTask:
    """One task. Every time is Unix seconds (wall clock) or real seconds."""

    task_id: str
    request: GenerateRequest
    created_at: float
    queue_seconds: float
    total_seconds: float
    epoch: int
    fail_code: str | None = None
    fail_msg: str | None = None
    # Moderation-like failures end at the end of the queue, not after generating.
    fail_early: bool = False
    malformed_result: bool = False
    # Deliver a video off the order: "short", "low_resolution", "silent" (or None).
    delivery_fault: str | None = None
    images_pending: bool = False
    images_checked_at: float | None = None
    image_paths: tuple[Path, ...] = field(default=())
    video_spec: VideoSpec | None = None
    video_key: str | None = None
    finalized: bool = False

    def fail(self, code: str, message: str | None = None, *, early: bool) -> None:
        self.fail_code = code
        self.fail_msg = message or fail_message(code)
        self.fail_early = early

    def end_time(self) -> float | None:
        """When the task reaches its terminal state; None while images are checked."""
        if self.images_pending:
            return None
        if self.fail_code is not None and self.fail_early:
            end = self.created_at + self.queue_seconds
        else:
            end = self.created_at + self.total_seconds
        if self.images_checked_at is not None:
            end = max(end, self.images_checked_at)
        return end

    def state_at(self, now: float) -> str:
        if now < self.created_at + self.queue_seconds:
            return PENDING
        end = self.end_time()
        if end is None or now < end:
            return PROCESSING
        return FAILED if self.fail_code is not None else SUCCESS

    def status_data(self, now: float, result_url: str | None) -> dict[str, Any]:
        """The ``data`` object of the status response (and of the webhook body)."""
        state = self.state_at(now)
        data: dict[str, Any] = {
            "taskId": self.task_id,
            "state": state,
            "createTime": to_ms(self.created_at),
        }
        if state == SUCCESS:
            data["resultJson"] = self.result_json(result_url or "")
        elif state == FAILED:
            data["failCode"] = self.fail_code
            data["failMsg"] = self.fail_msg
        end = self.end_time()
        if state in (SUCCESS, FAILED) and end is not None:
            data["completeTime"] = to_ms(end)
            data["costTime"] = to_ms(end) - to_ms(self.created_at)
        return data

    def result_json(self, url: str) -> str:
        text = json.dumps({"resultUrls": [url]}, separators=(",", ":"))
        if self.malformed_result:
            # Cut inside the URL string: looks plausible, does not parse.
            return text[: len(text) // 2]
        return text


def to_ms(seconds: float) -> int:
    return int(seconds * 1000)
