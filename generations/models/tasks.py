"""Generation tasks, their state machine, and what they produce."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from generations.apixo import contract
from generations.models.choices import (
    ID_LEARNABLE_STATES,
    IN_FLIGHT_STATES,
    POLLED_STATES,
    PROVIDER_SLOT_STATES,
    RESUBMITTED_AS_MESSAGE,
    RESUBMITTED_MESSAGE,
    STATE_LABELS,
    STOPPED_BY_STAFF_MESSAGE,
    TERMINAL_STATES,
    AspectRatio,
    Delivery,
    FailCode,
    Kind,
    Mode,
    Resolution,
    Routing,
    State,
    describe_failure,
    staff_fail_message_for_display,
)

# The choices live in models/choices.py; this module still names them (re-exported).
__all__ = [
    "visible_to_q",
    "in_gallery_q",
    "GenerationTaskQuerySet",
    "GenerationTask",
    "transition",
    "TaskTransition",
    "input_image_path",
    "InputImage",
    "video_path",
    "VideoAssetQuerySet",
    "VideoAsset",
    "lease_expired_q",
    "State",
    "TERMINAL_STATES",
    "IN_FLIGHT_STATES",
    "POLLED_STATES",
    "PROVIDER_SLOT_STATES",
    "ID_LEARNABLE_STATES",
    "FailCode",
    "STOPPED_BY_STAFF_MESSAGE",
    "RESUBMITTED_MESSAGE",
    "RESUBMITTED_AS_MESSAGE",
    "staff_fail_message_for_display",
    "describe_failure",
    "Mode",
    "Routing",
    "Kind",
    "Delivery",
    "Resolution",
    "AspectRatio",
]

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


# ---------- Who may see what: the one visibility rule ----------
#
# - A member's task list shows their own tasks that are not hidden.
# - A member sees their own tasks, all of them (a hidden or private video of
#   theirs stays reachable by its address, for its owner only), and teammates'
#   tasks that are neither private nor hidden.
# - The gallery, collections and share links (and so anonymous visitors of a
#   link) show finished videos that are not hidden: the member's own, or a
#   teammate's that is not private. Hiding takes a video out of the gallery and
#   out of every collection and link, the owner's own included.
# - Staff have no extra rights here: they oversee tasks in the admin.
# - Anonymous visitors see nothing by these methods; a share link shows what its
#   sharer may share (``shareable_by(link.owner)``), decided at each view.
# ``prefix`` names the path from the queried model to the task ("video__task__").


def visible_to_q(member_id: int, prefix: str = "") -> Q:
    """Tasks (at ``prefix``) the member may open: detail page, video, frames."""
    return Q(**{f"{prefix}owner_id": member_id}) | Q(
        **{f"{prefix}is_private": False, f"{prefix}hidden": False}
    )


def in_gallery_q(member_id: int, prefix: str = "", *, only_own: bool = False) -> Q:
    """Finished videos (at ``prefix``) in the member's gallery, collections, links.

    ``only_own`` leaves out the OR with teammates' videos (the owner index applies).
    """
    shown = Q(**{f"{prefix}state": State.SUCCEEDED, f"{prefix}hidden": False})
    own = Q(**{f"{prefix}owner_id": member_id})
    if only_own:
        return shown & own
    return shown & (own | Q(**{f"{prefix}is_private": False}))


class GenerationTaskQuerySet(models.QuerySet["GenerationTask"]):
    def visible_to(self, member: AbstractBaseUser | AnonymousUser) -> Self:
        if not member.is_authenticated:
            return self.none()
        return self.filter(visible_to_q(member.pk))

    def in_task_list_of(self, member: AbstractBaseUser | AnonymousUser) -> Self:
        """The member's own tasks their task list shows: all but the hidden."""
        if not member.is_authenticated:
            return self.none()
        return self.filter(owner_id=member.pk, hidden=False)

    def in_queue_order(self) -> Self:
        """The order a member's queued tasks go out in: their own "move to top"
        first (newest bump first), then oldest first. Only within one member:
        fair sharing between members is the dispatcher's (``pick_fair_order``)."""
        return self.order_by(
            models.F("queue_bump__rank").desc(nulls_last=True), "created_at", "id"
        )

    def finished_videos(self) -> Self:
        """Tasks that produced a video we hold."""
        return self.filter(state=State.SUCCEEDED, video__isnull=False)

    def in_gallery_of(
        self, member: AbstractBaseUser | AnonymousUser, *, only_own: bool = False
    ) -> Self:
        if not member.is_authenticated:
            return self.none()
        rule = in_gallery_q(member.pk, only_own=only_own)
        return self.filter(rule, video__isnull=False)

    def shareable_by(self, member: AbstractBaseUser | AnonymousUser) -> Self:
        """What the member may collect and share: what their gallery shows."""
        return self.in_gallery_of(member)


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

    cost = models.PositiveIntegerField(help_text=_("Credits, fixed at creation."))
    batch = models.UUIDField(null=True, blank=True)  # indexed: task_batch
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

    kind = models.CharField(max_length=8, choices=Kind, default=Kind.CLIP)
    # A storyboard shot's take (models/storyboards.py).
    shot = models.ForeignKey(
        "generations.Shot",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="takes",
    )

    objects: ClassVar[GenerationTaskQuerySet] = GenerationTaskQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_action_at"]),
            models.Index(fields=["owner", "-created_at"]),
            # The live refresh: a member's tasks changed since the last poll.
            models.Index(fields=["owner", "updated_at"], name="task_owner_updated"),
            # The gallery (migration 0004 made them in SQL; 0015 adopts them here so
            # a table rebuild on SQLite keeps them).
            models.Index(
                fields=["state", "hidden", "id", "created_at"],
                name="gallery_task_visible",
            ),
            models.Index(
                fields=["owner", "state", "hidden", "id", "created_at"],
                name="gallery_task_owner",
            ),
            # The overview's attention list: the few tasks of each kind, found
            # without reading every succeeded or failed task.
            models.Index(
                fields=["finished_at"],
                condition=Q(delivery_mismatch=True),
                name="task_delivery_mismatch",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(fail_code=FailCode.SUBMISSION_UNCONFIRMED),
                name="task_unconfirmed",
            ),
            # A batch's cards (the Studio's "10 videos: 7 done"). Only the tasks
            # of a batch: most have none, and a plain index's statistics then
            # say one batch is most of the table (SQLite after ANALYZE chose to
            # scan the table for a batch's few tasks).
            models.Index(
                fields=["batch"],
                condition=Q(batch__isnull=False),
                name="task_batch",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                # A film's length is the sum of its shots'.
                condition=models.Q(duration__in=contract.DURATIONS)
                | models.Q(kind=Kind.FILM),
                name="task_duration_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Task {self.pk} ({self.state})"

    def get_state_display(self) -> str:  # type: ignore[no-redef]
        """The state's label, as Django's own method gives it, from a table: that
        one rebuilds the field's choices on every call, and a list of cards or
        rows calls it once each."""
        return str(STATE_LABELS.get(self.state, self.state))

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def in_flight(self) -> bool:
        return self.state in IN_FLIGHT_STATES

    @property
    def fail_reason(self) -> str:
        """The failure in plain words, for members."""
        message = staff_fail_message_for_display(self.fail_message)
        if message and self.fail_code:
            return gettext("%(reason)s (%(message)s)") % {
                "reason": describe_failure(self.fail_code),
                "message": message,
            }
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
            return gettext("provider says: %(state)s") % {"state": self.provider_state}
        return ""

    @property
    def frame_size(self) -> tuple[int, int]:
        return contract.frame_size(self.resolution, self.aspect_ratio)


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
        # The one hook point for outbound webhooks: the event commits with the
        # transition that won, so none is lost and none is made twice.
        from generations.api.webhooks import record_task_event

        record_task_event(task_id, to_state)
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


class VideoAssetQuerySet(models.QuerySet["VideoAsset"]):
    def shareable_by(self, member: AbstractBaseUser | AnonymousUser) -> Self:
        """Videos the member may collect and share (``in_gallery_q``)."""
        if not member.is_authenticated:
            return self.none()
        return self.filter(in_gallery_q(member.pk, "task__"))


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

    objects: ClassVar[VideoAssetQuerySet] = VideoAssetQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Video of task {self.task_id}"


def lease_expired_q(now: dt.datetime) -> models.Q:
    return models.Q(lease_until__isnull=True) | models.Q(lease_until__lt=now)
