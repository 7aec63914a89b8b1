"""The account's operations of /api/v1/: balance, ledger, share links, collections."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse

from generations import credits, sharing
from generations.api import auth, idempotency
from generations.api.problems import Problem
from generations.api.routes import api, cursor_page, json_safe
from generations.api.schemas import (
    ERRORS,
    BalanceOut,
    CollectionOut,
    LedgerPage,
    LinkIn,
    LinkOut,
)
from generations.models import LedgerEntry, ShareLink
from generations.models.api import Scope


@api.get("/balance", response={200: BalanceOut, **ERRORS}, summary="Your balance")
def balance(request: HttpRequest) -> dict[str, Any]:
    user = auth.require(request, Scope.READ)
    return {"balance": credits.account_for(user).balance}


@api.get("/ledger", response={200: LedgerPage, **ERRORS}, summary="Your ledger")
def ledger(
    request: HttpRequest, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    user = auth.require(request, Scope.READ)
    rows = LedgerEntry.objects.filter(account__user=user)
    return cursor_page(rows, cursor, limit, entry_out)


def entry_out(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "amount": entry.amount,
        "task_id": entry.task_id,
        "reason": entry.reason,
        "created_at": entry.created_at,
    }


def link_out(link: ShareLink, token: str | None = None) -> dict[str, Any]:
    video = link.video
    return {
        "id": link.pk,
        "task_id": video.task_id if video is not None else None,
        "collection_id": link.collection_id,
        "created_at": link.created_at,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
        "url": settings.PUBLIC_BASE_URL.rstrip("/") + f"/s/{token}/" if token else None,
    }


@api.get("/links", response={200: list[LinkOut], **ERRORS}, summary="Your links")
def list_links(request: HttpRequest) -> list[dict[str, Any]]:
    """Links you may revoke: yours, and teammates' links showing your videos."""
    user = auth.require(request, Scope.READ)
    links = sharing.revocable_links(user).select_related("video").order_by("-pk")
    return [link_out(link) for link in links[:200]]


@api.post(
    "/links",
    response={201: LinkOut, **ERRORS},
    summary="Share a video or a collection; the URL is shown once",
)
def create_link(request: HttpRequest, payload: LinkIn) -> HttpResponse:
    user = auth.require(request, Scope.SHARE)

    def produce() -> idempotency.Answer:
        if payload.expiry not in sharing.EXPIRY_PRESETS:
            raise Problem(422, "Unknown expiry.")
        video = collection = None
        if (payload.task_id is None) == (payload.collection_id is None):
            raise Problem(422, "Name exactly one of task_id and collection_id.")
        if payload.task_id is not None:
            video = sharing.shareable_video_for_task(user, payload.task_id)
            if video is None:
                raise Problem(404, "No such video you may share.")
        else:
            collection = user.collections.filter(pk=payload.collection_id or 0).first()
            if collection is None:
                raise Problem(404, "No such collection of yours.")
        new = sharing.create_link(
            owner=user,
            video=video,
            collection=collection,
            expiry=payload.expiry,
            show_prompt=payload.show_prompt,
            show_owner=payload.show_owner,
        )
        return 201, json_safe(link_out(new.link, new.token))

    return idempotency.run_idempotent(
        request, owner=user, route="links", payload=payload.dict(), produce=produce
    )


@api.post(
    "/links/{link_id}/revoke",
    response={204: None, **ERRORS},
    summary="Revoke a link at once",
)
def revoke_link(request: HttpRequest, link_id: int) -> HttpResponse:
    user = auth.require(request, Scope.SHARE)
    if not sharing.revocable_links(user).filter(pk=link_id).exists():
        raise Http404
    sharing.revoke_link(owner=user, link_id=link_id)
    return HttpResponse(status=204)


@api.get(
    "/collections",
    response={200: list[CollectionOut], **ERRORS},
    summary="Your collections and the videos they show",
)
def list_collections(request: HttpRequest) -> list[dict[str, Any]]:
    user = auth.require(request, Scope.READ)
    collections = list(user.collections.order_by("-pk")[:200])
    shown = sharing.available_task_ids(user, collections)
    return [
        {
            "id": collection.pk,
            "title": collection.title,
            "description": collection.description,
            "created_at": collection.created_at,
            "task_ids": shown[collection.pk],
        }
        for collection in collections
    ]
