"""``{% star_form star %}``: a video's favourite form, as the gallery's tiles write it.

The form itself is written in Python (``views/tiles.star_html``); this tag gives
it the page's CSRF token, where the form returns (``next_url``, else this page)
and whether it is an out-of-band swap (``oob``).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from generations.views.tiles import Page, Star, star_html

register = template.Library()


@register.simple_tag(takes_context=True)
def star_form(context: Any, star: Star) -> SafeString:
    page = Page(
        csrf_token=str(context["csrf_token"]),
        next_url=context.get("next_url") or context["request"].get_full_path(),
    )
    return star_html(star, page, oob=bool(context.get("oob")))
