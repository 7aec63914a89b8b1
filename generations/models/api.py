"""The JSON API's rows: personal access tokens, idempotency keys, webhooks.

A token is shown to its creator once; only its sha256 is stored (like share
links). A webhook event is written in the same transaction as the task
transition that caused it, so no event is lost and none is made twice; each
endpoint that wants it gets one delivery row, retried with backoff.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Recognisable in logs and secret scanners; the redacting filter removes it.
TOKEN_PREFIX = "sst_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Scope(models.TextChoices):
    READ = "read", _("Read tasks, videos, credits and links")
    GENERATE = "generate", _("Create, cancel and retry generations (spends credits)")
    SHARE = "share", _("Create and revoke share links")


class ApiToken(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, shown in lists so the member can tell tokens apart.
    prefix = models.CharField(max_length=16)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_from = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class IdempotencyKey(models.Model):
    """One spending or creating POST, remembered with its answer (>= 24 h)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE)
    key = models.CharField(max_length=255)
    route = models.CharField(max_length=200)
    body_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    # Empty until the first request finished; a concurrent twin waits for it.
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "key", "route"], name="idempotency_key_once"
            )
        ]


class EventType(models.TextChoices):
    TASK_SUCCEEDED = "task.succeeded", _("Task succeeded")
    TASK_FAILED = "task.failed", _("Task failed")
    FILM_READY = "film.ready", _("Film ready")
    # Sent by "Send test event" only; endpoints need not subscribe to it.
    TEST = "webhook.test", _("Test event")


class WebhookEndpoint(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    event_types = models.JSONField(default=list)
    # "whsec_" + base64, as the Standard Webhooks libraries expect.
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """One event; its ``event_id`` is the webhook-id of every attempt."""

    event_id = models.CharField(max_length=40, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE)
    type = models.CharField(max_length=32, choices=EventType)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    GAVE_UP = "gave_up", _("Gave up")


class WebhookDelivery(models.Model):
    event = models.ForeignKey(WebhookEvent, models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, models.CASCADE, related_name="deliveries"
    )
    state = models.CharField(
        max_length=16, choices=DeliveryState, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # A worker owns the delivery until then (compare-and-set, like task leases).
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, models.CASCADE, related_name="attempt_log"
    )
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]
