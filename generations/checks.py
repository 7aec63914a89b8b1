"""System checks of our own settings (run by every manage.py command)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def result_allow_local_check(**kwargs: Any) -> list[checks.CheckMessage]:
    """APIXO_RESULT_ALLOW_LOCAL lets results come over plain http from a private
    address (the local simulator); production must never download that way."""
    if settings.APIXO_RESULT_ALLOW_LOCAL and not settings.DEBUG:
        return [
            checks.Error(
                "APIXO_RESULT_ALLOW_LOCAL is on while DEBUG is off.",
                hint=(
                    "It lets result downloads use plain http and private addresses "
                    "(for the local simulator only). Unset it in production."
                ),
                id="generations.E001",
            )
        ]
    return []
