"""Staff screens for the API: every member's tokens (revoke) and webhook endpoints.

A token's hash and an endpoint's signing secret are never shown; tokens are not
created here (a token exists only in the browser of the member who made it).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from generations.api import tokens
from generations.models import ApiToken, WebhookEndpoint

TOKEN_FIELDS = (
    "owner",
    "name",
    "prefix",
    "scopes",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
    "last_used_from",
)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = [
        "name",
        "owner",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "last_used_from",
    ]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["owner__username", "name", "prefix"]
    list_select_related = ["owner"]
    actions = ["revoke"]
    fields = TOKEN_FIELDS
    readonly_fields = TOKEN_FIELDS

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = tokens.revoke_tokens(queryset)
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> bool:
        return False  # revoke instead: the row keeps the history


ENDPOINT_FIELDS = ("owner", "url", "event_types", "created_at", "disabled_at")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    list_display = ["url", "owner", "event_types", "created_at", "disabled_at"]
    search_fields = ["owner__username", "url"]
    list_select_related = ["owner"]
    fields = ENDPOINT_FIELDS
    readonly_fields = ENDPOINT_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
