"""The operations banner shown to members on every page (no database query)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _

from generations.ops import breaker

register = template.Library()

BANNER_TEMPLATE = "generations/_ops_banner.html"
REFRESH_SECONDS = 15


def banner_text(current: breaker.Status | None) -> str:
    """What members are told while submissions are stopped ("" otherwise)."""
    if current is None or current.submitting:
        return ""
    if current.forced == "open" and current.reason:
        return _(
            "Staff have paused new submissions: %(reason)s. Your jobs are safe and "
            "will start when submissions resume."
        ) % {"reason": current.reason.rstrip(".")}
    if current.forced == "open":
        return _(
            "Staff have paused new submissions; your jobs are safe and will start "
            "when submissions resume."
        )
    if current.opened_at is None:
        return _(
            "The provider is not answering; your jobs are safe and will start "
            "when it is back."
        )
    since = time_format(timezone.localtime(current.opened_at), "H:i")
    return _(
        "The provider is not answering since %(time)s; your jobs are safe and "
        "will start when it is back."
    ) % {"time": since}


def banner_context(user: Any) -> dict[str, Any]:
    """The banner's words; ``live``: a member's page (it may show one later)."""
    live = user is not None and user.is_authenticated
    text = banner_text(breaker.published()) if live else ""
    return {"banner": text, "live": live, "refresh_seconds": REFRESH_SECONDS}


@register.inclusion_tag(BANNER_TEMPLATE, takes_context=True)
def ops_banner(context: template.Context, oob: bool = False) -> dict[str, Any]:
    """The banner in its live region; ``oob``: only the banner, out of band (for
    an answer that refreshes something else, like the Studio's task list)."""
    return {**banner_context(context.get("user")), "oob": oob}
