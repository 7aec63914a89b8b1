"""Every page has a stable name and address; the webhook is routed for the pipeline."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from generations.models import GenerationTask


@pytest.mark.parametrize(
    ("name", "args", "path"),
    [
        ("login", [], "/login/"),
        ("logout", [], "/logout/"),
        ("dashboard", [], "/"),
        ("task_create", [], "/tasks/"),
        ("task_refresh", [], "/tasks/refresh/"),
        ("task_cancel", [7], "/tasks/7/cancel/"),
        ("task_retry", [7], "/tasks/7/retry/"),
        ("task_hide", [7], "/tasks/7/hide/"),
        ("gallery", [], "/gallery/"),
        ("video_detail", [7], "/videos/7/"),
        ("video_file", [7], "/media/videos/7.mp4"),
        ("video_poster", [7], "/media/posters/7.jpg"),
        ("input_image", [7], "/media/frames/7/"),
        ("input_image_public", ["a:b:c"], "/i/a:b:c/"),
        ("apixo_callback", [7, "tok_en-1"], "/hooks/apixo/7/tok_en-1/"),
    ],
)
def test_it_names_every_address(name: str, args: list[Any], path: str) -> None:
    assert reverse(name, args=args) == path


@pytest.mark.django_db
def test_it_routes_the_webhook_without_login_or_csrf(client: Any, alice: Any) -> None:
    task = GenerationTask.objects.create(owner=alice, prompt="hook", cost=8)
    url = reverse("apixo_callback", args=[task.pk, "wrong-token"])
    assert client.post(url, b"{}", content_type="application/json").status_code == 404
    assert client.get(url).status_code == 405
