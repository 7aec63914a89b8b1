"""Staff oversight of storyboards: every board with its shots and film versions.

Read-only. A board is changed by its owner on its page (the one place its rules
live: ``storyboards/services.py``); deleting here would skip the film files'
removal, so it is not offered. Takes and films are tasks: the task admin has them.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from generations.models import Film, Shot, Storyboard

BOARD_FIELDS = (
    "title",
    "owner",
    "state",
    "pause_text",
    "aspect_ratio",
    "resolution",
    "sound",
    "routing",
    "is_private",
    "hidden",
    "created_at",
    "updated_at",
)


class ReadOnlyInline[M: (Shot, Film)](admin.TabularInline[M, Storyboard]):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ShotInline(ReadOnlyInline[Shot]):
    model = Shot
    fields = (
        "position", "prompt", "duration", "start", "cut", "chosen_take", "note_text"
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("Note"))
    def note_text(self, shot: Shot) -> str:
        return shot.note_text


class FilmInline(ReadOnlyInline[Film]):
    model = Film
    fields = ("version", "state", "task", "stream_copy", "error", "finished_at")
    readonly_fields = fields


@admin.register(Storyboard)
class StoryboardAdmin(admin.ModelAdmin[Storyboard]):
    list_display = [
        "title",
        "owner",
        "state",
        "shot_count",
        "is_private",
        "hidden",
        "updated_at",
    ]
    list_filter = ["state", "is_private", "hidden"]
    search_fields = ["title", "owner__username"]
    list_select_related = ["owner"]
    fields = BOARD_FIELDS
    readonly_fields = BOARD_FIELDS
    inlines = [ShotInline, FilmInline]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Storyboard]:
        return super().get_queryset(request).annotate(shot_total=Count("shots"))

    @admin.display(description=_("Pause message"))
    def pause_text(self, board: Storyboard) -> str:
        return board.pause_text

    @admin.display(description=_("Shots"), ordering="shot_total")
    def shot_count(self, board: Storyboard) -> int:
        return int(getattr(board, "shot_total", 0))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Storyboard | None = None
    ) -> bool:
        return False  # the owner deletes films on the board page (their files too)
