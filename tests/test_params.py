"""``GenerationParams``: the one list of generation parameters and its views."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from generations import forms
from generations.models import Mode
from generations.params import GenerationParams
from generations.views.cards import remix_url
from generations.views.exports import TASK_COLUMNS, _task_row
from tests.factories import queue_task

pytestmark = pytest.mark.django_db

NINE = (
    "mode",
    "prompt",
    "resolution",
    "duration",
    "sound",
    "aspect_ratio",
    "fixed_lens",
    "routing",
    "delivery",
)


def test_it_lists_the_nine_parameters_once() -> None:
    assert GenerationParams.names() == NINE
    assert "prompt" not in GenerationParams.setting_names()


def test_it_round_trips_a_task(alice: Any) -> None:
    task = queue_task(alice, sound=True, fixed_lens=True, routing="value")
    params = GenerationParams.from_task(task)
    assert params.as_fields() == {name: getattr(task, name) for name in NINE}
    retried = queue_task(alice, **params.as_fields())
    assert GenerationParams.from_task(retried) == params


def test_it_sends_the_provider_only_its_input_fields() -> None:
    text = GenerationParams(prompt="a fox", image_urls=["https://x.test/a.png"])
    assert set(text.provider_input()) == set(NINE) - {"routing", "delivery"}
    image = GenerationParams(
        prompt="a fox", mode=Mode.IMAGE, image_urls=["https://x.test/a.png"]
    )
    assert image.provider_input()["image_urls"] == ["https://x.test/a.png"]


def test_it_types_values_from_a_form_or_a_preset() -> None:
    params = GenerationParams.from_values(
        {"duration": "12", "sound": "", "fixed_lens": 1, "routing": "official"}
    )
    assert (params.duration, params.sound, params.fixed_lens) == (12, False, True)
    assert (params.prompt, params.routing) == ("", "official")


def test_it_builds_the_remix_link_and_the_csv_row_from_the_same_list(
    alice: Any,
) -> None:
    task = queue_task(alice, prompt="a heron at dusk", sound=True)
    query = parse_qs(urlsplit(remix_url(task)).query)
    expected = GenerationParams.from_task(task).as_query()
    assert {name: values[0] for name, values in query.items()} == {
        name: str(value) for name, value in expected.items()
    }
    row = dict(zip(TASK_COLUMNS, _task_row(task), strict=True))
    for name in GenerationParams.setting_names():
        assert row[name] == expected[name]


def test_it_keeps_in_a_preset_every_setting_and_never_the_prompt() -> None:
    assert set(GenerationParams.setting_names()) <= set(forms.PRESET_FIELDS)
    assert "prompt" not in forms.PRESET_FIELDS


def test_it_knows_which_parameters_are_a_yes_or_a_no() -> None:
    assert GenerationParams.yes_no_names() == ("sound", "fixed_lens")
