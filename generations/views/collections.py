"""A member's collections: list, create, edit, order, remove, delete, and adding a
video from its detail page. Only the owner ever sees or changes a collection."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from generations import services as task_services
from generations import sharing as services
from generations.forms import is_id
from generations.models import Collection, CollectionItem, ShareLink
from generations.models.sharing import DESCRIPTION_MAX_LENGTH
from generations.models.tasks import in_gallery_q
from generations.views.common import AuthedHttpRequest


def _description_too_long() -> str:
    limit = number_format(DESCRIPTION_MAX_LENGTH, force_grouping=True)
    return _("Keep the description to %(limit)s characters or fewer.") % {
        "limit": limit
    }


class CollectionForm(forms.ModelForm[Collection]):
    class Meta:
        model = Collection
        fields = ["title", "description"]
        widgets = {
            "title": forms.TextInput(
                attrs={"placeholder": gettext_lazy("Client review, March")}
            ),
            "description": forms.Textarea(
                attrs={
                    "rows": 3,
                    "placeholder": gettext_lazy("Optional: shown on the public page"),
                }
            ),
        }

        error_messages = {
            "description": {"max_length": lazy(_description_too_long, str)()}
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Refused, but never echoed back whole: the page stays small.
        description = self.data.get("description") if self.is_bound else None
        if description and len(description) > DESCRIPTION_MAX_LENGTH:
            data = self.data.copy()  # type: ignore[attr-defined]
            data["description"] = description[: DESCRIPTION_MAX_LENGTH + 1]
            self.data = data

    def clean_title(self) -> str:
        title: str = self.cleaned_data["title"].strip()
        if not title:
            raise forms.ValidationError(_("Give the collection a title."))
        return title


def own_collection_or_404(request: AuthedHttpRequest, pk: int) -> Collection:
    return get_object_or_404(Collection, pk=pk, owner_id=request.user.pk)


def chosen_collection(request: AuthedHttpRequest) -> Collection | None:
    """The member's collection named by the posted ``collection``; None for a new
    one ("" or "new"); 404 for anything else."""
    raw = request.POST.get("collection", "")
    if raw in {"", "new"}:
        return None
    if not is_id(raw):
        raise Http404("No such collection.")
    return own_collection_or_404(request, int(raw))


def _listing(
    request: AuthedHttpRequest, form: CollectionForm, status: int = 200
) -> HttpResponse:
    user = request.user
    shown = in_gallery_q(user.pk, "video__task__")
    first_task = (
        CollectionItem.objects.filter(shown, collection=OuterRef("pk"))
        .order_by("position", "id")
        .values("video__task_id")[:1]
    )
    collections = (
        Collection.objects.filter(owner_id=user.pk)
        .annotate(
            video_count=Count(
                "items", filter=in_gallery_q(user.pk, "items__video__task__")
            ),
            cover_task_id=Subquery(first_task),
        )
        .order_by("-created_at", "-id")
    )
    context = {"collections": collections, "form": form}
    return render(request, "generations/collections.html", context, status=status)


@login_required
@require_GET
def collection_list(request: AuthedHttpRequest) -> HttpResponse:
    return _listing(request, CollectionForm())


@login_required
@require_POST
def collection_create(request: AuthedHttpRequest) -> HttpResponse:
    form = CollectionForm(request.POST)
    if not form.is_valid():
        return _listing(request, form, status=422)
    collection = services.create_collection(
        owner=request.user,
        title=form.cleaned_data["title"],
        description=form.cleaned_data["description"],
    )
    messages.success(
        request,
        _("Collection “%(title)s” created.") % {"title": collection.title},
    )
    return redirect("collection_detail", collection.pk)


def _detail(
    request: AuthedHttpRequest,
    collection: Collection,
    form: CollectionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    items = list(
        services.available_items(collection).select_related("video__task__owner")
    )
    total = collection.items.count()
    links = ShareLink.objects.filter(collection=collection).order_by(
        "-created_at", "-id"
    )
    context = {
        "collection": collection,
        "items": items,
        "unavailable_count": total - len(items),
        "form": form or CollectionForm(instance=collection),
        "share_action": reverse("link_create_for_collection", args=[collection.pk]),
        "links": list(links),
    }
    return render(request, "generations/collection.html", context, status=status)


@login_required
@require_GET
def collection_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _detail(request, own_collection_or_404(request, pk))


@login_required
@require_POST
def collection_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    collection = own_collection_or_404(request, pk)
    form = CollectionForm(request.POST, instance=collection)
    if not form.is_valid():
        collection.refresh_from_db()
        return _detail(request, collection, form, status=422)
    form.save()
    messages.success(request, _("Saved."))
    return redirect("collection_detail", collection.pk)


@login_required
@require_POST
def collection_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    collection = own_collection_or_404(request, pk)
    title = collection.title
    # Its links go with it (cascade): they answer 404 from now on.
    collection.delete()
    messages.success(
        request,
        _("Collection “%(title)s” deleted; its links no longer work.")
        % {"title": title},
    )
    return redirect("collection_list")


@login_required
@require_POST
def item_move(request: AuthedHttpRequest, pk: int, item_pk: int) -> HttpResponse:
    collection = own_collection_or_404(request, pk)
    direction = request.POST.get("direction")
    if direction not in {"up", "down"}:
        return HttpResponse("direction must be up or down", status=400)
    moved = services.move_item(
        owner=request.user,
        collection=collection,
        item_id=item_pk,
        offset=-1 if direction == "up" else 1,
    )
    if not moved and not collection.items.filter(pk=item_pk).exists():
        raise Http404("No such item.")
    return redirect(reverse("collection_detail", args=[pk]) + f"#item-{item_pk}")


@login_required
@require_POST
def collection_order(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The whole order at once (drag and drop): ``item`` repeated, top first."""
    collection = own_collection_or_404(request, pk)
    raw = request.POST.getlist("item")
    if not raw or not all(value.isdecimal() for value in raw):
        return HttpResponse("item must list item ids", status=400)
    services.reorder_collection(
        owner=request.user, collection=collection, item_ids=[int(v) for v in raw]
    )
    if request.htmx or request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    return redirect("collection_detail", pk)


@login_required
@require_POST
def item_remove(request: AuthedHttpRequest, pk: int, item_pk: int) -> HttpResponse:
    collection = own_collection_or_404(request, pk)
    if not services.remove_from_collection(
        owner=request.user, collection=collection, item_id=item_pk
    ):
        raise Http404("No such item.")
    messages.success(
        request, _("Removed from the collection (the video itself stays).")
    )
    return redirect("collection_detail", pk)


@login_required
@require_POST
def collection_add_video(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """From a video's detail page: into one of my collections, or a new one."""
    if services.shareable_video_for_task(request.user, pk) is None:
        raise Http404("No such video.")
    back = reverse("video_detail", args=[pk])
    try:
        collection, added = task_services.collect_videos(
            owner=request.user,
            task_ids=[pk],
            collection=chosen_collection(request),
            title=request.POST.get("new_title", ""),
        )
    except task_services.Refused as exc:
        messages.error(request, str(exc))
        return redirect(back)
    if added:
        messages.success(
            request, _("Added to “%(title)s”.") % {"title": collection.title}
        )
    else:
        messages.info(
            request, _("Already in “%(title)s”.") % {"title": collection.title}
        )
    return redirect(back)
