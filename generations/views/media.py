"""Serving videos, posters and input frames, with HTTP Range support.

Django's FileResponse ignores Range, and browsers (Safari above all) need 206
answers to seek or even to play. Only files named by a row the member may see are
served, under URLs that do not reveal storage paths; MEDIA_ROOT is never served
wholesale.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from generations import images, media_store
from generations.models import InputImage
from generations.views.common import AuthedHttpRequest, visible_video_task_or_404

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single-range header, or None.

    None means "answer with the whole file": no header, a unit other than bytes,
    several ranges, or a malformed one (RFC 9110 lets a server ignore those).
    Raises Unsatisfiable when the range lies outside the file.
    """
    match = RANGE_RE.match(header.strip().replace(" ", ""))
    if not match:
        return None
    first_raw, last_raw = match.groups()
    if not first_raw and not last_raw:
        return None
    if not first_raw:
        suffix = int(last_raw)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - suffix), size - 1
    first = int(first_raw)
    last = int(last_raw) if last_raw else size - 1
    if last_raw and last < first:
        return None
    if first >= size:
        raise Unsatisfiable
    return first, min(last, size - 1)


def ranged_file_response(
    request: HttpRequest,
    name: str | None,
    content_type: str,
    *,
    download_name: str | None = None,
) -> HttpResponseBase:
    """A 200, 206 or 416 answer for a stored file, streamed in chunks.

    The bytes come through Django on both backends (from a bucket, a proxied
    ranged GET): the page's CSP stays 'self' and every request is checked.
    """
    try:
        info = media_store.stat(name or "")
    except FileNotFoundError:
        raise Http404("The file is missing.") from None
    assert name  # stat("") is a missing file
    size = info.size
    if info.modified is not None:
        mtime = int(info.modified.timestamp())
        modified: str | None = http_date(mtime)
    else:
        mtime, modified = zlib.crc32(name.encode()), None
    etag = f'"{size:x}-{mtime:x}"'
    header = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range", "")
    if if_range and if_range not in {etag, modified}:
        header = ""  # the file changed since the client's copy: send it all
    try:
        byte_range = parse_range(header, size) if header else None
    except Unsatisfiable:
        refusal = HttpResponse(status=416)
        refusal["Content-Range"] = f"bytes */{size}"
        refusal["Accept-Ranges"] = "bytes"
        return refusal
    first, last = byte_range if byte_range else (0, size - 1)
    length = max(0, last - first + 1)
    if request.method == "HEAD":
        stream: Iterator[bytes] = iter(())
    else:
        stream = media_store.read_range(name, first, length)
    response = StreamingHttpResponse(
        stream, status=206 if byte_range else 200, content_type=content_type
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    if modified:
        response["Last-Modified"] = modified
    if byte_range:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    if download_name:
        response["Content-Disposition"] = f'attachment; filename="{download_name}"'
    return response


def download_response(
    request: HttpRequest, name: str | None, content_type: str, *, download_name: str
) -> HttpResponseBase:
    """A browser's "save the video": from a bucket, a redirect to a short-lived
    pre-signed URL (the bytes do not pass through us; the caller has checked the
    permission); on local disk, the ranged answer with Content-Disposition."""
    url = media_store.download_url(
        name or "", download_name=download_name, content_type=content_type
    )
    if url is None:  # local disk: the ranged answer 404s a missing file itself
        return ranged_file_response(
            request, name, content_type, download_name=download_name
        )
    if not media_store.exists(name or ""):
        raise Http404("The file is missing.")
    redirect = HttpResponseRedirect(url)
    redirect["Cache-Control"] = "private, no-store"
    return redirect


@login_required
@require_safe
def video_file(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    task = visible_video_task_or_404(request, pk)
    if "download" in request.GET:
        return download_response(
            request,
            task.video.file.name,
            "video/mp4",
            download_name=f"seedance-{task.pk}.mp4",
        )
    return ranged_file_response(request, task.video.file.name, "video/mp4")


@login_required
@require_safe
def video_poster(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    task = visible_video_task_or_404(request, pk)
    name = task.video.poster.name
    return ranged_file_response(request, name, images.content_type_for(name))


@login_required
@require_safe
def input_image_file(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    """A start or end frame: its owner's, or one of a video this member may watch
    (the video's own rule: a finished, visible task; nothing of a task in flight,
    failed, hidden or private)."""
    image = InputImage.objects.filter(pk=pk).exclude(file="").first()
    if image is None:
        raise Http404("No such image.")
    if image.owner_id != request.user.pk:
        if image.task_id is None:
            raise Http404("No such image.")
        visible_video_task_or_404(request, image.task_id)
    name = image.file.name
    return ranged_file_response(request, name, images.content_type_for(name))


@require_safe
def input_image_public(request: HttpRequest, token: str) -> HttpResponseBase:
    """The signed, expiring URL the provider fetches an uploaded frame from."""
    image = images.image_for_token(token)
    if image is None:
        raise Http404("This link is invalid or has expired.")
    name = image.file.name
    response = ranged_file_response(request, name, images.content_type_for(name))
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
