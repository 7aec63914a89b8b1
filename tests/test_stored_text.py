"""Sentences written by background work and read later, in the reader's language:
a board's pause message and a shot's note (``generations/stored_text.py``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from generations import credits
from generations.models import Shot, Storyboard
from generations.stored_text import every_language, for_reader
from generations.storyboards import driver
from tests.test_api_boards import call, text_board, token_for

EN_PAUSE = "Paused: This needs"
RU_PAUSE = "Приостановлено: Нужн"


def test_it_stores_a_sentence_in_every_language_and_reads_the_active_one() -> None:
    stored = every_language(lambda: _("Waiting for the previous shot."))
    assert json.loads(stored) == {
        "en": "Waiting for the previous shot.",
        "ru": "Ждёт предыдущий кадр.",
    }
    with translation.override("ru"):
        assert for_reader(stored) == "Ждёт предыдущий кадр."
    with translation.override("en"):
        assert for_reader(stored) == "Waiting for the previous shot."
    with translation.override("de"):  # not an interface language: the default
        assert for_reader(stored) == "Waiting for the previous shot."


@pytest.mark.parametrize(
    "plain", ["", "Waiting for the previous shot.", "{not json", '["a"]', "{}"]
)
def test_plain_or_broken_text_reads_as_it_is(plain: str) -> None:
    with translation.override("ru"):
        assert for_reader(plain) == plain


def test_a_refusal_renders_again_in_another_language() -> None:
    with translation.override("en"):
        refused = credits.InsufficientCredits(5, 2)
    assert str(refused) == "This needs 5 credits but only 2 are available."
    with translation.override("ru"):
        assert refused.render() == "Нужно 5 кредитов, а доступно только 2."


def paused_by_the_dispatcher(owner: Any) -> Storyboard:
    """A board the driver paused for credits, the dispatcher speaking English."""
    board = text_board(owner, 2)
    credits.adjust(
        user=owner, amount=-credits.account_for(owner).balance, reason="test: empty"
    )
    with translation.override("en"):
        Shot.objects.filter(board=board).update(wanted=True)
        Storyboard.objects.filter(pk=board.pk).update(state=Storyboard.State.RUNNING)
        driver.advance_board(board.pk)
    board.refresh_from_db()
    assert board.state == Storyboard.State.PAUSED
    return board


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "pause"), [("en", EN_PAUSE), ("ru", RU_PAUSE)])
def test_a_paused_board_reads_in_each_readers_language(
    client: Client, alice: Any, language: str, pause: str
) -> None:
    board = paused_by_the_dispatcher(alice)
    client.force_login(alice)
    page = client.get(
        reverse("storyboard_detail", args=[board.pk]), HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert pause in page
    assert "{&quot;" not in page  # never the stored form
    token = token_for(alice, "read")
    shown = call(
        client, "get", f"/storyboards/{board.pk}", token, accept_language=language
    ).json()
    assert shown["pause_message"].startswith(pause)
    note = shown["shots"][0]["note"]
    assert ("кредит" in note) == (language == "ru")
    assert note and not note.startswith("{")


@pytest.mark.django_db
def test_the_admin_shows_the_pause_and_notes_as_text(
    admin_client: Client, alice: Any
) -> None:
    board = paused_by_the_dispatcher(alice)
    page = admin_client.get(
        reverse("admin:generations_storyboard_change", args=[board.pk])
    ).content.decode()
    assert EN_PAUSE in page
    assert "&quot;en&quot;" not in page  # never the stored form
