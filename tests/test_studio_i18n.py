"""The studio in English and Russian: durations, counts and the page itself."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from generations.durations import format_seconds
from generations.models import State
from generations.views.cards import BatchSummary
from tests.factories import html
from tests.factories import queue_short as queue


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    # A request in Russian leaves Russian active in this thread: later tests
    # expect the default language.
    yield
    translation.activate("en")


def test_it_writes_durations_in_english() -> None:
    with translation.override("en"):
        assert format_seconds(5) == "5 s"
        assert format_seconds(70) == "1 min 10 s"
        assert format_seconds(3720) == "1 h 02 min"


def test_it_writes_durations_in_russian() -> None:
    with translation.override("ru"):
        assert format_seconds(5) == "5 с"
        assert format_seconds(70) == "1 мин 10 с"
        assert format_seconds(3720) == "1 ч 02 мин"


def test_it_counts_a_batch_in_both_languages() -> None:
    one = BatchSummary(uuid.uuid4(), Counter({State.SUCCEEDED: 1}))
    many = BatchSummary(uuid.uuid4(), Counter({State.SUCCEEDED: 3, State.FAILED: 2}))
    with translation.override("en"):
        assert one.label == "1 video: 1 done"
        assert many.label == "5 videos: 3 done, 2 failed"
    with translation.override("ru"):
        assert many.label == "5 видео — готово: 3, с ошибкой: 2"


@pytest.mark.django_db
def test_it_renders_the_studio_in_russian(client: Any, alice: Any) -> None:
    queue(alice, prompt="A lighthouse in a storm")
    client.force_login(alice)
    page = html(client.get("/", headers={"accept-language": "ru"}))
    assert '<html lang="ru">' in page
    for text in ("Новое видео", "Ваши задачи", "Студия", "Галерея", "Создать"):
        assert text in page
    # Plural forms: the 480p 4 s task costs 8 credits.
    assert "8 кредитов" in page
    assert "4 с" in page
    assert "Create a video" not in page
    assert "A lighthouse in a storm" in page  # member content stays as written


@pytest.mark.django_db
def test_it_refuses_in_russian(client: Any, alice: Any) -> None:
    client.force_login(alice)
    response = client.post(
        "/tasks/",
        {"mode": "text-to-video", "prompt": "x"},
        headers={"accept-language": "ru"},
    )
    assert "В промпте должно быть не меньше" in html(response)
