"""Storyboards: ordered shots, their takes (ordinary tasks) and stitched films.

A board is seen by whom the one visibility rule lets see a task
(``tasks.visible_to_q``): it carries the same ``owner``/``is_private``/``hidden``
columns, so the rule applies to it without a second copy. Takes are ordinary
``GenerationTask`` rows linked to their shot, so the pipeline, holds and refunds
work unchanged. A finished film is a ``GenerationTask`` of kind ``film`` with its
``VideoAsset`` (gallery, detail, download, links, collections for free); the
``Film`` row is the stitching job and its version history.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from generations import stored_text
from generations.apixo import contract
from generations.models.tasks import (
    AspectRatio,
    GenerationTask,
    InputImage,
    Resolution,
    Routing,
    visible_to_q,
)

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

# Every film is made at this frame rate (the provider's and the simulator's).
FILM_FPS = 24
MAX_SHOTS = 30
MAX_CROSSFADE_SECONDS = 2.0
# Workers that may start a film (and die) before it is given up on.
MAX_FILM_ATTEMPTS = 3
# What a failed film's ``error`` holds: English, as data (workers and the
# dispatcher write it); ``Film.error_text`` reads it in the reader's language.
FILM_TAKE_GONE = gettext_noop("A chosen take's video is gone; choose another take.")
FILM_GAVE_UP = gettext_noop("The film could not be made; try again.")


class StoryboardQuerySet(models.QuerySet["Storyboard"]):
    def visible_to(self, member: AbstractBaseUser | AnonymousUser) -> Self:
        if not member.is_authenticated:
            return self.none()
        return self.filter(visible_to_q(member.pk))


class Storyboard(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        RUNNING = "running", _("Generating")
        PAUSED = "paused", _("Paused")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="storyboards"
    )
    title = models.CharField(max_length=120)
    aspect_ratio = models.CharField(
        max_length=8, choices=AspectRatio, default=contract.DEFAULT_ASPECT_RATIO
    )
    resolution = models.CharField(
        max_length=8, choices=Resolution, default=Resolution.P720
    )
    sound = models.BooleanField(default=True)
    routing = models.CharField(max_length=8, choices=Routing, default=Routing.AUTO)
    state = models.CharField(max_length=8, choices=State, default=State.DRAFT)
    # Why it paused, in every language (``stored_text``); read ``pause_text``.
    pause_message = models.TextField(blank=True)
    # The columns the one visibility rule reads (tasks.visible_to_q).
    is_private = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[StoryboardQuerySet] = StoryboardQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["state"], name="storyboard_state")]

    def __str__(self) -> str:
        return self.title

    @property
    def pause_text(self) -> str:
        """Why it paused, in the active language."""
        return stored_text.for_reader(self.pause_message)

    @property
    def frame_size(self) -> tuple[int, int]:
        return contract.frame_size(self.resolution, self.aspect_ratio)


class Shot(models.Model):
    class Start(models.TextChoices):
        TEXT = "text", _("From the prompt")
        IMAGE = "image", _("From an image")
        CONTINUE = "continue", _("Continue the previous shot")

    class Cut(models.TextChoices):
        HARD = "hard", _("Hard cut")
        CROSSFADE = "crossfade", _("Crossfade")

    board = models.ForeignKey(Storyboard, models.CASCADE, related_name="shots")
    position = models.PositiveIntegerField()
    prompt = models.TextField()
    duration = models.PositiveSmallIntegerField(default=8)
    start = models.CharField(max_length=8, choices=Start, default=Start.TEXT)
    start_image = models.ForeignKey(
        InputImage, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    end_image = models.ForeignKey(
        InputImage, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # How the film enters this shot from the previous one.
    cut = models.CharField(max_length=9, choices=Cut, default=Cut.HARD)
    crossfade_seconds = models.FloatField(default=0.5)
    chosen_take = models.ForeignKey(
        GenerationTask, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Asked for (Generate all, New take) and not queued yet: the driver queues it
    # when it can start (a continuing shot: once its predecessor succeeded).
    wanted = models.BooleanField(default=False)
    # The last refusal (credits, limits) or why the shot cannot start, in every
    # language (``stored_text``); read ``note_text``.
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["board_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration__in=contract.DURATIONS),
                name="shot_duration_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(crossfade_seconds__gte=0)
                & models.Q(crossfade_seconds__lte=MAX_CROSSFADE_SECONDS),
                name="shot_crossfade_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Shot {self.position} of board {self.board_id}"

    @property
    def note_text(self) -> str:
        """Its note in the active language."""
        return stored_text.for_reader(self.note)


class Film(models.Model):
    """One stitching of a board's chosen takes: a version of its film."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        STITCHING = "stitching", _("Stitching")
        SUCCEEDED = "succeeded", _("Ready")
        FAILED = "failed", _("Failed")

    board = models.ForeignKey(Storyboard, models.CASCADE, related_name="films")
    version = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State, default=State.QUEUED)
    # [{"take": task id, "cut": "hard"|"crossfade", "crossfade": seconds}, ...]
    plan = models.JSONField(default=list)
    progress = models.FloatField(default=0.0)
    stream_copy = models.BooleanField(null=True, blank=True)
    task = models.OneToOneField(
        GenerationTask,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="film",
    )
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["board_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["board", "version"], name="film_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"Film v{self.version} of board {self.board_id}"

    @staticmethod
    def lease_lapsed(now: dt.datetime) -> models.Q:
        """Films nobody holds at ``now``: never leased, or the lease ran out."""
        return models.Q(lease_until__isnull=True) | models.Q(lease_until__lt=now)

    @staticmethod
    def lease_end(now: dt.datetime) -> dt.datetime:
        """Until when a hand-over, a claim or a progress report holds the film."""
        return now + dt.timedelta(seconds=settings.LEASE_SECONDS)

    @property
    def error_text(self) -> str:
        """Why it failed, in the active language."""
        return gettext(self.error) if self.error else ""

    def shot_prompts(self) -> list[str]:
        """The prompts of the takes it was made of, in film order (one query)."""
        ids = [int(step["take"]) for step in self.plan]
        prompts = dict(
            GenerationTask.objects.filter(pk__in=ids).values_list("pk", "prompt")
        )
        return [prompts[pk] for pk in ids if pk in prompts]
