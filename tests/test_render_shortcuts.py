"""The render shortcuts the card lists take give what Django's own would."""

from __future__ import annotations

import pytest
from django.db.models import Model
from django.template import Context, Template
from django.template.defaultfilters import truncatechars
from django.utils import translation

from generations.models import GenerationTask, State


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("state", list(State))
def test_the_state_label_is_djangos(state: str, language: str) -> None:
    task = GenerationTask(state=state)
    field = GenerationTask._meta.get_field("state")
    with translation.override(language):
        djangos = Model._get_FIELD_display(task, field)  # type: ignore[attr-defined]
        assert task.get_state_display() == djangos
    assert GenerationTask(state="not-a-state").get_state_display() == "not-a-state"


def clip(text: str, length: str = "10") -> str:
    template = Template("{% load clip %}{{ text|clip:" + length + " }}")
    return template.render(Context({"text": text}))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "short",
        "exactly 10",
        "eleven char",
        "A lighthouse in a storm, slow dolly in",
        "Маяк в шторм, медленный наезд камеры",
        "e\u0301" * 12,  # combining accents count for nothing
        "e\u0301" * 5,  # composed (NFC), as Django gives it back
        "<b>tags</b> & amps are escaped",
    ],
)
def test_clip_is_truncatechars(text: str) -> None:
    django = Template("{{ text|truncatechars:10 }}").render(Context({"text": text}))
    assert clip(text) == django
    assert truncatechars(text, 10) == clip(text).replace("&amp;", "&").replace(
        "&lt;", "<"
    ).replace("&gt;", ">")


def test_clip_keeps_a_text_with_a_bad_length() -> None:
    assert clip("long enough to cut", '"x"') == "long enough to cut"


def test_our_templates_shorten_text_with_clip_only() -> None:
    from django.conf import settings

    base = settings.BASE_DIR / "templates"
    slow = [
        str(path.relative_to(base))
        for path in base.rglob("*.html")
        if "|truncatechars:" in path.read_text()
    ]
    assert slow == []


@pytest.mark.parametrize("prefix", ["/", "/studio/"])
def test_a_cards_links_are_what_reverse_gives(prefix: str) -> None:
    import datetime as dt

    from django.urls import get_script_prefix, reverse, set_script_prefix

    from generations.views.cards import CardLinks, TaskCard

    names = {
        "cancel_url": "task_cancel",
        "move_top_url": "task_move_top",
        "retry_url": "task_retry",
        "hide_url": "task_hide",
        "detail_url": "video_detail",
        "player_url": "task_player",
        "poster_url": "video_poster",
        "continue_url": "video_continue",
    }
    before = get_script_prefix()
    set_script_prefix(prefix)
    try:
        now = dt.datetime.now(dt.UTC)
        shared = CardLinks.build()
        for pk in (7, 918273645, 12345678901):
            task = GenerationTask(pk=pk, state=State.QUEUED)
            for card in (TaskCard(task, now, links=shared), TaskCard(task, now)):
                for attribute, name in names.items():
                    expected = reverse(name, args=[pk])
                    assert getattr(card, attribute) == expected
                    assert expected.startswith(prefix)
    finally:
        set_script_prefix(before)
