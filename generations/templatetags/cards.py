"""The Studio's task cards in templates: ``{% task_card card %}``,
``{% card_tick card %}`` and ``{% delivery_note task %}``.

The markup is written in Python (``views/card_html.py``); these tags give it the
page's CSRF token and whether it is an out-of-band swap (``oob`` for a whole
card, ``tick_oob`` for a card's clock and progress).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from generations.models import GenerationTask
from generations.views.card_html import (
    card_html,
    delivery_note_html,
    elapsed_html,
    progress_html,
)
from generations.views.cards import TaskCard

register = template.Library()


@register.simple_tag(takes_context=True)
def task_card(context: Any, card: TaskCard) -> SafeString:
    token = str(context["csrf_token"])
    return mark_safe(card_html(card, token, oob=bool(context.get("oob"))))


@register.simple_tag(takes_context=True)
def card_tick(context: Any, card: TaskCard) -> SafeString:
    """What moves on a card whose row did not change: its clock and progress."""
    oob = bool(context.get("tick_oob"))
    return mark_safe(elapsed_html(card, oob=oob) + progress_html(card, oob=oob))


@register.simple_tag
def delivery_note(task: GenerationTask) -> SafeString:
    return mark_safe(delivery_note_html(task))
