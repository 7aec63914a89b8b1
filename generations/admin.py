"""Staff screens: tasks, and the credits (accounts, the read-only ledger, prices).

Balances never change through a form: staff grant or adjust credits with a reason
through the ledger services (``generations.credits``), for one or many members.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_q import admin as q_admin

from generations import credits
from generations.models import (
    CreditAccount,
    LedgerEntry,
    PriceRule,
    VideoAsset,
)

# --- Credits ----------------------------------------------------------------------


class CreditForm(forms.Form):
    amount = forms.IntegerField(
        label=_("Amount"), help_text=_("Credits per selected member.")
    )
    reason = forms.CharField(
        max_length=500,
        label=_("Reason"),
        help_text=_("Recorded in the ledger with your name."),
        widget=forms.TextInput(attrs={"size": 60}),
    )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why, for the ledger."))
        return reason


class GrantForm(CreditForm):
    amount = forms.IntegerField(
        min_value=1,
        label=_("Amount"),
        help_text=_("Credits per selected member."),
    )


class AdjustForm(CreditForm):
    amount = forms.IntegerField(
        label=_("Amount"),
        help_text=_(
            "Credits per selected member; negative to remove. A member's "
            "balance never goes below zero: such an adjustment is refused for them."
        ),
    )

    def clean_amount(self) -> int:
        amount: int = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("An adjustment must change the balance."))
        return amount


CREDIT_FORM_TEMPLATE = "admin/generations/creditaccount/credit_form.html"


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin[CreditAccount]):
    list_display = ["user", "balance", "max_in_flight", "daily_credit_limit"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    ordering = ["user__username"]
    raw_id_fields = ["user"]
    actions = ["grant_credits", "adjust_credits"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: CreditAccount | None = None
    ) -> list[str]:
        # The balance moves only through the ledger; an account stays its member's.
        return ["user", "balance"] if obj is not None else ["balance"]

    def has_delete_permission(
        self, request: HttpRequest, obj: CreditAccount | None = None
    ) -> bool:
        return False  # its ledger rows are kept forever

    @admin.action(
        description=_("Grant credits to the selected members"), permissions=["change"]
    )
    def grant_credits(
        self, request: HttpRequest, queryset: QuerySet[CreditAccount]
    ) -> HttpResponse | None:
        return self._credit_action(request, queryset, GrantForm, "grant_credits")

    @admin.action(
        description=_("Adjust credits of the selected members"), permissions=["change"]
    )
    def adjust_credits(
        self, request: HttpRequest, queryset: QuerySet[CreditAccount]
    ) -> HttpResponse | None:
        return self._credit_action(request, queryset, AdjustForm, "adjust_credits")

    def _credit_action(
        self,
        request: HttpRequest,
        queryset: QuerySet[CreditAccount],
        form_class: type[CreditForm],
        action: str,
    ) -> HttpResponse | None:
        """First the form page; on its valid submission, one ledger entry each."""
        accounts = list(queryset.select_related("user").order_by("user__username"))
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._move_credits(request, accounts, form, action == "grant_credits")
            return None  # back to the list
        title = (
            gettext("Grant credits")
            if action == "grant_credits"
            else gettext("Adjust credits")
        )
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "accounts": accounts,
            "form": form,
            "action": action,
            "checkbox_name": ACTION_CHECKBOX_NAME,
            "selected_pks": [account.pk for account in accounts],
            "changelist_url": reverse("admin:generations_creditaccount_changelist"),
        }
        return TemplateResponse(request, CREDIT_FORM_TEMPLATE, context)

    def _move_credits(
        self,
        request: HttpRequest,
        accounts: list[CreditAccount],
        form: CreditForm,
        grant: bool,
    ) -> None:
        amount: int = form.cleaned_data["amount"]
        reason: str = form.cleaned_data["reason"]
        staff = request.user if isinstance(request.user, User) else None
        done: list[str] = []
        for account in accounts:
            member = account.user
            try:
                if grant:
                    credits.grant(user=member, amount=amount, reason=reason, by=staff)
                else:
                    credits.adjust(user=member, amount=amount, reason=reason, by=staff)
            except credits.InsufficientCredits as exc:
                self.message_user(
                    request,
                    gettext(
                        "%(member)s was not adjusted: the balance (%(available)s) "
                        "cannot go below zero."
                    )
                    % {"member": member.get_username(), "available": exc.available},
                    messages.ERROR,
                )
                continue
            done.append(member.get_username())
        if done:
            if grant:
                text = ngettext(
                    "Granted %(amount)s credit: %(members)s.",
                    "Granted %(amount)s credits: %(members)s.",
                    abs(amount),
                )
            else:
                text = ngettext(
                    "Adjusted by %(amount)s credit: %(members)s.",
                    "Adjusted by %(amount)s credits: %(members)s.",
                    abs(amount),
                )
            self.message_user(
                request,
                text % {"amount": amount, "members": ", ".join(done)},
                messages.SUCCESS,
            )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin[LedgerEntry]):
    """Read-only: entries are written by the ledger services and never edited."""

    list_display = [
        "created_at",
        "member",
        "kind",
        "amount",
        "task",
        "created_by",
        "reason",
    ]
    list_filter = ["kind", "created_at"]
    search_fields = ["account__user__username", "reason"]
    list_select_related = ["account__user", "created_by", "task"]
    date_hierarchy = "created_at"

    @admin.display(description=_("member"), ordering="account__user__username")
    def member(self, entry: LedgerEntry) -> str:
        return entry.account.user.get_username()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: LedgerEntry | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: LedgerEntry | None = None
    ) -> bool:
        return False


@admin.register(PriceRule)
class PriceRuleAdmin(admin.ModelAdmin[PriceRule]):
    list_display = ["resolution", "sound", "routing", "credits_per_second"]
    list_editable = ["credits_per_second"]


class CreditAccountInline(admin.StackedInline[CreditAccount, User]):
    model = CreditAccount
    can_delete = False
    fields = ["balance", "max_in_flight", "daily_credit_limit"]
    readonly_fields = ["balance"]
    verbose_name_plural = _("credits")


class MemberAdmin(UserAdmin[User]):
    """The stock user admin, with the member's credit limits and balance."""

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[type[Any]]:
        inlines = list(super().get_inlines(request, obj))
        return [*inlines, CreditAccountInline] if obj is not None else inlines


admin.site.unregister(User)
admin.site.register(User, MemberAdmin)

# django-q2's "Resubmit selected tasks" re-runs jobs (a submit could reach the
# provider again): only staff who may change those rows may use it, not viewers.
q_admin.resubmit_task.allowed_permissions = ("change",)  # type: ignore[attr-defined]

# --- Media and sharing ------------------------------------------------------------

admin.site.register(VideoAsset, raw_id_fields=["task"])

# Tasks: their list, state history and staff actions live in their own module.
from generations import (  # noqa: E402,F401
    admin_api,
    admin_sharing,
    admin_storyboards,
    admin_tasks,
)
