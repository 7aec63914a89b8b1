"""Staff screens for generation tasks: filters, the state history, and actions.

Actions never write a task's state by hand: they go through the same compare-and-set
transitions and ledger services the pipeline uses, so a task a worker moves at the
same moment is reported as "changed meanwhile", never half-changed.

- Re-check status now: marks a task due; the dispatcher reads its status (or retries
  its download) at its next pass. Views never call the provider.
- Retry: a new task with the same parameters and a new hold (``services.retry_task``).
- Release hold: fails a stuck task as RELEASED_BY_STAFF and gives its credits back,
  in one transaction; a staff reason is required and recorded.
- Resubmit unknown-outcome task: staff explicitly send again a task whose first
  submission may or may not have reached the provider. The old task is failed and
  released, the new one holds credits again: the member pays at most once.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from generations import services, staff_services
from generations.admin_paging import CappedPaginator
from generations.admin_task_actions import NoteForm, ReasonForm, Results, staff_name
from generations.models import (
    FailCode,
    GenerationTask,
    State,
    TaskTransition,
)

ACTION_FORM_TEMPLATE = "admin/generations/generationtask/action_form.html"


class TaskTransitionInline(admin.TabularInline[TaskTransition, GenerationTask]):
    """The task's state history: from, to, when, why. Never edited."""

    model = TaskTransition
    extra = 0
    can_delete = False
    fields = ["at", "from_state", "to_state", "reason"]
    readonly_fields = ["at", "from_state", "to_state", "reason"]
    ordering = ["at", "id"]
    verbose_name = _("state change")
    verbose_name_plural = _("state history")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FailCodeFilter(admin.SimpleListFilter):
    title = _("failure code")
    parameter_name = "fail_code"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        # A range on the index (not "!= ''"), so the empty codes of the
        # succeeded tasks are never read.
        codes = (
            GenerationTask.objects.filter(fail_code__gt="")
            .order_by("fail_code")
            .values_list("fail_code", flat=True)
            .distinct()
        )
        return [(code, code) for code in codes]

    def queryset(
        self, request: Any, queryset: QuerySet[GenerationTask]
    ) -> QuerySet[GenerationTask]:
        if self.value():
            return queryset.filter(fail_code=self.value())
        return queryset


