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
