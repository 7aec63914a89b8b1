"""Generation tasks, their state machine, and what they produce."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from generations.apixo import contract


class State(models.TextChoices):
    QUEUED = "queued", "Queued"
    SUBMITTING = "submitting", "Submitting"
    WAITING = "waiting", "Waiting at provider"
    GENERATING = "generating", "Generating"
    DOWNLOADING = "downloading", "Downloading"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Outcome unknown, being checked"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_STATES = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED})
IN_FLIGHT_STATES = frozenset(set(State) - TERMINAL_STATES)
# States in which the provider holds one of its 1,000 concurrent slots for us.
AT_PROVIDER_STATES = frozenset({State.SUBMITTING, State.WAITING, State.GENERATING})


# Failure codes of our own (the provider's are in contract.FAIL_CODES).
OWN_FAIL_CODES: dict[str, str] = {
    "SUBMISSION_UNCONFIRMED": (
        "We could not confirm that the provider accepted this job; you were not "
        "charged."
    ),
    "TASK_NOT_FOUND": "The provider lost the task.",
    "RESULT_UNAVAILABLE": "The finished video could not be downloaded.",
    "RELEASED_BY_STAFF": "Stopped by staff; the credits were given back.",
    "BAD_REQUEST": "The provider rejected the request.",
    "AUTH": "The provider refused our API key.",
    "INSUFFICIENT_BALANCE": "The provider account has no balance left.",
    "UNKNOWN_FAILURE": "The provider reported a failure without a code.",
}


def describe_failure(code: str) -> str:
    """A member-readable sentence for any failure code, ours or the provider's."""
    if code in OWN_FAIL_CODES:
        return OWN_FAIL_CODES[code]
    return contract.describe_fail_code(code)


class Mode(models.TextChoices):
    TEXT = "text-to-video", "Text to video"
    IMAGE = "image-to-video", "Image to video"


class Routing(models.TextChoices):
    AUTO = "auto", "Auto (value first, official fallback)"
    VALUE = "value", "Value (lowest price)"
    OFFICIAL = "official", "Official"


class Delivery(models.TextChoices):
    POLLING = "polling", "Polling"
    WEBHOOK = "webhook", "Webhook"


class Resolution(models.TextChoices):
    P480 = "480p", "480p"
    P720 = "720p", "720p"


class AspectRatio(models.TextChoices):
    SQUARE = "1:1", "1:1 square"
    LANDSCAPE = "16:9", "16:9 landscape"
    PORTRAIT = "9:16", "9:16 portrait"
    CINEMA = "21:9", "21:9 cinematic"
    CLASSIC = "4:3", "4:3 classic"
    CLASSIC_PORTRAIT = "3:4", "3:4 portrait"