class GenerationTaskAdmin(admin.ModelAdmin[GenerationTask]):
    # Seven narrow columns fit a 1440 px screen: the order's parameters share one
    # column; the provider's task id is on the task's page and searchable.
    list_display = [
        "id",
        "owner",
        "status",
        "order",
        "cost",
        "fail_code",
        "created_at",
    ]
    list_display_links = ["id"]
    list_filter = [
        "state",
        ("delivery_mismatch", admin.BooleanFieldListFilter),
        FailCodeFilter,
        "owner",
        "routing",
        "resolution",
        "mode",
        "created_at",
    ]
    search_fields = ["prompt", "provider_task_id"]
    search_help_text = _("Search the prompt or the provider task id.")
    list_select_related = ["owner"]
    raw_id_fields = ["owner", "retry_of"]
    # Counting a million rows per page is what makes a big changelist slow: the
    # whole table is never counted, and a filtered list at most to 10,000.
    show_full_result_count = False
    paginator = CappedPaginator
    # Facet counts run one COUNT per filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    ordering = ["-created_at", "-id"]
    inlines = [TaskTransitionInline]
    actions = ["recheck_status", "retry_tasks", "release_holds", "resubmit_unknown"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("owner", "state", "state_changed_at"),
                    ("fail_code", "fail_message"),
                    "last_error",
                    ("provider_said", "callback_received_at"),
                    "delivery_check",
                    ("retry_of", "retries_made"),
                    "ledger",
                ]
            },
        ),
        (
            _("Parameters"),
            {
                "fields": [
                    "prompt",
                    ("mode", "resolution", "duration", "aspect_ratio"),
                    ("sound", "fixed_lens", "routing", "delivery"),
                    "image_urls",
                    ("cost", "batch"),
                ]
            },
        ),
        (
            _("Provider"),
            {
                "fields": [
                    "provider_task_id",
                    ("created_at", "submitted_at"),
                    (
                        "provider_created_at",
                        "provider_completed_at",
                        "provider_cost_ms",
                    ),
                    "finished_at",
                    "result_urls",
                ]
            },
        ),
        (
            _("Pipeline bookkeeping"),
            {
                "classes": ["collapse"],
                "fields": [
                    ("next_action_at", "lease_until"),
                    ("poll_count", "submit_attempts", "download_attempts"),
                    ("hidden", "is_private", "updated_at"),
                ],
            },
        ),
    ]
    readonly_fields = [
        "retries_made",
        "ledger",
        "updated_at",
        "provider_said",
        "delivery_check",
    ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[GenerationTask], search_term: str
    ) -> tuple[QuerySet[GenerationTask], bool]:
        # A whole provider task id is found through its unique index; anything else
        # searches prompts and id fragments (a scan of the table).
        term = search_term.strip()
        if term and " " not in term:
            exact = queryset.filter(provider_task_id=term)
            if exact.exists():
                return exact, False
        return super().get_search_results(request, queryset, search_term)

    # A task changes only through the pipeline and the actions below: its page is
    # read-only, it is never added by hand, never deleted (its ledger rows point at it).
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: GenerationTask | None = None
    ) -> bool:
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(
        self, request: HttpRequest, obj: GenerationTask | None = None
    ) -> bool:
        return False

    @admin.display(description=_("state"), ordering="state")
    def status(self, task: GenerationTask) -> str:
        """The state, with what staff should notice at a glance."""
        notes = [str(task.get_state_display())]
        if task.provider_says:
            notes.append(task.provider_says)
        if task.delivery_mismatch:
            notes.append(gettext("delivered off the order"))
        return " · ".join(notes)

    @admin.display(description=_("order"))
    def order(self, task: GenerationTask) -> str:
        mode = gettext("image") if task.mode == "image-to-video" else gettext("text")
        sound = gettext("sound") if task.sound else gettext("silent")
        return gettext(
            "%(mode)s %(resolution)s %(duration)s s %(aspect_ratio)s %(sound)s "
            "%(routing)s"
        ) % {
            "mode": mode,
            "resolution": task.resolution,
            "duration": task.duration,
            "aspect_ratio": task.aspect_ratio,
            "sound": sound,
            "routing": task.routing,
        }

    @admin.display(description=_("provider state"))
    def provider_said(self, task: GenerationTask) -> str:
        if not task.provider_state:
            return "—"
        return task.provider_says or task.provider_state

    @admin.display(description=_("delivery check"))
    def delivery_check(self, task: GenerationTask) -> str:
        if task.state != State.SUCCEEDED:
            return "—"
        return "; ".join(task.delivery_notes) or gettext("Matches the order.")

    @admin.display(description=_("retries"))
    def retries_made(self, task: GenerationTask) -> str:
        ids = list(task.retries.order_by("pk").values_list("pk", flat=True))
        if not ids:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">#{}</a>',
            (
                (reverse("admin:generations_generationtask_change", args=[pk]), pk)
                for pk in ids
            ),
        )

    @admin.display(description=_("credits"))
    def ledger(self, task: GenerationTask) -> str:
        entries = list(task.ledger_entries.order_by("created_at", "pk"))
        if not entries:
            return gettext("No ledger entries.")
        return format_html_join(
            mark_safe("<br>"),
            "{} {} ({}) {}",
            (
                (
                    entry.get_kind_display(),
                    f"{entry.amount:+d}",
                    timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                    entry.reason,
                )
                for entry in entries
            ),
        )

    # --- actions ---------------------------------------------------------------

    def _refuse_unless_staff(self, request: HttpRequest) -> bool:
        """True (and a message) if this user may not act on tasks."""
        user = request.user
        if user.is_active and user.is_staff and self.has_change_permission(request):
            return False
        self.message_user(
            request, gettext("Only staff may act on tasks."), messages.ERROR
        )
        return True

    @admin.action(description=_("Re-check status now"), permissions=["change"])
    def recheck_status(
        self, request: HttpRequest, queryset: QuerySet[GenerationTask]
    ) -> None:
        if self._refuse_unless_staff(request):
            return
        results = Results()
        for task in queryset.order_by("pk"):
            try:
                what = staff_services.recheck_task(task=task)
            except services.Refused as exc:
                results.refuse(task, str(exc))
                continue
            results.ok(
                gettext("#%(id)s: %(what)s at the dispatcher's next pass")
                % {"id": task.pk, "what": what}
            )
        results.report(self, request)

    @admin.action(description=_("Retry (a new task, new hold)"), permissions=["change"])
    def retry_tasks(
        self, request: HttpRequest, queryset: QuerySet[GenerationTask]
    ) -> None:
        if self._refuse_unless_staff(request):
            return
        results = Results()
        for task in queryset.select_related("owner").order_by("pk"):
            try:
                new_task = staff_services.retry_failed_task(task=task)
            except services.Refused as exc:
                results.refuse(task, str(exc))
                continue
            results.ok(
                gettext("#%(id)s retried as #%(new_id)s")
                % {"id": task.pk, "new_id": new_task.pk}
            )
        results.report(self, request)

    @admin.action(
        description=_("Release hold (fail the task, give the credits back)"),
        permissions=["change"],
    )
    def release_holds(
        self, request: HttpRequest, queryset: QuerySet[GenerationTask]
    ) -> TemplateResponse | None:
        if self._refuse_unless_staff(request):
            return None
        tasks = list(queryset.select_related("owner").order_by("pk"))
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._action_page(
                request,
                tasks,
                form,
                action="release_holds",
                title=gettext("Release hold"),
                intro=gettext(
                    "Each task still in flight is failed as %(code)s and its "
                    "held credits go back to the member, in one step. A task already "
                    "at the provider may still finish there; its video will not be "
                    "fetched. Succeeded tasks are refused."
                )
                % {"code": FailCode.RELEASED_BY_STAFF.value},
            )
        note = form.cleaned_data["reason"]
        reason = f"Released by staff ({staff_name(request)}): {note}"
        results = Results()
        for task in tasks:
            try:
                stopped = staff_services.release_task(
                    task=task, reason=reason, note=note
                )
            except services.Refused as exc:
                results.refuse(task, str(exc))
                continue
            if stopped:
                results.ok(
                    gettext("#%(id)s failed and its hold released") % {"id": task.pk}
                )
            else:
                results.ok(
                    gettext("#%(id)s: its leftover hold released") % {"id": task.pk}
                )
        results.report(self, request)
        return None

    @admin.action(
        description=_("Resubmit unknown-outcome task"), permissions=["change"]
    )
    def resubmit_unknown(
        self, request: HttpRequest, queryset: QuerySet[GenerationTask]
    ) -> TemplateResponse | None:
        if self._refuse_unless_staff(request):
            return None
        tasks = list(queryset.select_related("owner").order_by("pk"))
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if "apply" not in request.POST or not form.is_valid():
            return self._action_page(
                request,
                tasks,
                form,
                action="resubmit_unknown",
                title=gettext("Resubmit unknown-outcome task"),
                intro=gettext(
                    "The first submission of these tasks may have reached the "
                    "provider: resubmitting can make the provider generate (and bill "
                    "us for) the video twice. The member pays once: the old task is "
                    "failed and its hold released, the new task holds the cost again. "
                    "Only tasks in 'unknown' without a provider task id, or failed as "
                    "%(code)s and not yet resubmitted, are resubmitted."
                )
                % {"code": FailCode.SUBMISSION_UNCONFIRMED.value},
            )
        note = form.cleaned_data["reason"]
        results = Results()
        for task in tasks:
            try:
                new_task = staff_services.resubmit_unknown_task(
                    task=task, staff_name=staff_name(request), note=note
                )
            except services.Refused as exc:
                results.refuse(task, str(exc))
                continue
            results.ok(
                gettext("#%(id)s resubmitted as #%(new_id)s")
                % {"id": task.pk, "new_id": new_task.pk}
            )
        results.report(self, request)
        return None

    def _action_page(
        self,
        request: HttpRequest,
        tasks: list[GenerationTask],
        form: forms.Form,
        *,
        action: str,
        title: str,
        intro: str,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "opts": self.opts,
            "tasks": tasks,
            "selected_pks": [task.pk for task in tasks],
            "form": form,
            "action": action,
            "checkbox_name": ACTION_CHECKBOX_NAME,
            "changelist_url": reverse("admin:generations_generationtask_changelist"),
        }
        return TemplateResponse(request, ACTION_FORM_TEMPLATE, context)


admin.site.register(GenerationTask, GenerationTaskAdmin)
