"""Collections and public share links: the services behind the member pages, the
public pages and the gallery's bulk "add to collection".

A share token is ``secrets.token_urlsafe(32)`` (256 bits), shown to its creator once;
only its sha256 is stored and looked up, so neither a database leak nor a timing
difference in the lookup says anything useful about a live token.

What a link shows is decided when it is viewed, never when it is made, by the one
rule on the model (``VideoAsset.objects.shareable_by(sharer)``): a video its owner
hides, deletes or makes private disappears from every link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from generations import windows
from generations.models import (
    Collection,
    CollectionItem,
    GenerationTask,
    ShareLink,
    VideoAsset,
)
from generations.models.sharing import LinkStatus
from generations.models.tasks import in_gallery_q

TOKEN_BYTES = 32
EXPIRY_PRESETS: dict[str, tuple[str | Promise, dt.timedelta | None]] = {
    "1d": (_("1 day"), dt.timedelta(days=1)),
    "7d": (_("7 days"), dt.timedelta(days=7)),
    "30d": (_("30 days"), dt.timedelta(days=30)),
    "never": (pgettext_lazy("expiry", "Never"), None),
}
DEFAULT_EXPIRY = "7d"

# Failed lookups (unknown tokens) allowed per client address and window. Valid
# tokens never count, so watching and seeking (many Range requests) costs nothing.
LOOKUP_FAILURE_LIMIT = 60
LOOKUP_WINDOW_SECONDS = 600
LOOKUP_MISS_PREFIX = "share-lookup-miss"


class SharingRefused(PermissionDenied):
    """The member may not do this with that object (a 403 if it reaches a view)."""


# --- What may be collected and shown ----------------------------------------------


def shareable_videos(user: User) -> QuerySet[VideoAsset]:
    """The rule lives on the model (``generations.models.tasks.in_gallery_q``)."""
    return VideoAsset.objects.shareable_by(user)


def shareable_video_for_task(user: User, task_id: int) -> VideoAsset | None:
    """The video of task ``task_id``, if ``user`` may collect or share it."""
    return (
        shareable_videos(user)
        .filter(task_id=task_id)
        .select_related("task", "task__owner")
        .first()
    )


def available_items(collection: Collection) -> QuerySet[CollectionItem]:
    """The collection's items that can be shown now, in order."""
    return (
        collection.items.filter(in_gallery_q(collection.owner_id, "video__task__"))
        .select_related("video", "video__task")
        .order_by("position", "id")
    )


def available_task_ids(
    owner: User, collections: Iterable[Collection]
) -> dict[int, list[int]]:
    """For each of ``owner``'s collections, the tasks of the items that can be
    shown now, in order: ``available_items`` for many collections, in one query."""
    found: dict[int, list[int]] = {
        c.pk: [] for c in collections if c.owner_id == owner.pk
    }
    rows = (
        CollectionItem.objects.filter(collection_id__in=found)
        .filter(in_gallery_q(owner.pk, "video__task__"))
        .order_by("position", "id")
        .values_list("collection_id", "video__task_id")
    )
    for collection_id, task_id in rows:
        found[collection_id].append(task_id)
    return found


# --- Collections --------------------------------------------------------------------


def _check_owner(owner: User, collection: Collection) -> None:
    if collection.owner_id != owner.pk:
        raise SharingRefused("This collection belongs to someone else.")


def create_collection(*, owner: User, title: str, description: str = "") -> Collection:
    return Collection.objects.create(
        owner=owner, title=title.strip(), description=description.strip()
    )


