"""Copying a finished video from the provider into our storage.

Streamed with a size cap and timeouts, only from allowed hosts, never following a
redirect to another host or a private address, checked to be an MP4, hashed,
and moved into place atomically. Transient failures are retried with backoff until
the provider's URL expires; the member is charged only once the file is ours.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from generations import credits, media_store, security
from generations.apixo import contract
from generations.models import FailCode, GenerationTask, State, VideoAsset
from generations.models.tasks import transition
from generations.pipeline import delivery, media, schedule
from generations.pipeline.common import fail_task, in_seconds, release_lease

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
CHUNK = 256 * 1024
# "Gone" answers and wrong content are retried a few times only. Object storage
# answers 403 (or 401) for an expired signed URL, 404/410 for a removed object.
MAX_PERMANENT_ATTEMPTS = 4
GONE = (401, 403, 404, 410)


# What a download that ran out of space records as ``last_error``: the task
# waits with backoff (never failed for it) and staff see an alert while any
# task waits so (``waiting_for_storage``: /metrics; the overview counts the same
# ``waiting_for_storage_q`` within its census read).
STORAGE_FULL = "the media storage is full"
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def waiting_for_storage_q() -> Q:
    """Downloads whose last attempt found the media storage full (a task filter)."""
    return Q(state=State.DOWNLOADING, last_error=STORAGE_FULL)


def waiting_for_storage() -> QuerySet[GenerationTask]:
    """Downloads whose last attempt found the media storage full."""
    return GenerationTask.objects.filter(waiting_for_storage_q())


class DownloadError(Exception):
    """``permanent``: retried a few times only; ``final``: never retried (a URL we
    will never download from, whatever the provider does meanwhile)."""

    def __init__(
        self, message: str, *, permanent: bool = False, final: bool = False
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or final
        self.final = final


def download_result(task_id: int) -> None:
    task = GenerationTask.objects.filter(pk=task_id, state=State.DOWNLOADING).first()
    if task is None:
        release_lease(task_id)
        return
    stored = VideoAsset.objects.filter(task_id=task_id).first()
    if stored is not None:
        _finish(task, stored)  # a previous run stored the file but died before
        return
    GenerationTask.objects.filter(pk=task_id).update(
        download_attempts=F("download_attempts") + 1
    )
    task.download_attempts += 1
    try:
        asset = _fetch_and_store(task)
    except DownloadError as exc:
        _handle_failure(task, exc)
        return
    _finish(task, _save_or_keep_first(asset))


def _save_or_keep_first(asset: VideoAsset) -> VideoAsset:
    """Save the row, or, when another run of this job saved one first, keep that
    one and remove our spare files: only those under names it does not use (the
    same bytes get the same name, and were stored over it with the same bytes)."""
    try:
        with transaction.atomic():
            asset.save()
        return asset
    except IntegrityError:
        first = VideoAsset.objects.get(task_id=asset.task_id)
        kept = {first.file.name, first.poster.name}
        media_store.remove(
            *(n for n in (asset.file.name, asset.poster.name) if n and n not in kept)
        )
        return first


def _finish(task: GenerationTask, video: VideoAsset) -> None:
    """Succeed and capture, charging only for what arrived (``delivery``)."""
    findings = delivery.check(task, video)
    reason = "The video is in our storage"
    if findings:
        reason += "; it differs from the order: " + "; ".join(
            delivery.describe_all(findings)
        )
        log.warning("task %s delivered off the order: %s", task.pk, findings)
    with transaction.atomic():
        if transition(
            task.pk,
            State.DOWNLOADING,
            State.SUCCEEDED,
            reason,
            last_error="",
            delivery_findings=findings,
            delivery_mismatch=bool(findings),
        ):
            credits.capture_for_task(task.pk)


def _handle_failure(task: GenerationTask, exc: DownloadError) -> None:
    message = str(exc)
    log.warning("download of task %s failed: %s", task.pk, message)
    expired = timezone.now() > _url_expiry(task)
    given_up = exc.permanent and task.download_attempts >= MAX_PERMANENT_ATTEMPTS
    if expired or exc.final or given_up:
        fail_task(
            task.pk,
            State.DOWNLOADING,
            f"The result could not be obtained: {message}",
            fail_code=FailCode.RESULT_UNAVAILABLE,
            fail_message=message,
            release_reason="The result could not be downloaded",
            last_error=message,
        )
        return
    delay = schedule.backoff_seconds(task.download_attempts)
    release_lease(
        task.pk,
        next_action_at=in_seconds(delay),
        last_error=message,
    )


def _url_expiry(task: GenerationTask) -> dt.datetime:
    start = task.provider_completed_at or task.state_changed_at
    ttl = contract.RESULT_URL_TTL_SECONDS / schedule.time_scale()
    return start + dt.timedelta(seconds=ttl)


def _fetch_and_store(task: GenerationTask) -> VideoAsset:
    if not task.result_urls:
        raise DownloadError("the provider gave no result URL", permanent=True)
    try:
        return _store(task, str(task.result_urls[0]))
    except OSError as exc:
        if exc.errno not in NO_SPACE_ERRNOS:
            raise
        log.error("media storage full while storing task %s: %s", task.pk, exc)
        raise DownloadError(STORAGE_FULL) from None


def _store(task: GenerationTask, url: str) -> VideoAsset:
    fd, tmp_name = tempfile.mkstemp(dir=media_store.scratch_dir(), suffix=".mp4")
    tmp = Path(tmp_name)
    poster_tmp = tmp.with_suffix(".jpg")
    try:
        with os.fdopen(fd, "wb") as out:
            digest, size = _stream(url, out)
        info = _check_video(tmp)
        media.write_poster(
            tmp, poster_tmp, at_seconds=min(0.5, info.duration_seconds / 2)
        )
        stamp = timezone.now()
        folder = f"videos/{stamp:%Y}/{stamp:%m}"
        name = f"{folder}/task-{task.pk}-{digest[:12]}.mp4"
        poster_name = name.removesuffix(".mp4") + ".jpg"
        _store_pair(tmp, name, poster_tmp, poster_name, digest)
        log.info(
            "task %s: video stored (%s bytes) in %s",
            task.pk,
            size,
            media_store.describe(),
        )
    except media.NotAVideo as exc:
        raise DownloadError(str(exc), permanent=True) from None
    finally:
        tmp.unlink(missing_ok=True)
        poster_tmp.unlink(missing_ok=True)
    return VideoAsset(
        task=task,
        file=name,
        poster=poster_name,
        **info.asset_fields(),
        size_bytes=size,
        sha256=digest,
        source_url=url[:2000],
    )


def _store_pair(
    video: Path, name: str, poster: Path, poster_name: str, digest: str
) -> None:
    try:
        media_store.store_video(video, name, poster, poster_name, sha256=digest)
    except Exception as exc:
        log.warning("storing the video failed: %s", type(exc).__name__)
        raise DownloadError(
            f"storing the video failed ({type(exc).__name__})"
        ) from None


def _check_video(path: Path) -> media.VideoInfo:
    with path.open("rb") as handle:
        if not media.looks_like_mp4(handle.read(12)):
            raise media.NotAVideo("the result is not an MP4 file")
    return media.probe(path)


def _stream(url: str, out: object) -> tuple[str, int]:
    """Download ``url`` into ``out``; returns (sha256 hex, size)."""
    cap = settings.MAX_RESULT_BYTES
    for hop in range(MAX_REDIRECTS + 1):
        try:
            check_result_url(url)
        except DownloadError as exc:
            if hop == 0:
                raise
            # A redirect elsewhere is refused, but the provider's URL itself may
            # still serve the file later: retried a few times, never followed.
            raise DownloadError(str(exc), permanent=True) from None
        try:
            response = requests.get(
                url, stream=True, allow_redirects=False, timeout=(5, 30)
            )
        except requests.RequestException as exc:
            raise DownloadError(f"the download failed ({type(exc).__name__})") from None
        with response:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("Location", ""))
                continue
            if response.status_code in GONE:
                raise DownloadError(
                    f"the result URL answered {response.status_code} (expired or gone)",
                    permanent=True,
                )
            if response.status_code != 200:
                raise DownloadError(f"the result URL answered {response.status_code}")
            return _copy_body(response, out, cap)
    raise DownloadError("too many redirects", permanent=True)


def _copy_body(response: requests.Response, out: object, cap: int) -> tuple[str, int]:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdecimal() and int(declared) > cap:
        raise DownloadError("the result is larger than allowed", permanent=True)
    digest = hashlib.sha256()
    size = 0
    try:
        for chunk in response.iter_content(CHUNK):
            size += len(chunk)
            if size > cap:
                raise DownloadError("the result is larger than allowed", permanent=True)
            digest.update(chunk)
            out.write(chunk)  # type: ignore[attr-defined]
    except requests.RequestException as exc:
        raise DownloadError(f"the download broke off ({type(exc).__name__})") from None
    if declared and declared.isdecimal() and int(declared) != size:
        raise DownloadError(f"the download is truncated ({size} of {declared} bytes)")
    if size == 0:
        raise DownloadError("the result is empty")
    return digest.hexdigest(), size


def check_result_url(url: str) -> None:
    """Refuse URLs outside the allowed hosts or resolving to private addresses."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DownloadError("refusing a malformed URL", final=True) from None
    host = (parts.hostname or "").lower()
    allow_local = settings.APIXO_RESULT_ALLOW_LOCAL and host == _provider_host()
    if parts.scheme != "https" and not (allow_local and parts.scheme == "http"):
        raise DownloadError(f"refusing a {parts.scheme or 'relative'} URL", final=True)
    if not host or not host_allowed(host, settings.APIXO_RESULT_HOSTS):
        raise DownloadError(
            f"refusing to download from {host or 'no host'}: not a result host",
            final=True,
        )
    if allow_local:
        return
    if parts.username or parts.password:
        raise DownloadError("refusing a URL with credentials", final=True)
    try:
        security.resolve_public(host, port or 443)
    except security.HostRefused as exc:
        # A name that does not resolve may later; a private address is kept a while.
        raise DownloadError(str(exc), permanent=not exc.unresolved) from None


def _provider_host() -> str:
    """The configured provider's host: the only one APIXO_RESULT_ALLOW_LOCAL frees."""
    return (urlsplit(settings.APIXO_BASE_URL).hostname or "").lower()


def host_allowed(host: str, allowed: list[str]) -> bool:
    for entry in allowed:
        entry = entry.lower()
        if entry.startswith(".") and (host.endswith(entry) or host == entry[1:]):
            return True
        if host == entry:
            return True
    return False
