"""Credit accounts, the append-only ledger and the price table."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class CreditAccount(models.Model):
    """A member's available balance: always the sum of their ledger entries."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="credit_account"
    )
    balance = models.BigIntegerField(default=0)
    max_in_flight = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most tasks in flight at once; empty: no limit.",
    )
    daily_credit_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most credits held per day; empty: no limit."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__gte=0), name="credit_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.balance} credits)"


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        GRANT = "grant", "Grant"
        HOLD = "hold", "Hold"
        CAPTURE = "capture", "Capture"
        RELEASE = "release", "Release"
        ADJUSTMENT = "adjustment", "Adjustment"

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
        verbose_name_plural = "ledger entries"
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


class PriceRule(models.Model):
    """Credits per second of video, by resolution and sound (and optionally routing)."""

    resolution = models.CharField(max_length=8)
    sound = models.BooleanField()
    routing = models.CharField(
        max_length=8, blank=True, help_text="Empty: applies to every routing."
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
