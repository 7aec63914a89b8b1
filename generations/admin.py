from __future__ import annotations

from django.contrib import admin

from generations.models import (
    CreditAccount,
    GenerationTask,
    LedgerEntry,
    PriceRule,
    ShareLink,
    TaskTransition,
    VideoAsset,
)


class TaskTransitionInline(admin.TabularInline[TaskTransition, GenerationTask]):
    model = TaskTransition
    extra = 0
    can_delete = False
    readonly_fields = ["from_state", "to_state", "at", "reason"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(GenerationTask)
class GenerationTaskAdmin(admin.ModelAdmin[GenerationTask]):
    list_display = [
        "id",
        "owner",
        "state",
        "mode",
        "resolution",
        "duration",
        "cost",
        "provider_task_id",
        "fail_code",
        "created_at",
    ]
    list_filter = ["state", "fail_code", "mode", "resolution", "routing", "created_at"]
    search_fields = ["prompt", "provider_task_id"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner", "retry_of"]
    exclude = ["callback_token_hash"]
    inlines = [TaskTransitionInline]


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin[CreditAccount]):
    list_display = ["user", "balance", "max_in_flight", "daily_credit_limit"]
    readonly_fields = ["balance"]
    list_select_related = ["user"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin[LedgerEntry]):
    list_display = [
        "created_at",
        "account",
        "kind",
        "amount",
        "task",
        "created_by",
        "reason",
    ]
    list_filter = ["kind", "created_at"]
    list_select_related = ["account__user", "created_by"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


admin.site.register(PriceRule)
admin.site.register(VideoAsset, raw_id_fields=["task"])
admin.site.register(ShareLink, exclude=["token_hash"], raw_id_fields=["video", "owner"])
