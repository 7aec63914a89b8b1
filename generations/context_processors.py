from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from generations.models import CreditAccount


def studio(request: HttpRequest) -> dict[str, Any]:
    """The member's balance (always in the header) and whether we simulate."""
    balance = None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        balance = (
            CreditAccount.objects.filter(user_id=user.pk)
            .values_list("balance", flat=True)
            .first()
        ) or 0
    return {"credit_balance": balance, "simulator_enabled": settings.SIMULATOR_ENABLED}
