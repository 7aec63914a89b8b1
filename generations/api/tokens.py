"""Personal access tokens: made, found, used and revoked here only."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone

from generations.models.api import TOKEN_PREFIX, ApiToken, Scope, hash_token

TOKEN_BYTES = 32
PREFIX_SHOWN = len(TOKEN_PREFIX) + 6
# Expiry choices offered on the page: (days, label); 0 never expires.
EXPIRY_DAYS = (7, 30, 90, 365, 0)
# last_used_* is written at most this often per token (one UPDATE, not one a call).
LAST_USED_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class NewToken:
    """A token just made, with the only copy of its secret."""

    token: ApiToken
    secret: str


def create_token(
    *, owner: User, name: str, scopes: list[str], expires_in_days: int
) -> NewToken:
    wanted = [scope for scope in Scope.values if scope in set(scopes)]
    if not wanted:
        raise ValueError("A token needs at least one scope.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    token = ApiToken.objects.create(
        owner=owner,
        name=name.strip()[:100],
        token_hash=hash_token(secret),
        prefix=secret[:PREFIX_SHOWN],
        scopes=wanted,
        created_at=now,
        expires_at=now + dt.timedelta(days=expires_in_days)
        if expires_in_days
        else None,
    )
    return NewToken(token=token, secret=secret)


def active_q(now: dt.datetime) -> Q:
    return Q(revoked_at__isnull=True) & (
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def find_active(secret: str) -> ApiToken | None:
    """The live token a secret names (revoked or expired: None, at once)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    now = timezone.now()
    return (
        ApiToken.objects.filter(active_q(now), token_hash=hash_token(secret))
        .select_related("owner")
        .first()
    )


def record_use(token: ApiToken, address: str) -> None:
    now = timezone.now()
    recent = token.last_used_at and now - token.last_used_at < LAST_USED_EVERY
    if recent and token.last_used_from == address:
        return
    ApiToken.objects.filter(pk=token.pk).update(
        last_used_at=now, last_used_from=address[:64]
    )


def revoke_tokens(tokens: QuerySet[ApiToken]) -> int:
    """Revoke at once: the next request with them answers 401."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def revoke_token(*, owner: User, token_id: int) -> bool:
    return revoke_tokens(ApiToken.objects.filter(owner=owner, pk=token_id)) == 1