def add_to_collection(
    *, owner: User, collection: Collection, videos: Iterable[VideoAsset]
) -> int:
    """Append ``videos`` (in the given order) to ``owner``'s ``collection``.

    Videos already in it are skipped; returns how many were added. Raises
    SharingRefused if the collection is someone else's or any video is one the
    owner may not share (another member's private or hidden video).
    """
    _check_owner(owner, collection)
    wanted = list(dict.fromkeys(video.pk for video in videos))
    if not wanted:
        return 0
    allowed = set(
        shareable_videos(owner).filter(pk__in=wanted).values_list("pk", flat=True)
    )
    if len(allowed) != len(wanted):
        raise SharingRefused("One of these videos cannot be added.")
    added = 0
    with transaction.atomic():
        present = set(collection.items.values_list("video_id", flat=True))
        last = collection.items.aggregate(last=Max("position"))["last"]
        position = -1 if last is None else last
        for video_id in wanted:
            if video_id in present:
                continue
            position += 1
            try:
                with transaction.atomic():
                    CollectionItem.objects.create(
                        collection=collection, video_id=video_id, position=position
                    )
            except IntegrityError:  # added by a concurrent request: already there
                continue
            added += 1
    return added


def remove_from_collection(
    *, owner: User, collection: Collection, item_id: int
) -> bool:
    _check_owner(owner, collection)
    deleted, _ = collection.items.filter(pk=item_id).delete()
    return deleted > 0


def _renumber(items: list[CollectionItem]) -> None:
    for position, item in enumerate(items):
        item.position = position
    CollectionItem.objects.bulk_update(items, ["position"])


def move_item(
    *, owner: User, collection: Collection, item_id: int, offset: int
) -> bool:
    """Move one item ``offset`` places (-1 up, +1 down); False if it cannot move."""
    _check_owner(owner, collection)
    with transaction.atomic():
        items = list(collection.items.order_by("position", "id"))
        index = next((i for i, item in enumerate(items) if item.pk == item_id), None)
        if index is None or not 0 <= index + offset < len(items):
            return False
        items.insert(index + offset, items.pop(index))
        _renumber(items)
    return True


def reorder_collection(
    *, owner: User, collection: Collection, item_ids: list[int]
) -> None:
    """Put the items in the order of ``item_ids``; items not named keep their
    relative order after the named ones (a concurrent add is never lost)."""
    _check_owner(owner, collection)
    with transaction.atomic():
        items = list(collection.items.order_by("position", "id"))
        rank = {item_id: i for i, item_id in enumerate(dict.fromkeys(item_ids))}
        items.sort(key=lambda item: rank.get(item.pk, len(rank)))
        _renumber(items)


# --- Links ----------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewLink:
    """A link just made, with the only copy of its token."""

    link: ShareLink
    token: str


def create_link(
    *,
    owner: User,
    video: VideoAsset | None = None,
    collection: Collection | None = None,
    expiry: str = DEFAULT_EXPIRY,
    show_prompt: bool = False,
    show_owner: bool = False,
) -> NewLink:
    """A new public link to one video or one collection of ``owner``'s."""
    if (video is None) == (collection is None):
        raise ValueError("A link names exactly one video or one collection.")
    if collection is not None:
        _check_owner(owner, collection)
    if video is not None and not shareable_videos(owner).filter(pk=video.pk).exists():
        raise SharingRefused("This video cannot be shared.")
    _label, lifetime = EXPIRY_PRESETS[expiry]
    now = timezone.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = ShareLink.objects.create(
        owner=owner,
        token_hash=hash_token(token),
        video=video,
        collection=collection,
        show_prompt=show_prompt,
        show_owner=show_owner,
        created_at=now,
        expires_at=now + lifetime if lifetime else None,
    )
    return NewLink(link=link, token=token)


def revoke_links(links: QuerySet[ShareLink]) -> int:
    """Revoke at once (the next request answers 410); already revoked stay as is."""
    return links.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def links_showing_videos_of(owner: User) -> QuerySet[ShareLink]:
    """Links teammates made that show one of ``owner``'s videos: to the video
    itself, or to a collection holding it. The owner sees and may revoke them."""
    mine = Q(video__task__owner_id=owner.pk) | Q(
        collection__items__video__task__owner_id=owner.pk
    )
    ids = ShareLink.objects.filter(mine).exclude(owner_id=owner.pk).values("pk")
    return ShareLink.objects.filter(pk__in=ids)


def revocable_links(member: User) -> QuerySet[ShareLink]:
    """The links ``member`` may revoke: their own, and any showing their videos."""
    return ShareLink.objects.filter(
        Q(owner_id=member.pk) | Q(pk__in=links_showing_videos_of(member).values("pk"))
    )


