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

    @admin.display(description="Target")
    def target(self, link: ShareLink) -> str:
        if link.collection_id is not None:
            return f"Collection: {link.collection}"
        return f"Video of task {link.video.task_id}" if link.video else "—"

    @admin.display(description="State")
    def state(self, link: ShareLink) -> str:
        return str(link.status_at(timezone.now()).label)

    @admin.action(description="Revoke selected links", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ShareLink]) -> None:
        count = sharing.revoke_links(queryset)
        self.message_user(request, f"Revoked {count} link(s).", messages.SUCCESS)

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
