"""Rows that keep the processes in order (see generations/pipeline/leader.py)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DispatcherLease(models.Model):
    """The row a dispatcher holds while it is the active one."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()
    acquired_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'}"


class LoginSlot(models.Model):
    """One login attempt's claim on a throttle counter (a sliding window).

    An attempt inserts its row *before* the password is checked and then counts
    the rows of its key within the window; the insert is the atomic reservation,
    so parallel attempts can never all see a count below the limit.
    """

    key = models.CharField(max_length=64)
    at = models.FloatField(help_text="Epoch seconds")

    class Meta:
        indexes = [models.Index(fields=["key", "at"], name="loginslot_key_at")]

    def __str__(self) -> str:
        return f"Login slot {self.pk}"


class BreakerState(models.TextChoices):
    CLOSED = "closed", _("Closed (submitting)")
    OPEN = "open", _("Open (not submitting)")


class BreakerForce(models.TextChoices):
    AUTO = "", _("Automatic")
    OPEN = "open", _("Forced open")
    CLOSED = "closed", _("Forced closed")


class ProviderBreaker(models.Model):
    """The provider circuit breaker, one row shared by every process
    (see generations/ops/breaker.py)."""

    name = models.CharField(max_length=64, primary_key=True)
    state = models.CharField(
        max_length=8, choices=BreakerState, default=BreakerState.CLOSED
    )
    # Provider failures in a row (connection errors, 5xx, timeouts).
    failures = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure_kind = models.CharField(max_length=32, blank=True)
    # While open: when the next probe may be sent (also the probe's lease).
    probe_at = models.DateTimeField(null=True, blank=True)
    probes = models.PositiveIntegerField(default=0)
    forced = models.CharField(
        max_length=8, choices=BreakerForce, default=BreakerForce.AUTO, blank=True
    )
    forced_by = models.CharField(max_length=150, blank=True)
    # Why staff paused submissions (forced open), shown to members.
    reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.state}{f' ({self.forced})' if self.forced else ''}"


class OpsCounter(models.Model):
    """A monotonic counter shared by every process (metrics without Redis)."""

    name = models.CharField(max_length=200, primary_key=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"


class QueueBump(models.Model):
    """A member moved a queued task to the top of their own queue: higher ranks
    go first among that member's tasks (fair sharing between members is
    unchanged; see pipeline/dispatch.py ``pick_fair_order``)."""

    task = models.OneToOneField(
        "generations.GenerationTask",
        models.CASCADE,
        primary_key=True,
        related_name="queue_bump",
    )
    rank = models.PositiveBigIntegerField()

    def __str__(self) -> str:
        return f"task {self.task_id} at rank {self.rank}"


class RateBucket(models.Model):
    """Provider requests counted per second, shared by every process (SQLite/PG).

    With Redis configured the limiter keeps these counters in Redis instead.
    """

    second = models.BigIntegerField(primary_key=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.second}: {self.count}"
