"""Storyboards and films on the JSON API: the pages' services, visibility and
owner rule; scopes; Idempotency-Key; the film.ready webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from standardwebhooks.webhooks import Webhook

from generations import media_store
from generations.api import tokens, webhooks
from generations.models import (
    Film,
    GenerationTask,
    LedgerEntry,
    Shot,
    Storyboard,
    WebhookDelivery,
    WebhookEvent,
)
from generations.models.api import DeliveryState, EventType
from generations.storyboards import driver, services
from generations.storyboards.film import stitch_film
from tests.factories import Receiver, serve_receiver
from tests.storyboard_helpers import board_with_takes

pytestmark = pytest.mark.django_db

PROMPT = "a lighthouse keeper climbs the stairs at dusk"


def token_for(user: Any, *scopes: str) -> str:
    return tokens.create_token(
        owner=user, name="script", scopes=list(scopes), expires_in_days=30
    ).secret


def call(
    client: Client, method: str, path: str, token: str, body: Any = None, **headers: str
) -> Any:
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(client, method)(f"/api/v1{path}", **kwargs, **extra)


def text_board(owner: Any, shots: int = 2) -> Storyboard:
    board = services.create_board(
        owner=owner,
        title="Lighthouse",
        aspect_ratio="16:9",
        resolution="480p",
        sound=False,
        routing="auto",
    )
    for _ in range(shots):
        services.add_shot(owner=owner, board=board, prompt=PROMPT, duration=4)
    return board


def holds_of(user: Any) -> int:
    return LedgerEntry.objects.filter(account__user=user, kind="hold").count()


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.WEBHOOKS_ALLOW_LOCAL = True
    with serve_receiver() as state:
        yield state


# ---------- Reading ----------


def test_it_lists_boards_a_page_at_a_time(client: Client, alice: Any) -> None:
    first, second, third = (text_board(alice, 0) for _ in range(3))
    token = token_for(alice, "read")
    page = call(client, "get", "/storyboards?limit=2", token).json()
    assert [b["id"] for b in page["items"]] == [third.pk, second.pk]
    assert page["items"][0]["is_owner"] is True
    rest = call(client, "get", f"/storyboards?cursor={page['next_cursor']}", token)
    assert [b["id"] for b in rest.json()["items"]] == [first.pk]
    assert rest.json()["next_cursor"] is None


def test_it_shows_a_board_with_shots_takes_estimate_and_films(
    client: Client, alice: Any
) -> None:
    board = board_with_takes(alice, [(4, False), (4, False)])
    film = services.make_film(owner=alice, board=board)
    Shot.objects.create(board=board, position=3, prompt=PROMPT, duration=4)
    response = call(client, "get", f"/storyboards/{board.pk}", token_for(alice, "read"))
    assert response.status_code == 200
    data = response.json()
    assert data["resolution"] == "480p"
    shots = data["shots"]
    assert [s["position"] for s in shots] == [1, 2, 3]
    assert shots[0]["take_state"] == "succeeded"
    assert (
        shots[0]["chosen_take_id"]
        == Shot.objects.get(board=board, position=1).chosen_take_id
    )
    assert shots[2]["chosen_take_id"] is None
    totals = services.totals(board, list(Shot.objects.filter(board=board)))
    assert data["estimate"] == {
        "seconds": 12,
        "cost_to_generate": totals.cost_to_generate,
        "chosen_cost": totals.chosen_cost,
    }
    assert data["estimate"]["cost_to_generate"] > 0
    assert data["films"] == [
        {
            "id": film.pk,
            "board_id": board.pk,
            "version": 1,
            "state": "queued",
            "progress": 0.0,
            "error": "",
            "task_id": None,
            "video_url": None,
            "created_at": data["films"][0]["created_at"],
            "finished_at": None,
        }
    ]


# ---------- Creating and spending ----------


def test_it_creates_a_board_and_adds_text_and_continuing_shots(
    client: Client, alice: Any
) -> None:
    token = token_for(alice, "generate")
    body = {"title": "Harbour", "resolution": "480p", "sound": False}
    created = call(client, "post", "/storyboards", token, body)
    assert created.status_code == 201, created.json()
    board = Storyboard.objects.get(pk=created.json()["id"])
    assert (board.owner, board.title, board.resolution) == (alice, "Harbour", "480p")
    path = f"/storyboards/{board.pk}/shots"
    first = call(client, "post", path, token, {"prompt": PROMPT, "duration": 4})
    assert first.status_code == 201, first.json()
    second = call(client, "post", path, token, {"prompt": PROMPT, "start": "continue"})
    assert second.status_code == 201
    assert second.json()["position"] == 2
    starts = list(Shot.objects.filter(board=board).values_list("start", flat=True))
    assert starts == ["text", "continue"]


def test_it_refuses_bad_boards_and_shots_with_a_problem(
    client: Client, alice: Any
) -> None:
    token = token_for(alice, "generate")
    bad_board = call(client, "post", "/storyboards", token, {"title": "  "})
    assert bad_board.status_code == 422
    assert bad_board["Content-Type"] == "application/problem+json"
    board = text_board(alice, 0)
    path = f"/storyboards/{board.pk}/shots"
    for body in (
        {"prompt": PROMPT, "start": "continue"},  # nothing to continue yet
        {"prompt": PROMPT, "start": "image"},
        {"prompt": PROMPT, "duration": 7},
        {"prompt": ""},
    ):
        assert call(client, "post", path, token, body).status_code == 422, body
    assert not Shot.objects.filter(board=board).exists()
    assert Storyboard.objects.count() == 1


def test_it_generates_all_once_per_idempotency_key(client: Client, alice: Any) -> None:
    board = text_board(alice, 2)
    token = token_for(alice, "generate")
    path = f"/storyboards/{board.pk}/generate"
    first = call(client, "post", path, token, **{"Idempotency-Key": "gen-1"})
    assert first.status_code == 200, first.json()
    assert first.json()["asked"] == 2
    assert first.json()["state"] == "running"
    assert holds_of(alice) == 2
    again = call(client, "post", path, token, **{"Idempotency-Key": "gen-1"})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert holds_of(alice) == 2
    assert GenerationTask.objects.filter(shot__board=board).count() == 2


def test_it_pauses_a_board_short_of_credits_as_its_schema_says(
    client: Client, django_user_model: Any
) -> None:
    """Short of credits, Generate all answers 200 with the board paused, never a
    refusal: the schema lists no 402 for it."""
    poor = django_user_model.objects.create_user("poor", password="pw-poor-123")
    board = text_board(poor, 2)
    token = token_for(poor, "generate")
    answer = call(client, "post", f"/storyboards/{board.pk}/generate", token)
    assert answer.status_code == 200, answer.json()
    assert answer.json()["state"] == "paused"
    assert answer.json()["pause_message"]
    assert holds_of(poor) == 0
    schema = client.get("/api/v1/openapi.json").json()
    responses = schema["paths"]["/api/v1/storyboards/{board_id}/generate"]["post"][
        "responses"
    ]
    assert "200" in responses and "402" not in responses


def test_it_makes_a_film_with_crossfades_and_reports_it(
    client: Client, alice: Any
) -> None:
    board = board_with_takes(alice, [(4, False), (4, False)])
    token = token_for(alice, "generate", "read")
    body = {"cut": "crossfade", "crossfade_seconds": 0.75}
    made = call(client, "post", f"/storyboards/{board.pk}/film", token, body)
    assert made.status_code == 201, made.json()
    film = Film.objects.get(pk=made.json()["id"])
    assert [step["cut"] for step in film.plan] == ["hard", "crossfade"]
    assert film.plan[1]["crossfade"] == 0.75
    driver.dispatch_films(enqueue=lambda _func, film_id: stitch_film(film_id))
    shown = call(client, "get", f"/films/{film.pk}", token).json()
    film.refresh_from_db()
    assert shown["state"] == "succeeded"
    assert shown["progress"] == 1.0
    assert shown["task_id"] == film.task_id
    assert shown["video_url"] == f"/api/v1/tasks/{film.task_id}/video"
    video = client.get(shown["video_url"], HTTP_AUTHORIZATION=f"Bearer {token}")
    assert video.status_code == 200
    assert video["Content-Type"] == "video/mp4"


def test_it_gives_a_failed_films_reason_in_the_callers_language(
    client: Client, alice: Any
) -> None:
    board = board_with_takes(alice, [(4, False)])
    film = services.make_film(owner=alice, board=board)
    take = GenerationTask.objects.get(shot__board=board)
    media_store.remove(take.video.file.name)
    driver.dispatch_films(enqueue=lambda _func, film_id: stitch_film(film_id))
    token = token_for(alice, "read")
    english = call(client, "get", f"/films/{film.pk}", token).json()
    russian = call(
        client, "get", f"/films/{film.pk}", token, accept_language="ru"
    ).json()
    assert english["state"] == russian["state"] == "failed"
    assert english["error"] == "A chosen take's video is gone; choose another take."
    assert russian["error"] == "Видео выбранного дубля пропало; выберите другой дубль."


def test_it_refuses_a_film_without_touching_the_cuts(
    client: Client, alice: Any
) -> None:
    board = board_with_takes(alice, [(4, False)])
    Shot.objects.create(board=board, position=2, prompt=PROMPT, duration=4)
    token = token_for(alice, "generate")
    path = f"/storyboards/{board.pk}/film"
    refused = call(client, "post", path, token, {"cut": "crossfade"})
    assert refused.status_code == 422
    assert "no finished chosen take" in refused.json()["detail"]
    bad_cut = call(client, "post", path, token, {"cut": "wipe"})
    assert bad_cut.status_code == 422
    assert set(Shot.objects.values_list("cut", flat=True)) == {"hard"}
    assert not Film.objects.exists()


# ---------- Scopes and who may do what ----------


def test_it_needs_the_generate_scope_to_create_or_spend(
    client: Client, alice: Any
) -> None:
    board = text_board(alice, 1)
    token = token_for(alice, "read")
    for path, body in (
        ("/storyboards", {"title": "No"}),
        (f"/storyboards/{board.pk}/shots", {"prompt": PROMPT}),
        (f"/storyboards/{board.pk}/generate", None),
        (f"/storyboards/{board.pk}/film", {}),
    ):
        assert call(client, "post", path, token, body).status_code == 403, path
    assert holds_of(alice) == 0
    assert Storyboard.objects.count() == 1
    assert Shot.objects.count() == 1
    share_only = token_for(alice, "share")
    assert call(client, "get", "/storyboards", share_only).status_code == 403


def test_it_lets_a_teammate_read_but_not_change_a_board(
    client: Client, alice: Any, bob: Any
) -> None:
    board = board_with_takes(alice, [(4, False)])
    film = services.make_film(owner=alice, board=board)
    token = token_for(bob, "read", "generate")
    seen = call(client, "get", f"/storyboards/{board.pk}", token)
    assert seen.status_code == 200
    assert seen.json()["is_owner"] is False
    assert call(client, "get", f"/films/{film.pk}", token).status_code == 200
    for path, body in (
        (f"/storyboards/{board.pk}/shots", {"prompt": PROMPT}),
        (f"/storyboards/{board.pk}/generate", None),
        (f"/storyboards/{board.pk}/film", {}),
    ):
        refused = call(client, "post", path, token, body)
        assert refused.status_code == 403, path
        assert "Only the owner" in refused.json()["detail"]
    assert Shot.objects.filter(board=board).count() == 1
    assert Film.objects.count() == 1
    assert holds_of(bob) == 0


def test_it_hides_a_private_board_and_its_films(
    client: Client, alice: Any, bob: Any
) -> None:
    board = board_with_takes(alice, [(4, False)])
    film = services.make_film(owner=alice, board=board)
    Storyboard.objects.filter(pk=board.pk).update(is_private=True)
    token = token_for(bob, "read", "generate")
    assert call(client, "get", "/storyboards", token).json()["items"] == []
    assert call(client, "get", f"/storyboards/{board.pk}", token).status_code == 404
    assert call(client, "get", f"/films/{film.pk}", token).status_code == 404
    for path, body in (
        (f"/storyboards/{board.pk}/shots", {"prompt": PROMPT}),
        (f"/storyboards/{board.pk}/generate", None),
        (f"/storyboards/{board.pk}/film", {}),
    ):
        assert call(client, "post", path, token, body).status_code == 404, path
    assert Shot.objects.filter(board=board).count() == 1
    assert Film.objects.count() == 1


# ---------- film.ready ----------


def test_it_sends_film_ready_signed_when_a_film_is_stitched(
    alice: Any, receiver: Receiver
) -> None:
    endpoint = webhooks.add_endpoint(
        owner=alice, url=receiver.url, event_types=[EventType.FILM_READY]
    )
    board = board_with_takes(alice, [(4, False), (4, False)])
    film = services.make_film(owner=alice, board=board)
    assert not WebhookEvent.objects.exists()
    assert stitch_film(film.pk)
    assert not stitch_film(film.pk)  # a second worker makes no second event
    film.refresh_from_db()
    [event] = WebhookEvent.objects.all()
    assert event.type == "film.ready"
    [delivery] = WebhookDelivery.objects.all()
    assert webhooks.deliver(delivery.pk)
    [(headers, body)] = receiver.received
    payload = Webhook(endpoint.secret).verify(body, headers)
    assert payload["type"] == "film.ready"
    assert payload["data"] == {
        "film_id": film.pk,
        "board_id": board.pk,
        "version": 1,
        "task_id": film.task_id,
        "video_url": f"/api/v1/tasks/{film.task_id}/video",
    }
    assert headers["webhook-id"] == event.event_id
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
