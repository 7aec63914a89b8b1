"""Credit accounts, the append-only ledger and the price table."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


class CreditAccount(models.Model):
    """A member's available balance: always the sum of their ledger entries."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="credit_account"
    )
    balance = models.BigIntegerField(default=0)
    max_in_flight = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Most tasks in flight at once; empty: no limit."),
    )
    daily_credit_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Most credits held per day; empty: no limit."),
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__gte=0), name="credit_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.balance} credits)"


# The ledger stores its reasons in English (they are data, read in the admin and
# the logs too); members read them translated. Reasons typed by staff show as typed.
KNOWN_REASONS = {
    "Held for generation": _("Held for generation"),
    "Video delivered": _("Video delivered"),
    "No video delivered": _("No video delivered"),
    "Cancelled before submission": _("Cancelled before submission"),
    "Settled by the sweeper": _("Settled automatically after the job stalled"),
    "Submission could not be confirmed": _("Submission could not be confirmed"),
    "The provider failed the task": _("The provider failed the task"),
    "The provider lost the task": _("The provider lost the task"),
    "Rejected by the provider": _("Rejected by the provider"),
    "The result could not be downloaded": _("The result could not be downloaded"),
}
SHORT_DELIVERY = re.compile(
    r"Video delivered short of the order: charged (?P<charged>\d+) of (?P<cost>\d+) "
    r"credits, the rest returned"
)


def reason_for_display(reason: str) -> str:
    """A stored ledger reason in the active language (unknown ones as stored)."""
    known = KNOWN_REASONS.get(reason)
    if known is not None:
        return str(known)
    short = SHORT_DELIVERY.fullmatch(reason)
    if short is not None:
        cost = int(short["cost"])
        return ngettext(
            "Video delivered short of the order: charged %(charged)s of %(cost)s "
            "credit, the rest returned",
            "Video delivered short of the order: charged %(charged)s of %(cost)s "
            "credits, the rest returned",
            cost,
        ) % {"charged": short["charged"], "cost": cost}
    return reason


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        GRANT = "grant", _("Grant")
        HOLD = "hold", _("Hold")
        CAPTURE = "capture", _("Capture")
        RELEASE = "release", _("Release")
        ADJUSTMENT = "adjustment", _("Adjustment")

    account = models.ForeignKey(CreditAccount, models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=Kind)
    # Signed change of the available balance: hold < 0, release > 0, capture 0
    # (the held credits become spent), grant > 0, adjustment either way.
    amount = models.BigIntegerField()
    task = models.ForeignKey(
        "generations.GenerationTask",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.UniqueConstraint(
                fields=["task"],
                condition=models.Q(kind="hold"),
                name="ledger_one_hold_per_task",
            ),
            models.UniqueConstraint(
                fields=["task"],
                condition=models.Q(kind__in=["capture", "release"]),
                name="ledger_one_settlement_per_task",
            ),
            models.CheckConstraint(
                condition=models.Q(task__isnull=False)
                | models.Q(kind__in=["grant", "adjustment"]),
                name="ledger_task_entries_name_task",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d}"

    @property
    def reason_display(self) -> str:
        return reason_for_display(self.reason)


class PriceRule(models.Model):
    """Credits per second of video, by resolution and sound (and optionally routing)."""

    resolution = models.CharField(max_length=8)
    sound = models.BooleanField()
    routing = models.CharField(
        max_length=8, blank=True, help_text=_("Empty: applies to every routing.")
    )
    credits_per_second = models.PositiveIntegerField()

    class Meta:
        ordering = ["resolution", "sound", "routing"]
        constraints = [
            models.UniqueConstraint(
                fields=["resolution", "sound", "routing"], name="price_rule_unique"
            )
        ]

    def __str__(self) -> str:
        audio = "with sound" if self.sound else "silent"
        route = f", {self.routing}" if self.routing else ""
        return f"{self.resolution} {audio}{route}: {self.credits_per_second}/s"
