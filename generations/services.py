"""Member-facing services: create, cancel, retry, hide, collect, save a preset.

Views call these; they never talk to the provider. Creating a task only writes rows
(task, hold, images, first transition): the dispatcher picks queued tasks up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from generations import credits, sharing
from generations.models import (
    TERMINAL_STATES,
    Collection,
    GenerationTask,
    InputImage,
    Mode,
    Preset,
    State,
    TaskTransition,
    VideoAsset,
)
from generations.models.presets import MAX_PRESETS_PER_MEMBER
from generations.models.tasks import transition
from generations.params import GenerationParams

__all__ = ["GenerationParams"]  # re-exported: callers build variants with it


def create_generations(
    *,
    owner: User,
    variants: list[GenerationParams],
    images: list[InputImage] | None = None,
) -> list[GenerationTask]:
    """Queue one task per variant, holding credits for all of them or none.

    ``images`` (start, end) are saved InputImage rows without a task: each variant
    gets its own rows pointing at the same files.

    Raises (both ``credits.CreditsRefused``, nothing is queued):
    - InsufficientCredits when the balance cannot cover every variant;
    - LimitExceeded when the member's ``daily_credit_limit`` would be passed. The
      limit counts what the member committed today (UTC day): the credits of holds
      created today minus the releases of those holds (``credits.committed_today``).

    The member's ``max_in_flight`` is not checked here: extra tasks wait queued
    and the dispatcher submits them as the member's tasks finish.
    """
    batch = uuid.uuid4() if len(variants) > 1 else None
    now = timezone.now()
    created: list[GenerationTask] = []
    with transaction.atomic():
        for params in variants:
            task = GenerationTask.objects.create(
                owner=owner,
                cost=params.cost(),
                batch=batch,
                next_action_at=now,
                **params.as_fields(),
            )
            hold = credits.hold_for_task(task)
            _attach_images(task, params, images or [])
            TaskTransition.objects.create(
                task=task, from_state="", to_state=State.QUEUED, reason="Created"
            )
            created.append(task)
        if created:
            # After the holds: they locked the account row, so concurrent
            # submissions of this member are counted (see enforce_daily_limit).
            credits.enforce_daily_limit(
                hold.account_id, just_held=sum(t.cost for t in created)
            )
    return created


def _attach_images(
    task: GenerationTask, params: GenerationParams, images: list[InputImage]
) -> None:
    if params.mode != Mode.IMAGE:
        return
    for image in images:
        InputImage.objects.create(
            owner_id=task.owner_id,
            task=task,
            position=image.position,
            file=image.file.name if image.file else "",
            source_url=image.source_url,
            width=image.width,
            height=image.height,
            sha256=image.sha256,
        )


def cancel_task(task: GenerationTask) -> bool:
    """Cancel a task that is still queued here; releases its hold."""
    with transaction.atomic():
        if not transition(
            task.pk, State.QUEUED, State.CANCELLED, "Cancelled by member"
        ):
            return False
        credits.release_for_task(task.pk, "Cancelled before submission")
    return True


def retry_task(task: GenerationTask) -> GenerationTask:
    """A new task with the same parameters and a new hold.

    Raises InsufficientCredits or LimitExceeded like ``create_generations``.
    """
    params = GenerationParams.from_task(task)
    images = list(task.images.all())
    [new_task] = create_generations(owner=task.owner, variants=[params], images=images)
    GenerationTask.objects.filter(pk=new_task.pk).update(retry_of=task)
    new_task.retry_of = task
    return new_task


class Refused(Exception):
    """The member's request cannot be carried out; the message says why."""


def set_hidden(*, owner: User, task_ids: Iterable[int], hidden: bool) -> list[int]:
    """Hide (or show again) the owner's finished tasks; returns the ids changed.

    A hidden task leaves the member's task list, the gallery and every collection
    and link (``models.tasks.in_gallery_q``). Teammates' tasks and tasks still in
    flight are left as they are.
    """
    ids = list(
        GenerationTask.objects.filter(
            pk__in=list(task_ids), owner_id=owner.pk, state__in=TERMINAL_STATES
        )
        .exclude(hidden=hidden)
        .values_list("pk", flat=True)
    )
    GenerationTask.objects.filter(pk__in=ids).update(
        hidden=hidden, updated_at=timezone.now()
    )
    return ids


def set_private(*, owner: User, task_ids: Iterable[int], private: bool) -> list[int]:
    """Make the owner's tasks private (or the team's again); returns the ids changed.

    A private task leaves teammates' gallery, collections and links at once
    (``models.tasks.visible_to_q``); its owner still sees it everywhere.
    Teammates' tasks are left as they are.
    """
    ids = list(
        GenerationTask.objects.filter(pk__in=list(task_ids), owner_id=owner.pk)
        .exclude(is_private=private)
        .values_list("pk", flat=True)
    )
    GenerationTask.objects.filter(pk__in=ids).update(
        is_private=private, updated_at=timezone.now()
    )
    return ids


def collect_videos(
    *,
    owner: User,
    task_ids: list[int],
    collection: Collection | None,
    title: str = "",
) -> tuple[Collection, int]:
    """Append the videos of ``task_ids`` the owner may share to a collection.

    ``collection`` None makes a new one titled ``title``, only when there is
    something to put in it. Returns (collection, added); raises Refused.
    """
    title = title.strip()
    if collection is None:
        check_collection_title(title)
    videos = list(
        VideoAsset.objects.shareable_by(owner)
        .filter(task_id__in=task_ids)
        .order_by("-task_id")
    )
    if not videos:
        raise Refused(_("None of the selected videos can go into a collection."))
    with transaction.atomic():
        if collection is None:
            collection = sharing.create_collection(owner=owner, title=title)
        added = sharing.add_to_collection(
            owner=owner, collection=collection, videos=videos
        )
    return collection, added


def check_collection_title(title: str) -> None:
    """The one rule for a new collection's title: given, and not too long."""
    if not title:
        raise Refused(_("Choose a collection or type a title for one."))
    limit = Collection._meta.get_field("title").max_length or 0
    if len(title) > limit:
        raise Refused(
            _("Keep the title under %(limit)d characters.") % {"limit": limit}
        )


def save_preset(
    *, owner: User, name: str, params: dict[str, Any]
) -> tuple[Preset, bool]:
    """Save ``params`` under ``name`` (the same name updates it); (preset, created).

    Raises Refused when the member already has ``MAX_PRESETS_PER_MEMBER`` others.
    """
    name = name.strip()
    with transaction.atomic():
        presets = Preset.objects.select_for_update().filter(owner_id=owner.pk)
        names = set(presets.values_list("name", flat=True))
        if name not in names and len(names) >= MAX_PRESETS_PER_MEMBER:
            raise Refused(
                _("You have %(count)d presets already: delete one first.")
                % {"count": MAX_PRESETS_PER_MEMBER}
            )
        return Preset.objects.update_or_create(
            owner=owner,
            name=name,
            defaults={"params": params, "updated_at": timezone.now()},
        )
