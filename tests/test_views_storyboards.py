"""Storyboard pages: happy paths, wrong methods, someone else's board, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from generations.models import Film, GenerationTask, InputImage, Shot, Storyboard
from generations.storyboards import services
from tests.storyboard_helpers import board_with_takes

pytestmark = pytest.mark.django_db


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def test_it_creates_a_board_and_adds_shots(client: Client, alice: Any) -> None:
    login(client, alice)
    response = client.post(
        reverse("storyboard_create"),
        {"title": "Teaser", "aspect_ratio": "16:9", "resolution": "480p",
         "routing": "auto", "sound": "on"},
    )  # fmt: skip
    board = Storyboard.objects.get()
    assert response.status_code == 302 and board.owner == alice
    for start in ("text", "continue"):
        client.post(
            reverse("shot_add", args=[board.pk]),
            {"prompt": "a fox in the snow", "duration": "4", "start": start},
        )
    assert list(Shot.objects.values_list("start", flat=True)) == ["text", "continue"]
    page = client.get(reverse("storyboard_detail", args=[board.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Generate all" in body and "Total length 8 seconds" in body
    assert client.get(reverse("storyboard_list")).status_code == 200


def test_it_refuses_bad_input_and_wrong_methods(client: Client, alice: Any) -> None:
    login(client, alice)
    assert client.get(reverse("storyboard_create")).status_code == 405
    client.post(reverse("storyboard_create"), {"title": "x", "aspect_ratio": "7:3"})
    assert not Storyboard.objects.exists()
    board = board_with_takes(alice, takes=[(4, False)])
    response = client.post(
        reverse("shot_add", args=[board.pk]),
        {"prompt": "a fox", "duration": "5", "start": "text"},
        follow=True,
    )
    assert "Choose one of the offered durations." in response.content.decode()
    shot = Shot.objects.get()
    assert client.post(reverse("shot_move", args=[shot.pk]), {}).status_code == 400
    assert (
        client.post(reverse("take_choose", args=[shot.pk]), {"take": "x"}).status_code
        == 400
    )


def test_a_teammate_sees_a_board_but_cannot_change_it(
    client: Client, alice: Any, bob: Any
) -> None:
    board = board_with_takes(alice, takes=[(4, False), (4, False)])
    shot = Shot.objects.filter(board=board).first()
    assert shot is not None
    login(client, bob)
    assert client.get(reverse("storyboard_detail", args=[board.pk])).status_code == 200
    client.post(reverse("shot_edit", args=[shot.pk]), {"prompt": "bob was here"})
    client.post(reverse("storyboard_generate", args=[board.pk]))
    client.post(reverse("film_make", args=[board.pk]))
    shot.refresh_from_db()
    assert shot.prompt != "bob was here"
    assert not Film.objects.exists()


def test_a_private_board_is_a_404_for_others(
    client: Client, alice: Any, bob: Any
) -> None:
    board = board_with_takes(alice, takes=[(4, False)])
    Storyboard.objects.filter(pk=board.pk).update(is_private=True)
    shot = Shot.objects.get()
    login(client, bob)
    assert client.get(reverse("storyboard_detail", args=[board.pk])).status_code == 404
    assert client.post(reverse("shot_edit", args=[shot.pk])).status_code == 404
    assert client.post(reverse("film_make", args=[board.pk])).status_code == 404


def test_it_moves_shots_by_keyboard_buttons_and_by_drag_order(
    client: Client, alice: Any
) -> None:
    board = board_with_takes(alice, takes=[(4, False), (4, False), (4, False)])
    first, second, third = Shot.objects.filter(board=board).order_by("position")
    login(client, alice)
    client.post(reverse("shot_move", args=[third.pk]), {"direction": "up"})
    order = list(Shot.objects.order_by("position").values_list("pk", flat=True))
    assert order == [first.pk, third.pk, second.pk]
    client.post(
        reverse("shots_reorder", args=[board.pk]),
        {"shot": [second.pk, first.pk, third.pk]},
        headers={"HX-Request": "true"},
    )
    order = list(Shot.objects.order_by("position").values_list("pk", flat=True))
    assert order == [second.pk, first.pk, third.pk]


def test_it_continues_from_a_videos_last_frame(client: Client, alice: Any) -> None:
    board = board_with_takes(alice, takes=[(4, False)])
    take = Shot.objects.get(board=board).chosen_take
    assert take is not None
    login(client, alice)
    card = client.get(reverse("dashboard")).content.decode()
    assert reverse("video_continue", args=[take.pk]) in card  # on the card
    detail = client.get(reverse("video_detail", args=[take.pk])).content.decode()
    assert "Use this frame" in detail and "data-frame-form" in detail
    response = client.post(reverse("video_continue", args=[take.pk]))
    assert response.status_code == 302
    assert "mode=image-to-video" in response["Location"]
    assert "aspect_ratio=16%3A9" in response["Location"]
    page = client.get(response["Location"])
    body = page.content.decode()
    assert 'name="start_image_ref"' in body
    image = page.context["kept_images"]["start"]
    assert (image.width, image.height) == (take.video.width, take.video.height)
    for bad in ("abc", "inf", "nan", "-1"):
        response = client.post(reverse("video_continue", args=[take.pk]), {"at": bad})
        assert response.status_code == 400, bad
    at = client.post(reverse("video_continue", args=[take.pk]), {"at": "1.5"})
    assert at.status_code == 302
    assert client.get(reverse("video_continue", args=[take.pk])).status_code == 405


def test_it_shows_the_film_as_a_video_marked_as_film(
    client: Client, alice: Any
) -> None:
    from generations.storyboards import driver
    from generations.storyboards.film import stitch_film

    board = board_with_takes(alice, takes=[(4, False), (4, False)])
    film = services.make_film(owner=alice, board=board)
    driver.dispatch_films(enqueue=lambda _f, pk: stitch_film(pk))
    film.refresh_from_db()
    login(client, alice)
    detail = client.get(reverse("video_detail", args=[film.task_id]))
    assert detail.status_code == 200
    assert "version 1" in detail.content.decode()
    assert detail.content.decode().count("shot 0") == 1  # its shots listed
    assert "shot 1" in detail.content.decode()
    assert "Remix" not in detail.content.decode()
    gallery = client.get(reverse("gallery"))
    assert f"/videos/{film.task_id}/" in gallery.content.decode()
    assert 'class="badge-film"' in gallery.content.decode()
    # Collected and shared like any video; never "generated again".
    from generations import services as task_services

    _, added = task_services.collect_videos(
        owner=alice, task_ids=[film.task_id], collection=None, title="Films"
    )
    assert added == 1
    retry = client.post(reverse("task_retry", args=[film.task_id]))
    assert retry.status_code == 302
    assert GenerationTask.objects.filter(retry_of=film.task_id).count() == 0
    assert client.get(reverse("video_file", args=[film.task_id])).status_code in (
        200,
        206,
    )


def test_a_stranger_cannot_continue_from_a_private_video(
    client: Client, alice: Any, bob: Any
) -> None:
    board = board_with_takes(alice, takes=[(4, False)])
    take = Shot.objects.get(board=board).chosen_take
    assert take is not None
    GenerationTask.objects.filter(pk=take.pk).update(is_private=True)
    login(client, bob)
    assert client.post(reverse("video_continue", args=[take.pk])).status_code == 404
    assert not InputImage.objects.filter(owner=bob).exists()


def test_the_owner_makes_a_board_private_with_its_takes_and_back(
    client: Client, alice: Any, bob: Any
) -> None:
    board = board_with_takes(alice, takes=[(4, False), (4, False)])
    takes = list(GenerationTask.objects.filter(shot__board=board))
    teammate = login(Client(), bob)
    assert teammate.get(f"/videos/{takes[0].pk}/").status_code == 200
    # A teammate cannot change it.
    teammate.post(reverse("storyboard_privacy", args=[board.pk]), {"private": "1"})
    assert not Storyboard.objects.get(pk=board.pk).is_private

    login(client, alice)
    page = client.get(reverse("storyboard_detail", args=[board.pk])).content.decode()
    assert "Make this storyboard private?" in page  # asks first
    client.post(reverse("storyboard_privacy", args=[board.pk]), {"private": "1"})
    assert Storyboard.objects.get(pk=board.pk).is_private
    assert not GenerationTask.objects.filter(pk__in=[t.pk for t in takes]).exclude(
        is_private=True
    )
    detail = reverse("storyboard_detail", args=[board.pk])
    assert teammate.get(detail).status_code == 404
    assert teammate.get(f"/videos/{takes[0].pk}/").status_code == 404
    assert client.get(detail).status_code == 200  # the owner still sees all
    assert client.get(f"/videos/{takes[0].pk}/").status_code == 200

    client.post(reverse("storyboard_privacy", args=[board.pk]), {"private": "0"})
    assert teammate.get(detail).status_code == 200
    assert teammate.get(f"/videos/{takes[1].pk}/").status_code == 200


def test_a_private_board_is_created_private_and_its_new_takes_follow(
    client: Client, alice: Any, bob: Any
) -> None:
    login(client, alice)
    client.post(
        reverse("storyboard_create"),
        {"title": "Secret", "aspect_ratio": "16:9", "resolution": "480p",
         "routing": "auto", "private": "on"},
    )  # fmt: skip
    board = Storyboard.objects.get(title="Secret")
    assert board.is_private
    shot = services.add_shot(owner=alice, board=board, prompt="a quiet sea", duration=4)
    Shot.objects.filter(pk=shot.pk).update(wanted=True)  # as Generate all marks it
    take = services.queue_take(Shot.objects.select_related("board").get(pk=shot.pk))
    assert GenerationTask.objects.get(pk=take.pk).is_private
    assert login(Client(), bob).get(f"/storyboards/{board.pk}/").status_code == 404


def test_staff_oversee_boards_in_the_admin_read_only(
    client: Client, alice: Any, staff: Any
) -> None:
    board = board_with_takes(alice, takes=[(4, False), (4, False)])
    Storyboard.objects.filter(pk=board.pk).update(is_private=True)
    Film.objects.create(board=board, version=1, plan=[], error="no takes yet")
    client.force_login(staff)
    listing = client.get("/admin/generations/storyboard/").content.decode()
    assert "Test film" in listing and "alice" in listing
    detail = client.get(f"/admin/generations/storyboard/{board.pk}/change/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "shot 0" in page and "shot 1" in page and "no takes yet" in page
    assert client.get("/admin/generations/storyboard/add/").status_code == 403
    delete = client.get(f"/admin/generations/storyboard/{board.pk}/delete/")
    assert delete.status_code == 403
    client.post(
        f"/admin/generations/storyboard/{board.pk}/change/", {"title": "Renamed"}
    )
    assert Storyboard.objects.get(pk=board.pk).title == "Test film"
    login(client, alice)  # a member is sent to the admin's login
    assert client.get("/admin/generations/storyboard/").status_code == 302


@pytest.mark.parametrize(
    ("language", "expected", "shot"),
    [
        ("en", "A chosen take&#x27;s video is gone; choose another take.", "4 s"),
        ("ru", "Видео выбранного дубля пропало; выберите другой дубль.", "4 с"),
    ],
)
def test_a_failed_films_reason_reads_in_the_members_language(
    client: Client, alice: Any, language: str, expected: str, shot: str
) -> None:
    """The worker writes the reason as data; each reader gets their language."""
    from generations import media_store
    from generations.storyboards import driver
    from generations.storyboards.film import stitch_film

    board = board_with_takes(alice, takes=[(4, False)])
    film = services.make_film(owner=alice, board=board)
    take = GenerationTask.objects.get(shot__board=board)
    media_store.remove(take.video.file.name)
    driver.dispatch_films(enqueue=lambda _f, pk: stitch_film(pk))
    film.refresh_from_db()
    assert film.state == Film.State.FAILED
    login(client, alice)
    page = client.get(
        reverse("storyboard_detail", args=[board.pk]), HTTP_ACCEPT_LANGUAGE=language
    )
    assert expected in page.content.decode()
    assert f"· {shot} ·" in page.content.decode()  # the shot's length, localised
