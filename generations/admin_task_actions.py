"""What the task admin's actions share: their forms and how they report per row."""

from __future__ import annotations

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from generations.models import GenerationTask


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=400,
        label=_("Reason"),
        help_text=_("Recorded in the task's history and the ledger, with your name."),
        widget=forms.TextInput(attrs={"size": 70}),
    )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why, for the task's history."))
        return reason


class NoteForm(forms.Form):
    reason = forms.CharField(
        max_length=400,
        required=False,
        label=_("Note"),
        help_text=_("Optional; recorded in the old task's history."),
        widget=forms.TextInput(attrs={"size": 70}),
    )


class Results:
    """Per-row outcomes of an action, reported as a few grouped messages."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.refused: dict[str, list[int]] = defaultdict(list)

    def ok(self, text: str) -> None:
        self.done.append(text)

    def refuse(self, task: GenerationTask, why: str) -> None:
        self.refused[why].append(task.pk)

    def report(
        self, model_admin: admin.ModelAdmin[GenerationTask], request: HttpRequest
    ) -> None:
        if self.done:
            model_admin.message_user(
                request, "; ".join(self.done) + ".", messages.SUCCESS
            )
        for why, ids in self.refused.items():
            tasks = ", ".join(f"#{pk}" for pk in ids)
            model_admin.message_user(request, f"{tasks}: {why}", messages.WARNING)


def staff_name(request: HttpRequest) -> str:
    return request.user.get_username() if request.user.is_authenticated else "?"