def revoke_link(*, owner: User, link_id: int) -> bool:
    return revoke_links(revocable_links(owner).filter(pk=link_id)) == 1


def find_link(token: str) -> ShareLink | None:
    """The link a token names, whatever its state, or None."""
    if not token or len(token) > 128:
        return None
    return (
        ShareLink.objects.filter(token_hash=hash_token(token))
        .select_related("owner", "collection", "video", "video__task")
        .first()
    )


def public_status(link: ShareLink) -> LinkStatus | None:
    """Why the link cannot be viewed now (revoked, expired, gone), or None if it can.

    A deactivated sharer's links stop working, and a video link whose video is no
    longer available counts as expired.
    """
    status = link.status
    if status != LinkStatus.ACTIVE:
        return status
    if not link.owner.is_active:
        return LinkStatus.REVOKED
    if link.video_id is not None and not (
        shareable_videos(link.owner).filter(pk=link.video_id).exists()
    ):
        return LinkStatus.EXPIRED
    return None


def record_view(link: ShareLink) -> None:
    ShareLink.objects.filter(pk=link.pk).update(
        view_count=F("view_count") + 1, last_viewed_at=timezone.now()
    )


# --- What a public page shows ---------------------------------------------------------


@dataclass(frozen=True)
class PublicItem:
    """One video as a public page shows it: no ids, the prompt only if chosen."""

    number: int
    key: str
    video: VideoAsset
    prompt: str | None

    @property
    def task(self) -> GenerationTask:
        return self.video.task


def item_key(link: ShareLink, video_id: int) -> str:
    """An opaque, stable name for a video under one link (no internal id shows)."""
    digest = salted_hmac("sharing.item", f"{link.pk}:{video_id}", algorithm="sha256")
    return digest.hexdigest()[:20]


def public_items(link: ShareLink) -> list[PublicItem]:
    if link.collection is not None:
        videos = [item.video for item in available_items(link.collection)]
    elif link.video is not None:
        videos = [link.video]
    else:  # pragma: no cover - the check constraint forbids it
        videos = []
    return [
        PublicItem(
            number=number,
            key=item_key(link, video.pk),
            video=video,
            prompt=video.task.prompt if shows_prompt(link, video) else None,
        )
        for number, video in enumerate(videos, start=1)
    ]


def shows_prompt(link: ShareLink, video: VideoAsset) -> bool:
    """The prompt is the video owner's to show: a teammate's link never shows it,
    whatever its sharer ticked (the owner allows it by sharing it themselves)."""
    return link.show_prompt and video.task.owner_id == link.owner_id


def public_item(link: ShareLink, key: str) -> PublicItem | None:
    return next((item for item in public_items(link) if item.key == key), None)


def sharer_name(link: ShareLink) -> str | None:
    """The sharer's name if they opted in; never the names of other members."""
    if not link.show_owner:
        return None
    return link.owner.get_full_name() or link.owner.get_username()


# --- Rate limit on token lookups ------------------------------------------------------


def client_address(request: HttpRequest) -> str:
    """The client's address group, as the login throttle sees it (trusted proxy
    hops honoured, IPv6 grouped by /64), so one client is one bucket."""
    from generations import security

    return security.address_group(security.client_address(request))


def _limits() -> tuple[int, int]:
    return (
        int(getattr(settings, "SHARE_LOOKUP_FAILURE_LIMIT", LOOKUP_FAILURE_LIMIT)),
        int(getattr(settings, "SHARE_LOOKUP_WINDOW_SECONDS", LOOKUP_WINDOW_SECONDS)),
    )


def lookup_retry_after(address: str) -> int | None:
    """Seconds to wait if ``address`` used up its failed lookups, else None."""
    limit, window = _limits()
    failed, left = windows.counted(LOOKUP_MISS_PREFIX, address, window)
    return left if failed >= limit else None


def record_failed_lookup(address: str) -> int:
    """Count one lookup of an unknown token; returns the count in this window."""
    _limit, window = _limits()
    return windows.count(LOOKUP_MISS_PREFIX, address, window)[0]
