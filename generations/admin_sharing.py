"""Staff screen for share links: every member's links, with a "Revoke" action.

The token hash is never shown, and links are not created or edited here: a token
exists only in the browser of the member who created it. Imported from
``generations/admin.py``, which then no longer registers ShareLink itself.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from generations import sharing
from generations.models import ShareLink

SHOWN_FIELDS = (
    "owner",
    "video",
    "collection",
    "show_prompt",
    "show_owner",
    "created_at",
    "expires_at",
    "revoked_at",
    "view_count",
    "last_viewed_at",
)


class ShareLinkAdmin(admin.ModelAdmin[ShareLink]):
    list_display = [
        "id",
        "owner",
        "target",
        "created_at",
        "expires_at",
        "revoked_at",
        "view_count",
        "last_viewed_at",
        "state",
    ]
    list_filter = ["created_at", "expires_at", "revoked_at", "show_prompt"]
    search_fields = ["owner__username", "collection__title", "video__task__prompt"]
    list_select_related = ["owner", "collection", "video"]
    date_hierarchy = "created_at"
    actions = ["revoke"]
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS

    @admin.display(description=_("Target"))
    def target(self, link: ShareLink) -> str:
        if link.collection_id is not None:
            return gettext("Collection: %(name)s") % {"name": link.collection}
        if link.video:
            return gettext("Video of task %(id)s") % {"id": link.video.task_id}
        return "—"

    @admin.display(description=_("State"))
    def state(self, link: ShareLink) -> str:
        return str(link.status_at(timezone.now()).label)

    @admin.action(description=_("Revoke selected links"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ShareLink]) -> None:
        count = sharing.revoke_links(queryset)
        self.message_user(
            request,
            ngettext("Revoked %(count)s link.", "Revoked %(count)s links.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: ShareLink | None = None
    ) -> bool:
        # Revoke instead: the row keeps the history (views, when it was revoked).
        return False


# admin.py may still carry a bare registration from before this module existed.
if admin.site.is_registered(ShareLink):
    admin.site.unregister(ShareLink)
admin.site.register(ShareLink, ShareLinkAdmin)
