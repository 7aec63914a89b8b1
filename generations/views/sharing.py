"""Share links: creating and revoking them (members) and the public pages (anyone).

Every public response, pages and files and refusals alike, goes through
``_public``: it carries ``X-Robots-Tag: noindex`` and ``Referrer-Policy: no-referrer``
and a Content-Security-Policy that allows our own files only. Unknown tokens count
against the client's address; after too many the address gets 429 for every token,
valid or not (otherwise a 429 versus 200 would still tell a guesser which is which).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator, slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST, require_safe

from generations import images
from generations import sharing as services
from generations.models import Collection, ShareLink
from generations.models.sharing import LinkStatus
from generations.views.common import AuthedHttpRequest
from generations.views.media import download_response, ranged_file_response

NEW_LINK_SESSION_KEY = "sharing:new-link"
PUBLIC_CSP = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class ShareLinkForm(forms.Form):
    expiry = forms.ChoiceField(
        choices=[(key, label) for key, (label, _) in services.EXPIRY_PRESETS.items()],
        initial=services.DEFAULT_EXPIRY,
        label=gettext_lazy("Expires after"),
    )
    show_prompt = forms.BooleanField(
        required=False, label=gettext_lazy("Show the prompt")
    )
    show_owner = forms.BooleanField(required=False, label=gettext_lazy("Show my name"))


# --- Member pages ----------------------------------------------------------------


def public_url(token: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse("share_page", args=[token])


def _created_response(
    request: AuthedHttpRequest, new: services.NewLink
) -> HttpResponse:
    """The token, shown once: inline for htmx, else on the links page via session."""
    url = public_url(new.token)
    if request.htmx:
        context = {"new_link": {"url": url, "link": new.link}}
        return render(request, "generations/links.html#created", context)
    request.session[NEW_LINK_SESSION_KEY] = {"url": url, "link_id": new.link.pk}
    return redirect("share_links")


def _create_link(request: AuthedHttpRequest, back: str, **target: Any) -> HttpResponse:
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose when the link expires."))
        if request.htmx:
            return render(
                request,
                "generations/links.html#share_form",
                {"share_action": request.path},
                status=422,
            )
        return redirect(back)
    new = services.create_link(
        owner=request.user,
        expiry=form.cleaned_data["expiry"],
        show_prompt=form.cleaned_data["show_prompt"],
        show_owner=form.cleaned_data["show_owner"],
        **target,
    )
    return _created_response(request, new)


@login_required
@require_POST
def link_create_for_video(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    video = services.shareable_video_for_task(request.user, pk)
    if video is None:
        raise Http404("No such video.")
    return _create_link(request, reverse("video_detail", args=[pk]), video=video)


@login_required
@require_POST
def link_create_for_collection(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk, owner_id=request.user.pk)
    return _create_link(
        request, reverse("collection_detail", args=[pk]), collection=collection
    )


@login_required
@require_GET
def share_links(request: AuthedHttpRequest) -> HttpResponse:
    links = (
        ShareLink.objects.filter(owner_id=request.user.pk)
        .select_related("video", "video__task", "collection")
        .order_by("-created_at", "-id")
    )
    new_link = request.session.pop(NEW_LINK_SESSION_KEY, None)
    others = (
        services.links_showing_videos_of(request.user)
        .select_related("owner", "video", "video__task", "collection")
        .order_by("-created_at", "-id")
    )
    # Newest first; a member with more than 500 links sees the newest 500.
    context = {
        "links": list(links[:500]),
        "others_links": list(others[:500]),
        "new_link": new_link,
    }
    return render(request, "generations/links.html", context)


@login_required
@require_POST
def link_revoke(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    link = get_object_or_404(services.revocable_links(request.user), pk=pk)
    if services.revoke_link(owner=request.user, link_id=link.pk):
        messages.success(request, _("Link revoked: it stops working now."))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("share_links")


# --- Public pages ----------------------------------------------------------------

PublicView = Callable[..., HttpResponseBase]


def _public(view: PublicView) -> PublicView:
    """Headers on every public answer, and our own plain 404 (never the site's)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            response = _refusal(request, 404)
        response["X-Robots-Tag"] = "noindex"
        response["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Content-Security-Policy", PUBLIC_CSP)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return wrapper


def _refusal(
    request: HttpRequest,
    status: int,
    reason: LinkStatus | None = None,
    retry_after: int | None = None,
) -> HttpResponse:
    response = render(
        request,
        "public/refusal.html",
        {"status": status, "reason": reason},
        status=status,
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _live_link(request: HttpRequest, token: str) -> ShareLink | HttpResponse:
    """The viewable link, or the refusal to send (429, 404, 410)."""
    address = services.client_address(request)
    retry_after = services.lookup_retry_after(address)
    if retry_after is not None:
        return _refusal(request, 429, retry_after=retry_after)
    link = services.find_link(token)
    if link is None:
        services.record_failed_lookup(address)
        return _refusal(request, 404)
    reason = services.public_status(link)
    if reason is not None:
        return _refusal(request, 410, reason)
    return link


def _absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL + path


@dataclass(frozen=True)
class PublicEntry:
    """One video on a public page with its token-scoped URLs (relative)."""

    item: services.PublicItem
    video_url: str
    poster_url: str
    download_name: str

    @property
    def download_url(self) -> str:
        return f"{self.video_url}?download=1"


def _entries(link: ShareLink, token: str) -> list[PublicEntry]:
    stem = slugify(link.collection.title)[:60] if link.collection else ""
    return [
        PublicEntry(
            item=item,
            video_url=reverse("share_video_file", args=[token, item.key]),
            poster_url=reverse("share_poster", args=[token, item.key])
            if item.video.poster
            else "",
            download_name=f"{stem or 'seedance-video'}"
            + (f"-{item.number}" if link.collection else "")
            + ".mp4",
        )
        for item in services.public_items(link)
    ]


def _card_text(link: ShareLink, entries: list[PublicEntry]) -> dict[str, str]:
    """Title and description for the page and its chat-app preview."""
    sharer = services.sharer_name(link)
    by = " " + _("Shared by %(name)s.") % {"name": sharer} if sharer else ""
    if link.collection is not None:
        count = len(entries)
        text = link.collection.description or ngettext(
            "%(count)s video.", "%(count)s videos.", count
        ) % {"count": count}
        return {
            "og_type": "website",
            "og_title": link.collection.title,
            "og_description": Truncator(text).chars(200) + by,
        }
    item = entries[0].item if entries else None
    if item is not None and item.prompt:
        title = Truncator(item.prompt).chars(70)
        text = Truncator(item.prompt).chars(200)
    else:
        seconds = round(item.video.duration_seconds) if item else 0
        title = _("A shared video")
        text = ngettext(
            "A %(seconds)s-second video.", "A %(seconds)s-second video.", seconds
        ) % {"seconds": seconds}
    return {"og_type": "video.other", "og_title": title, "og_description": text + by}


@_public
@require_safe
def share_page(request: HttpRequest, token: str) -> HttpResponseBase:
    link = _live_link(request, token)
    if isinstance(link, HttpResponse):
        return link
    entries = _entries(link, token)
    first = entries[0] if entries else None
    context = {
        "link": link,
        "entries": entries,
        "entry": first,
        "collection": link.collection,
        "sharer": services.sharer_name(link),
        "page_url": _absolute(reverse("share_page", args=[token])),
        "og_image": _absolute(first.poster_url) if first and first.poster_url else None,
        "og_video": _absolute(first.video_url) if first else None,
        **_card_text(link, entries),
    }
    if request.method == "GET":
        services.record_view(link)
    template = "public/collection.html" if link.collection else "public/video.html"
    return render(request, template, context)


def _file_entry(
    request: HttpRequest, token: str, key: str
) -> PublicEntry | HttpResponse:
    link = _live_link(request, token)
    if isinstance(link, HttpResponse):
        return link
    entry = next((e for e in _entries(link, token) if e.item.key == key), None)
    if entry is None:
        raise Http404("No such video under this link.")
    return entry


@_public
@require_safe
def share_video_file(request: HttpRequest, token: str, key: str) -> HttpResponseBase:
    entry = _file_entry(request, token, key)
    if isinstance(entry, HttpResponse):
        return entry
    name = entry.item.video.file.name
    if "download" in request.GET:
        response = download_response(
            request, name, "video/mp4", download_name=entry.download_name
        )
    else:
        response = ranged_file_response(request, name, "video/mp4")
    if response.status_code != 302:  # a pre-signed redirect is never stored
        # Revalidate every time, so a revoked link stops serving at once.
        response["Cache-Control"] = "private, no-cache"
    return response


@_public
@require_safe
def share_poster(request: HttpRequest, token: str, key: str) -> HttpResponseBase:
    entry = _file_entry(request, token, key)
    if isinstance(entry, HttpResponse):
        return entry
    name = entry.item.video.poster.name
    response = ranged_file_response(request, name, images.content_type_for(name))
    response["Cache-Control"] = "private, no-cache"
    return response


@_public
def share_not_found(request: HttpRequest, rest: str = "") -> HttpResponseBase:
    """Anything else under /s/: the same plain 404 (not counted as a guess)."""
    return _refusal(request, 404)
