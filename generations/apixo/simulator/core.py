"""The simulated provider behind the HTTP layer: tasks, balance, faults, results.

One lock guards the task table, the balance and the heap of task end times; it is
never held while encoding, fetching images or sending webhooks.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import random
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from generations.apixo.contract import (
    FAILED,
    GENERATION_SECONDS,
    PENDING,
    PROCESSING,
    SUCCESS,
    WEBHOOK_RETRY_DELAYS,
)

from .config import FaultSettings, SimulatorConfig
from .images import ImageProblem, fetch_image
from .limits import Counters, SlidingWindow
from .results import RenderFailed, VideoCache, sign, signature_ok
from .scheduler import Scheduler
from .tasks import SimTask, prompt_fail_trigger, prompt_time_trigger, to_ms
from .validation import GenerateRequest
from .video import VideoSpec
from .webhooks import Attempt, WebhookSender

logger = logging.getLogger(__name__)

# (task id, callback URL, envelope, epoch) of a webhook to send after the lock.
PendingWebhook = tuple[str, str, dict[str, Any], int]


class TooManyTasks(Exception):
    """The concurrent-task limit is reached (HTTP 429)."""


class InsufficientCredits(Exception):
    """The simulated account balance is used up (HTTP 400, like the provider)."""


class ResultError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Simulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.public_base_url = config.public_base_url or ""
        self.counters = Counters()
        self.window = SlidingWindow(
            config.rate_limit_per_minute, config.rate_limit_window_seconds
        )
        self._lock = threading.Lock()
        self._tasks: dict[str, SimTask] = {}
        self._active: set[str] = set()
        self._ends: list[tuple[float, str]] = []
        self._balance = config.initial_balance
        # Tasks created per prompt text: with a unique prompt per job, a prompt
        # created twice is a duplicate submission (the fault matrix counts them).
        self._created_prompts: Counter[str] = Counter()
        self._epoch = 0
        self._faults = config.faults
        self._rng = random.Random(config.seed)
        self._rng_lock = threading.Lock()
        self._secret = secrets.token_bytes(32)
        self._image_dir = config.data_dir / "images"
        self.scheduler = Scheduler()
        self.videos = VideoCache(
            config.data_dir / "videos", workers=config.video_workers
        )
        self._image_pool = ThreadPoolExecutor(
            config.image_workers, thread_name_prefix="simulator-images"
        )
        self.webhooks = WebhookSender(
            self.scheduler,
            workers=config.webhook_workers,
            timeout=config.webhook_timeout,
            retry_delays=[config.scaled(delay) for delay in WEBHOOK_RETRY_DELAYS],
            count=self.counters.add,
            current_epoch=lambda: self._epoch,
        )

    # Faults and randomness

    @property
    def faults(self) -> FaultSettings:
        return self._faults

    def set_faults(self, faults: FaultSettings) -> None:
        self._faults = faults

    def chance(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        with self._rng_lock:
            return self._rng.random() < rate

    def _uniform(self, low: float, high: float) -> float:
        with self._rng_lock:
            return self._rng.uniform(low, high)

    def _choice(self, options: tuple[str, ...]) -> str:
        with self._rng_lock:
            return self._rng.choice(options)

    # Tasks

    def create_task(self, request: GenerateRequest) -> SimTask:
        """Accept a validated request (raises TooManyTasks, InsufficientCredits)."""
        total = self.config.scaled(self._generation_seconds(request))
        task = SimTask(
            task_id=f"task_{secrets.token_hex(10)}",
            request=request,
            created_at=time.time(),
            queue_seconds=total * self._uniform(0.05, 0.15),
            total_seconds=total,
            epoch=self._epoch,
        )
        self._decide_outcome(task)
        check_images = bool(request.image_urls) and task.fail_code is None
        task.images_pending = check_images
        if not request.image_urls or not self.config.prompt_specific_videos:
            self._attach_video(task, ())
        with self._lock:
            webhooks = self._finalize_due_locked(time.time())
            broke = self._balance <= 0
            busy = len(self._active) >= self.config.concurrent_limit
            if not (broke or busy):
                self._evict_old_locked(time.time())
                task.epoch = self._epoch
                self._tasks[task.task_id] = task
                self._active.add(task.task_id)
                self._push_end_locked(task)
        self._send(webhooks)
        if broke:
            raise InsufficientCredits
        if busy:
            raise TooManyTasks
        self.counters.add("tasks_created")
        with self._lock:
            self._created_prompts[task.request.prompt] += 1
        if check_images:
            self._image_pool.submit(self._check_images, task)
        elif task.fail_code is None and self.config.eager_synthesis:
            self._synthesize(task)
        return task

    def _generation_seconds(self, request: GenerateRequest) -> float:
        triggered = prompt_time_trigger(request.prompt)
        if triggered is not None:
            return triggered
        override = self.config.generation_time_override
        if callable(override):
            return float(override(request.duration))
        if override is not None:
            return float(override)
        return self._uniform(*GENERATION_SECONDS[request.duration])

    def _decide_outcome(self, task: SimTask) -> None:
        faults = self._faults
        prompt = task.request.prompt
        triggered = prompt_fail_trigger(prompt)
        lowered = prompt.lower()
        if triggered is not None:
            task.fail(triggered, early=False)
        elif any(word.lower() in lowered for word in faults.content_violation_words):
            task.fail("CONTENT_VIOLATION", early=True)
        elif self.chance(faults.fail_rate):
            task.fail(self._choice(faults.fail_codes), early=False)
        task.malformed_result = self.chance(faults.malformed_result_json_rate)
        for fault, rate in (
            ("short", faults.short_result_rate),
            ("low_resolution", faults.low_resolution_result_rate),
            ("silent", faults.silent_result_rate),
        ):
            if task.delivery_fault is None and self.chance(rate):
                task.delivery_fault = fault

    def _attach_video(self, task: SimTask, images: tuple[Path, ...]) -> None:
        request = task.request
        generic = not self.config.prompt_specific_videos
        spec = VideoSpec.for_task(
            resolution=request.resolution,
            aspect_ratio=request.aspect_ratio,
            duration=request.duration,
            sound=request.sound,
            prompt="" if generic else request.prompt,
            images=() if generic else images,
            fixed_lens=request.fixed_lens,
        )
        spec = _off_the_order(spec, task.delivery_fault)
        task.video_spec = spec
        task.video_key = spec.cache_key()

    def _synthesize(self, task: SimTask) -> None:
        if task.video_key is not None and task.video_spec is not None:
            self.videos.request(task.video_key, task.video_spec)

    def _check_images(self, task: SimTask) -> None:
        paths: list[Path] = []
        problem: ImageProblem | None = None
        try:
            for url in task.request.image_urls:
                paths.append(
                    fetch_image(
                        url,
                        self._image_dir,
                        timeout=self.config.image_fetch_timeout_seconds,
                    )
                )
        except ImageProblem as error:
            problem = error
        except Exception:
            logger.exception("simulator: image check crashed")
            problem = ImageProblem("IMAGE_DOWNLOAD_FAILED", "Image download failed")
        if problem is None and task.video_spec is None:
            self._attach_video(task, tuple(paths))
        with self._lock:
            if self._tasks.get(task.task_id) is not task:
                return  # reset meanwhile
            task.images_pending = False
            task.images_checked_at = time.time()
            if problem is not None:
                task.fail(problem.fail_code, problem.message, early=True)
            self._push_end_locked(task)
        self.counters.add("images_checked")
        if task.fail_code is None and self.config.eager_synthesis:
            self._synthesize(task)

    def _evict_old_locked(self, now: float) -> None:
        """Forget the oldest settled tasks past their result URL's lifetime or past
        ``max_tasks`` (their status then answers 404), so memory stays bounded."""
        ttl = self.config.scaled(self.config.result_url_ttl_seconds)
        while self._tasks:
            oldest = next(iter(self._tasks.values()))
            if not oldest.finalized:
                return
            expired = oldest.created_at + oldest.total_seconds + ttl < now
            if not expired and len(self._tasks) < self.config.max_tasks:
                return
            del self._tasks[oldest.task_id]

    def _push_end_locked(self, task: SimTask) -> None:
        end = task.end_time()
        if end is None:
            return
        heapq.heappush(self._ends, (end, task.task_id))
        self.scheduler.call_later(end - time.time(), self.finalize_due)

    def finalize_due(self) -> None:
        """Settle every task whose end has passed (charge, free its slot, webhook)."""
        with self._lock:
            webhooks = self._finalize_due_locked(time.time())
        self._send(webhooks)

    def _finalize_due_locked(self, now: float) -> list[PendingWebhook]:
        webhooks: list[PendingWebhook] = []
        while self._ends and self._ends[0][0] <= now:
            _, task_id = heapq.heappop(self._ends)
            task = self._tasks.get(task_id)
            if task is None or task.finalized:
                continue
            webhook = self._finalize_locked(task, now)
            if webhook is not None:
                webhooks.append(webhook)
        return webhooks

    def _finalize_locked(self, task: SimTask, now: float) -> PendingWebhook | None:
        state = task.state_at(now)
        if state not in (SUCCESS, FAILED):
            return None
        task.finalized = True
        self._active.discard(task.task_id)
        if state == SUCCESS:
            request = task.request
            price = self.config.price_per_second.get(request.resolution, 0.0)
            self._balance -= price * request.duration
        self.counters.add("tasks_succeeded" if state == SUCCESS else "tasks_failed")
        callback_url = task.request.callback_url
        if task.request.request_type != "callback" or callback_url is None:
            return None
        return (task.task_id, callback_url, self._envelope(task, now), task.epoch)

    def _send(self, webhooks: list[PendingWebhook]) -> None:
        for task_id, url, envelope, epoch in webhooks:
            self.webhooks.send(task_id, url, envelope, epoch)

    def _envelope(self, task: SimTask, now: float) -> dict[str, Any]:
        data = task.status_data(now, self._result_url(task))
        return {"code": 200, "message": "success", "data": data}

    def status(self, task_id: str) -> dict[str, Any] | None:
        """The ``data`` of a status answer, or None for an unknown task id."""
        webhooks: list[PendingWebhook] = []
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None
            now = time.time()
            if not task.finalized:
                webhook = self._finalize_locked(task, now)
                if webhook is not None:
                    webhooks.append(webhook)
            data = task.status_data(now, self._result_url(task))
        undocumented = self._faults.undocumented_state
        if undocumented and data["state"] in (PENDING, PROCESSING):
            data["state"] = undocumented
        self._send(webhooks)
        return data

    def balance(self) -> float:
        self.finalize_due()
        with self._lock:
            return round(self._balance, 2)

    # Results

    def _result_url(self, task: SimTask) -> str:
        end = task.end_time() or task.created_at
        ttl = self.config.scaled(self.config.result_url_ttl_seconds)
        expires = to_ms(end + ttl)
        signature = sign(self._secret, task.task_id, expires)
        base = self.public_base_url.rstrip("/")
        return f"{base}/results/{task.task_id}.mp4?expires={expires}&sig={signature}"

    def result_path(self, task_id: str, expires: str, signature: str) -> Path:
        """The MP4 behind a result URL (raises ResultError with the HTTP status).

        A bad signature or a past ``expires`` answers 403, like an expired presigned
        object-storage URL; an unknown or unfinished task answers 404.
        """
        if not expires.isdecimal() or not signature_ok(
            self._secret, task_id, int(expires), signature
        ):
            raise ResultError(403, "Invalid signature")
        if to_ms(time.time()) > int(expires):
            raise ResultError(403, "Request has expired")
        with self._lock:
            task = self._tasks.get(task_id)
            succeeded = task is not None and task.state_at(time.time()) == SUCCESS
        if task is None or not succeeded or task.video_spec is None:
            raise ResultError(404, "Not found")
        assert task.video_key is not None
        try:
            return self.videos.wait(
                task.video_key, task.video_spec, self.config.result_wait_seconds
            )
        except TimeoutError:
            raise ResultError(503, "The result is not ready yet") from None
        except RenderFailed:
            raise ResultError(500, "The result could not be produced") from None

    # Control

    def stats(self) -> dict[str, Any]:
        data = self.counters.snapshot()
        with self._lock:
            data["tasks"] = len(self._tasks)
            data["active_tasks"] = len(self._active)
            data["balance"] = round(self._balance, 2)
            data["repeated_prompts"] = sum(
                n - 1 for n in self._created_prompts.values()
            )
        data["videos_queued"] = self.videos.queued()
        data["faults"] = self._faults.as_dict()
        return data

    def webhook_attempts(self) -> list[Attempt]:
        return self.webhooks.attempts()

    def reset(self) -> None:
        """Forget every task and count; restore the balance and start-up faults."""
        with self._lock:
            self._epoch += 1
            self._tasks.clear()
            self._active.clear()
            self._ends.clear()
            self._balance = self.config.initial_balance
            self._created_prompts.clear()
        self._faults = self.config.faults
        self.counters.clear()
        self.window.clear()
        self.webhooks.clear()

    def close(self) -> None:
        self.scheduler.stop()
        self.webhooks.close()
        self._image_pool.shutdown(wait=False, cancel_futures=True)
        self.videos.close()


def _off_the_order(spec: VideoSpec, fault: str | None) -> VideoSpec:
    """The video a faulty provider delivers instead of the ordered one."""
    if fault == "short":
        return dataclasses.replace(spec, seconds=min(spec.seconds, 2.0))
    if fault == "low_resolution":
        # Half the size, kept even for H.264 4:2:0.
        return dataclasses.replace(
            spec, width=spec.width // 4 * 2, height=spec.height // 4 * 2
        )
    if fault == "silent":
        return dataclasses.replace(spec, sound=False)
    return spec
