"""Rows that keep the processes in order (see generations/pipeline/leader.py)."""

from __future__ import annotations

from django.db import models


class DispatcherLease(models.Model):
    """The row a dispatcher holds while it is the active one."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()
    acquired_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'}"


class BreakerState(models.TextChoices):
    CLOSED = "closed", "Closed (submitting)"
    OPEN = "open", "Open (not submitting)"


class BreakerForce(models.TextChoices):
    AUTO = "", "Automatic"
    OPEN = "open", "Forced open"
    CLOSED = "closed", "Forced closed"


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
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.state}{f' ({self.forced})' if self.forced else ''}"


class OpsCounter(models.Model):
    """A monotonic counter shared by every process (metrics without Redis)."""

    name = models.CharField(max_length=200, primary_key=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"
