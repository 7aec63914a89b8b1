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
