"""System checks of our own settings (run by every manage.py command)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def result_allow_local_check(**kwargs: Any) -> list[checks.CheckMessage]:
    """APIXO_RESULT_ALLOW_LOCAL lets results come over plain http from a private
    address (the local simulator); production must never download that way.

    With DEBUG off it is refused unless the provider itself is on loopback (a
    production-shaped stack load-tested against the simulator on this machine):
    it frees the provider's host only, so nothing off the machine is trusted.
    """
    if (
        settings.APIXO_RESULT_ALLOW_LOCAL
        and not settings.DEBUG
        and not _provider_on_loopback()
    ):
        return [
            checks.Error(
                "APIXO_RESULT_ALLOW_LOCAL is on while DEBUG is off and the "
                "provider is not on loopback.",
                hint=(
                    "It lets result downloads use plain http and private addresses "
                    "(for the local simulator only). Unset it in production."
                ),
                id="generations.E001",
            )
        ]
    return []


def _provider_on_loopback() -> bool:
    host = (urlsplit(settings.APIXO_BASE_URL).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
