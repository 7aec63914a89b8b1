"""The task's choices: its states (and the named sets of them), failure codes with
their member-readable sentences, and the generation settings."""

from __future__ import annotations

import re

from django.db import models
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from generations.apixo import contract


class State(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SUBMITTING = "submitting", _("Submitting")
    WAITING = "waiting", _("Waiting at provider")
    GENERATING = "generating", _("Generating")
    DOWNLOADING = "downloading", _("Downloading")
    SUCCEEDED = "succeeded", _("Done")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Outcome unknown, being checked")
    CANCELLED = "cancelled", _("Cancelled")


# Each state's label (lazy): GenerationTask.get_state_display reads it.
STATE_LABELS = dict(State.choices)

# The state sets: every other module names these, never a literal of its own.
TERMINAL_STATES = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED})
IN_FLIGHT_STATES = frozenset(set(State) - TERMINAL_STATES)
# States in which the provider has the task and we read its status.
POLLED_STATES = frozenset({State.WAITING, State.GENERATING})
# States in which a task holds (or may hold: unknown) one of the provider's
# concurrent slots; the dispatcher counts these against the concurrency limit.
PROVIDER_SLOT_STATES = frozenset(
    {State.SUBMITTING, State.WAITING, State.GENERATING, State.UNKNOWN}
)
# States before ``waiting`` in which a callback may teach us the provider's task id
# (the answer to our POST is late or lost); the submission uses it once settled.
ID_LEARNABLE_STATES = frozenset({State.QUEUED, State.SUBMITTING, State.UNKNOWN})


class FailCode(models.TextChoices):
    """Failure codes of our own, labelled with the sentence members read.

    The provider's codes and their sentences are in ``contract.FAIL_CODES``.
    """

    SUBMISSION_UNCONFIRMED = (
        "SUBMISSION_UNCONFIRMED",
        _(
            "We could not confirm that the provider accepted this job; you were "
            "not charged."
        ),
    )
    TASK_NOT_FOUND = "TASK_NOT_FOUND", _("The provider lost the task.")
    RESULT_UNAVAILABLE = (
        "RESULT_UNAVAILABLE",
        _("The finished video could not be downloaded."),
    )
    RELEASED_BY_STAFF = (
        "RELEASED_BY_STAFF",
        _("Stopped by staff; the credits were given back."),
    )
    BAD_REQUEST = "BAD_REQUEST", _("The provider rejected the request.")
    AUTH = "AUTH", _("The provider refused our API key.")
    INSUFFICIENT_BALANCE = (
        "INSUFFICIENT_BALANCE",
        _("The provider account has no balance left."),
    )
    UNKNOWN_FAILURE = (
        "UNKNOWN_FAILURE",
        _("The provider reported a failure without a code."),
    )


# What staff actions store as ``fail_message`` (in English, as data); members read
# it in their language through ``staff_fail_message_for_display``.
STOPPED_BY_STAFF_MESSAGE = "Stopped by staff: %(note)s. Your credits were given back."
RESUBMITTED_MESSAGE = gettext_noop("Staff resubmitted this job as a new task.")
RESUBMITTED_AS_MESSAGE = gettext_noop("Staff resubmitted this job as task %(id)s.")
_STOPPED_BY_STAFF = re.compile(
    r"Stopped by staff: (?P<note>.*)\. Your credits were given back\.", re.DOTALL
)
_RESUBMITTED_AS = re.compile(r"Staff resubmitted this job as task (?P<id>\d+)\.")


def staff_fail_message_for_display(message: str) -> str:
    """A stored staff sentence in the active language; any other message as is.

    A release keeps only the staff's note: the failure code already says the job
    was stopped by staff and the credits given back.
    """
    if stopped := _STOPPED_BY_STAFF.fullmatch(message):
        return stopped["note"]
    if message == RESUBMITTED_MESSAGE:
        return gettext(RESUBMITTED_MESSAGE)
    if resubmitted := _RESUBMITTED_AS.fullmatch(message):
        return gettext(RESUBMITTED_AS_MESSAGE) % {"id": resubmitted["id"]}
    return message


def describe_failure(code: str) -> str:
    """A member-readable sentence for any failure code, ours or the provider's."""
    if code in FailCode.values:
        return str(FailCode(code).label)
    return gettext(contract.describe_fail_code(code))


class Mode(models.TextChoices):
    TEXT = "text-to-video", _("Text to video")
    IMAGE = "image-to-video", _("Image to video")


class Routing(models.TextChoices):
    AUTO = "auto", _("Auto (value first, official fallback)")
    VALUE = "value", _("Value (lowest price)")
    OFFICIAL = "official", _("Official")


class Kind(models.TextChoices):
    CLIP = "clip", "Clip"
    # A storyboard's stitched film (models/storyboards.py): made here, never sent
    # to the provider, born succeeded with its video.
    FILM = "film", "Film"


class Delivery(models.TextChoices):
    POLLING = "polling", _("Polling")
    WEBHOOK = "webhook", _("Webhook")


class Resolution(models.TextChoices):
    P480 = "480p", "480p"
    P720 = "720p", "720p"


class AspectRatio(models.TextChoices):
    SQUARE = "1:1", _("1:1 square")
    LANDSCAPE = "16:9", _("16:9 landscape")
    PORTRAIT = "9:16", _("9:16 portrait")
    CINEMA = "21:9", _("21:9 cinematic")
    CLASSIC = "4:3", _("4:3 classic")
    CLASSIC_PORTRAIT = "3:4", _("3:4 portrait")