class GenerationTask(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="generation_tasks"
    )
    state = models.CharField(max_length=16, choices=State, default=State.QUEUED)

    # Contract parameters, stored as submitted.
    mode = models.CharField(max_length=16, choices=Mode, default=Mode.TEXT)
    prompt = models.TextField()
    resolution = models.CharField(
        max_length=8, choices=Resolution, default=Resolution.P720
    )
    duration = models.PositiveSmallIntegerField(default=8)
    sound = models.BooleanField(default=True)
    aspect_ratio = models.CharField(
        max_length=8, choices=AspectRatio, default=contract.DEFAULT_ASPECT_RATIO
    )
    fixed_lens = models.BooleanField(default=False)
    routing = models.CharField(max_length=8, choices=Routing, default=Routing.AUTO)
    delivery = models.CharField(
        max_length=8, choices=Delivery, default=Delivery.POLLING
    )
    image_urls = models.JSONField(default=list, blank=True)

    cost = models.PositiveIntegerField(help_text="Credits, fixed at creation.")
    batch = models.UUIDField(null=True, blank=True, db_index=True)
    retry_of = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="retries"
    )

    provider_task_id = models.CharField(
        max_length=128, null=True, blank=True, unique=True
    )
    callback_token_hash = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    provider_created_at = models.DateTimeField(null=True, blank=True)
    provider_completed_at = models.DateTimeField(null=True, blank=True)
    provider_cost_ms = models.PositiveIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Dispatcher bookkeeping: when the next action (submit, poll, download) is due,
    # and until when a worker owns the row.
    next_action_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    poll_count = models.PositiveIntegerField(default=0)
    submit_attempts = models.PositiveIntegerField(default=0)
    download_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    result_urls = models.JSONField(default=list, blank=True)
    # What the provider last said the task's state was, verbatim (also states the
    # contract does not document), and when a valid callback last named the task.
    provider_state = models.CharField(max_length=32, blank=True)
    callback_received_at = models.DateTimeField(null=True, blank=True)
    # Where the delivered video differs from the order (pipeline.delivery).
    delivery_findings = models.JSONField(default=list, blank=True)
    delivery_mismatch = models.BooleanField(default=False, db_index=True)
    fail_code = models.CharField(max_length=64, blank=True, db_index=True)
    fail_message = models.TextField(blank=True)

    hidden = models.BooleanField(default=False)
    is_private = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_action_at"]),
            models.Index(fields=["owner", "-created_at"]),
            # The live refresh: a member's tasks changed since the last poll.
            models.Index(fields=["owner", "updated_at"], name="task_owner_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration__in=contract.DURATIONS),
                name="task_duration_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Task {self.pk} ({self.state})"

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def in_flight(self) -> bool:
        return self.state in IN_FLIGHT_STATES

    @property
    def fail_reason(self) -> str:
        """The failure in plain words, for members."""
        if self.fail_message and self.fail_code:
            return f"{describe_failure(self.fail_code)} ({self.fail_message})"
        if self.fail_code:
            return describe_failure(self.fail_code)
        return self.fail_message

    @property
    def delivery_notes(self) -> list[str]:
        """How the delivered video differs from the order, in plain words."""
        from generations.pipeline.delivery import describe_all

        return describe_all(self.delivery_findings or [])

    @property
    def provider_says(self) -> str:
        """A provider state the contract does not document, for staff; else ""."""
        if self.provider_state and self.provider_state not in contract.STATES:
            return f"provider says: {self.provider_state}"
        return ""

    @property
    def frame_size(self) -> tuple[int, int]:
        return contract.frame_size(self.resolution, self.aspect_ratio)

    def contract_input(self) -> dict[str, Any]:
        """The ``input`` object of a generateTask request."""
        data: dict[str, Any] = {
            "mode": self.mode,
            "prompt": self.prompt,
            "resolution": self.resolution,
            "duration": self.duration,
            "sound": self.sound,
            "aspect_ratio": self.aspect_ratio,
            "fixed_lens": self.fixed_lens,
        }
        if self.mode == Mode.IMAGE:
            data["image_urls"] = list(self.image_urls)
        return data


def transition(
    task_id: int,
    from_states: State | frozenset[State] | set[State],
    to_state: State,
    reason: str,
    **fields: Any,
) -> bool:
    """Move a task from one of ``from_states`` to ``to_state``, compare-and-set.

    Returns True only for the caller whose update won; the transition is recorded in
    the same transaction. Callers act on the new state only when this returned True.
    """
    allowed = {from_states} if isinstance(from_states, State) else set(from_states)
    now = timezone.now()
    if to_state in TERMINAL_STATES:
        fields.setdefault("finished_at", now)
        fields.setdefault("next_action_at", None)
        fields.setdefault("lease_until", None)
    with transaction.atomic():
        current = (
            GenerationTask.objects.filter(pk=task_id, state__in=allowed)
            .values_list("state", flat=True)
            .first()
        )
        if current is None:
            return False
        updated = GenerationTask.objects.filter(pk=task_id, state=current).update(
            state=to_state, state_changed_at=now, updated_at=now, **fields
        )
        if updated != 1:
            return False
        TaskTransition.objects.create(
            task_id=task_id,
            from_state=current,
            to_state=to_state,
            at=now,
            reason=reason[:500],
        )
    return True


class TaskTransition(models.Model):
    task = models.ForeignKey(GenerationTask, models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=16, choices=State, blank=True)
    to_state = models.CharField(max_length=16, choices=State)
    at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '∅'} → {self.to_state}"


def input_image_path(instance: InputImage, filename: str) -> str:
    return f"inputs/{instance.created_at:%Y/%m}/{instance.sha256}{_ext(filename)}"


def _ext(filename: str) -> str:
    return "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


class InputImage(models.Model):
    """A start or end frame, uploaded (re-encoded, served by signed URL) or linked."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE)
    task = models.ForeignKey(
        GenerationTask, models.CASCADE, null=True, blank=True, related_name="images"
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="0 start, 1 end")
    file = models.FileField(upload_to=input_image_path, blank=True)
    source_url = models.URLField(max_length=2000, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["task_id", "position"]

    def __str__(self) -> str:
        return f"Image {self.pk} ({'end' if self.position else 'start'})"


def video_path(instance: VideoAsset, filename: str) -> str:
    return f"videos/{timezone.now():%Y/%m}/{filename}"


class VideoAsset(models.Model):
    """A finished video, copied into our storage, with its poster and metadata."""

    task = models.OneToOneField(GenerationTask, models.CASCADE, related_name="video")
    file = models.FileField(upload_to=video_path, max_length=255)
    poster = models.FileField(upload_to=video_path, max_length=255, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    duration_seconds = models.FloatField()
    has_audio = models.BooleanField()
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    source_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Video of task {self.task_id}"


def lease_expired_q(now: dt.datetime) -> models.Q:
    return models.Q(lease_until__isnull=True) | models.Q(lease_until__lt=now)


class RateBucket(models.Model):
    """Provider requests counted per second, shared by every process (SQLite/PG).

    With Redis configured the limiter keeps these counters in Redis instead.
    """

    second = models.BigIntegerField(primary_key=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.second}: {self.count}"
