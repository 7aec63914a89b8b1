"""Every URL in the URLconf, as anonymous, the owner, another member and staff.

Alice owns one of everything (a private finished video with its frame, a
collection, a share link, a preset, a ledger entry, a storyboard with a shot
whose take is that video, and a film), each marked with MARKER.
Nobody else may see a marked page or change her things through member pages;
anonymous visitors reach only the public pages; staff pages are staff-only.
A new URL must be classified here (``test_it_classifies_every_url``).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME as ACTION_CHECKBOX
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from PIL import Image

from generations import credits, images, sharing
from generations.models import (
    Collection,
    CollectionItem,
    Film,
    GenerationTask,
    InputImage,
    Preset,
    ShareLink,
    Shot,
    Storyboard,
)
from tests.factories import make_finished_task, queue_task

pytestmark = pytest.mark.django_db


MARKER = "ALICE-PRIVATE-MARKER"

# Pages anyone may open (their own checks decide what they show).
PUBLIC = {
    "login",
    "logout",
    "healthz",
    "healthz_live",
    "healthz_ready",
    "metrics",  # staff or a bearer token (tests/test_metrics.py)
    "favicon",
    "input_image_public",
    "apixo_callback",
    "share_page",
    "share_video_file",
    "share_poster",
    "share_not_found",
    "set_language",  # a visitor's cookie; only a member's POST stores a choice
    "javascript_catalog",
    None,  # "s/": the public share 404
}
# Readiness answers 503 here: no dispatcher runs in these tests.
READINESS = {"healthz", "healthz_ready"}
STAFF_PREFIX = "staff/"
# The JSON API (generations/api/): anonymous callers get 401, never a redirect.
API_PREFIX = "api/v1/"
API_PUBLIC = {"openapi-json", "openapi-view", "api-root"}
API_OBJECT = {
    "get_task",
    "cancel_task",
    "retry_task",
    "task_video",
    "revoke_link",
    "get_board",
    "add_shot",
    "generate_all",
    "make_film",
    "get_film",
}
API_OWN = {
    "estimate",
    "create_generations",
    "create_generations_upload",
    "list_tasks",
    "list_videos",
    "balance",
    "ledger",
    "list_links",
    "create_link",
    "list_collections",
    "list_boards",
    "create_board",
}
# Member pages that name one of alice's objects in their address.
OBJECT_PAGES = {
    "task_cancel",
    "task_retry",
    "task_hide",
    "task_player",
    "task_move_top",
    "video_detail",
    "video_favourite",
    "video_privacy",
    "video_file",
    "video_poster",
    "input_image",
    "collection_detail",
    "collection_edit",
    "collection_delete",
    "collection_order",
    "collection_item_move",
    "collection_item_remove",
    "link_create_for_collection",
    "collection_add_video",
    "link_create_for_video",
    "link_revoke",
    "storyboard_detail",
    "shot_add",
    "shots_reorder",
    "storyboard_generate",
    "storyboard_privacy",
    "film_make",
    "film_delete",
    "shot_edit",
    "shot_move",
    "shot_delete",
    "take_choose",
    "shot_new_take",
    "video_continue",
    "api_token_revoke",
    "api_webhook_test",
    "api_webhook_rotate",
    "api_webhook_delete",
    *API_OBJECT,
}
# Member pages about the member's own things, with no object in the address.
OWN_PAGES = {
    "dashboard",
    "task_create",
    "task_refresh",
    "task_cost",
    "gallery",
    "credit_history",
    "gallery_bulk_favourite",
    "gallery_bulk_hide",
    "gallery_bulk_download",
    "gallery_bulk_collect",
    "preset_save",
    "preset_delete",
    "collection_list",
    "collection_create",
    "share_links",
    "ops_banner",
    "tasks_cancel_queued",
    "storyboard_list",
    "storyboard_create",
    "api_tokens",
    "api_webhooks",
    *API_OWN,
}


@dataclass(frozen=True)
class Route:
    name: str | None
    route: str  # the pattern, e.g. "tasks/<int:pk>/cancel/"
    converters: tuple[str, ...]


def routes() -> list[Route]:
    """Every pattern outside the admin, with its full route."""
    found: list[Route] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if entry.app_name == "admin":
                    continue  # sampled in test_it_keeps_the_admin_to_staff
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                names = tuple(re.findall(r"<(?:\w+:)?(\w+)>", route))
                found.append(Route(entry.name, route, names))

    walk(get_resolver().url_patterns, "")
    return found


@dataclass
class Cast:
    alice: Any
    bob: Any
    staff: Any
    task: GenerationTask
    frame: InputImage
    collection: Collection
    item: CollectionItem
    link: ShareLink
    share_token: str
    frame_token: str
    preset: Preset
    board: Storyboard
    shot: Shot
    film: Film


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 20, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(params=["private", "hidden"])
def cast(alice: Any, bob: Any, staff: Any, request: Any) -> Cast:
    """Alice's video is private, or hidden (after she collected and shared it)."""
    queue_task(bob, prompt="bob's own task, so ids differ from alice's")
    task = make_finished_task(alice, prompt=f"{MARKER} video")
    frame = InputImage.objects.create(
        owner=alice, task=task, position=0, width=32, height=32, sha256="f" * 64
    )
    frame.file.save("frame.png", io.BytesIO(png()), save=True)
    collection = sharing.create_collection(owner=alice, title=f"{MARKER} collection")
    sharing.add_to_collection(owner=alice, collection=collection, videos=[task.video])
    new = sharing.create_link(owner=alice, collection=collection)
    preset = Preset.objects.create(owner=alice, name=f"{MARKER} preset", params={})
    credits.grant(user=alice, amount=5, reason=f"{MARKER} grant")
    board = Storyboard.objects.create(owner=alice, title=f"{MARKER} board")
    shot = Shot.objects.create(
        board=board, position=1, prompt=f"{MARKER} shot", duration=4, chosen_take=task
    )
    film = Film.objects.create(board=board, version=1, plan=[{"take": task.pk}])
    flag = "is_private" if request.param == "private" else "hidden"
    GenerationTask.objects.filter(pk=task.pk).update(shot=shot, **{flag: True})
    # The board follows the same rule (models/storyboards.py): private or hidden.
    Storyboard.objects.filter(pk=board.pk).update(**{flag: True})
    task.refresh_from_db()
    return Cast(
        alice=alice,
        bob=bob,
        staff=staff,
        task=task,
        frame=frame,
        collection=collection,
        item=collection.items.get(),
        link=new.link,
        share_token=new.token,
        frame_token=images.signed_url_for(frame).rstrip("/").rsplit("/", 1)[-1],
        preset=preset,
        board=board,
        shot=shot,
        film=film,
    )


def url_for(route: Route, cast: Cast) -> str:
    """The route filled in with alice's objects."""
    values: dict[str, Any] = {
        "pk": cast.task.pk,
        "task_id": cast.task.pk,
        "item_pk": cast.item.pk,
        "token": "not-a-real-token",
        "key": "nokey",
        "rest": "a/b",
    }
    if route.name and route.name.startswith(("collection", "link_create_for_coll")):
        values["pk"] = cast.collection.pk
    if route.name == "input_image":
        values["pk"] = cast.frame.pk
    if route.name == "input_image_public":
        values["token"] = cast.frame_token
    if route.name == "link_revoke":
        values["pk"] = cast.link.pk
    if route.name in {
        "storyboard_detail",
        "shot_add",
        "shots_reorder",
        "storyboard_generate",
        "storyboard_privacy",
        "film_make",
    }:
        values["pk"] = cast.board.pk
    if route.name in {
        "shot_edit",
        "shot_move",
        "shot_delete",
        "take_choose",
        "shot_new_take",
    }:
        values["pk"] = cast.shot.pk
    if route.name == "film_delete":
        values["pk"] = cast.film.pk
    if route.name in {"share_page", "share_video_file", "share_poster"}:
        values["token"] = cast.share_token
    if route.name is None:
        return "/" + route.route
    if route.route.startswith(API_PREFIX):
        values["link_id"] = cast.link.pk
        values["board_id"] = cast.board.pk
        values["film_id"] = cast.film.pk
        path = "/" + route.route
        for name in route.converters:
            path = path.replace(f"<{name}>", str(values[name]))
        return path
    kwargs = {name: values[name] for name in route.converters}
    return reverse(route.name, kwargs=kwargs)


def post_body(cast: Cast) -> dict[str, Any]:
    """Form fields that name alice's things, for every POST endpoint to try."""
    return {
        "ids": [str(cast.task.pk)],
        "value": "1",
        "item": [str(cast.item.pk)],
        "collection": str(cast.collection.pk),
        "title": "hijacked",
        "preset": str(cast.preset.pk),
        "preset_name": "hijacked",
        "expiry": "7d",
        "direction": "up",
        "position": "0",
        "prompt": "hijacked prompt",
        "duration": "4",
        "start": "text",
        "shot": [str(cast.shot.pk)],
        "take": str(cast.task.pk),
        "redo_following": "1",
    }


def content(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def leaked(response: Any, data: bytes, cast: Cast) -> bool:
    if MARKER.encode() in data:
        return True
    if response.get("Content-Type", "").startswith("application/zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return bool(archive.namelist()) and any(
                MARKER.encode() in archive.read(name) for name in archive.namelist()
            )
    video = cast.task.video.file.open("rb").read()
    return len(video) > 100 and video[:4096] in data


def requests_for(
    client: Any, cast: Cast, user: Any = None
) -> Iterator[tuple[Route, str, Any, bytes]]:
    for route in routes():
        url = url_for(route, cast)
        for method in ("get", "post"):
            if user is not None:
                client.force_login(user)  # again: the previous request may log out
            if method == "post":
                response = client.post(url, post_body(cast))
            else:
                response = client.get(url)
            yield route, method.upper(), response, content(response)


def alice_untouched(cast: Cast) -> None:
    task = GenerationTask.objects.get(pk=cast.task.pk)
    assert (task.hidden, task.is_private) == (cast.task.hidden, cast.task.is_private)
    assert task.hidden != task.is_private
    collection = Collection.objects.get(pk=cast.collection.pk)
    assert collection.title == f"{MARKER} collection"
    assert collection.items.count() == 1
    assert ShareLink.objects.get(pk=cast.link.pk).revoked_at is None
    assert Preset.objects.filter(pk=cast.preset.pk, name=f"{MARKER} preset").exists()
    assert not task.favourites.exclude(user=cast.alice).exists()
    shot = Shot.objects.get(pk=cast.shot.pk)
    assert (shot.prompt, shot.wanted) == (f"{MARKER} shot", False)
    assert Shot.objects.filter(board=cast.board).count() == 1
    assert Film.objects.filter(board=cast.board).count() == 1
    assert GenerationTask.objects.filter(shot=shot).count() == 1


def is_login_redirect(response: Any) -> bool:
    location = response.get("Location", "")
    return response.status_code == 302 and (
        location.startswith("/login/?next=") or location.startswith("/admin/login/")
    )


def test_it_classifies_every_url() -> None:
    known = PUBLIC | OBJECT_PAGES | OWN_PAGES | API_PUBLIC
    unknown = [
        (r.name, r.route)
        for r in routes()
        if r.name not in known and not r.route.startswith(STAFF_PREFIX)
    ]
    assert unknown == [], "classify these URLs in test_permissions_matrix.py"


def test_it_sends_anonymous_visitors_to_log_in(client: Any, cast: Cast) -> None:
    problems = []
    for route, method, response, data in requests_for(client, cast):
        if route.name in PUBLIC | API_PUBLIC:
            if response.status_code >= 500 and route.name not in READINESS:
                problems.append((method, route.route, response.status_code))
            continue
        if route.route.startswith(API_PREFIX) and route.name not in API_PUBLIC:
            if response.status_code not in (401, 405):
                problems.append((method, route.route, response.status_code))
            continue
        # 405 (the method is checked first) and 404 tell a stranger nothing.
        if not (is_login_redirect(response) or response.status_code in (404, 405)):
            problems.append((method, route.route, response.status_code))
        if leaked(response, data, cast):
            problems.append((method, route.route, "leaked"))
    assert problems == []
    alice_untouched(cast)


@pytest.mark.parametrize("who", ["bob", "staff"])
def test_it_shows_another_member_nothing_of_alice(
    client: Any, cast: Cast, who: str
) -> None:
    problems = []
    for route, method, response, data in requests_for(client, cast, getattr(cast, who)):
        status = response.status_code
        if status >= 500 and route.name not in READINESS:  # no dispatcher runs here
            problems.append((method, route.route, status))
        staff_page = route.route.startswith(STAFF_PREFIX)
        if staff_page and who == "staff":
            continue  # oversight pages show every member's tasks by design
        if staff_page and status == 200:
            problems.append((method, route.route, "staff page for a member"))
        # A JSON operation refuses this form body (400) before any lookup, for any
        # id alike; test_api_boards.py sends JSON to reach the 404/403.
        refusals = (400, 403, 404, 405) if route.name in API_OBJECT else (403, 404, 405)
        if route.name in OBJECT_PAGES and status not in refusals:
            problems.append((method, route.route, status))
        if route.name not in {"share_page", "share_video_file", "share_poster"} and (
            leaked(response, data, cast)
        ):
            problems.append((method, route.route, "leaked"))
    assert problems == []
    alice_untouched(cast)


def test_it_lets_the_owner_reach_her_objects(client: Any, cast: Cast) -> None:
    """The addresses above really name alice's objects: she gets them."""
    client.force_login(cast.alice)
    readable = {
        "video_detail",
        "video_file",
        "video_poster",
        "input_image",
        "collection_detail",
        "storyboard_detail",
        "get_task",
        "task_video",
    }
    for route in routes():
        if route.name in readable:
            response = client.get(url_for(route, cast))
            assert response.status_code == 200, route.route
    for name in ("credit_history", "collection_list", "storyboard_list"):
        assert MARKER in client.get(reverse(name)).content.decode(), name


def test_it_keeps_the_admin_to_staff(client: Any, cast: Cast) -> None:
    pages = [
        "/admin/",
        "/admin/generations/generationtask/",
        f"/admin/generations/generationtask/{cast.task.pk}/change/",
        "/admin/auth/user/",
    ]
    for page in pages:
        assert is_login_redirect(client.get(page)), page
    client.force_login(cast.bob)
    for page in pages:
        response = client.get(page)
        assert is_login_redirect(response), page
        assert MARKER not in response.content.decode()
    client.force_login(cast.staff)
    for page in pages:
        assert client.get(page).status_code == 200, page


def test_it_keeps_staff_pages_from_members(client: Any, cast: Cast) -> None:
    client.force_login(cast.bob)
    staff_routes = [r for r in routes() if r.route.startswith(STAFF_PREFIX)]
    assert staff_routes
    for route in staff_routes:
        assert client.get(url_for(route, cast)).status_code in (302, 403, 404)
    client.force_login(cast.staff)
    for route in staff_routes:
        assert client.get(url_for(route, cast)).status_code == 200


# --- The admin, as a staff member who may only view -----------------------------


@pytest.fixture
def viewer(django_user_model: Any) -> Any:
    """Staff with every ``view_`` permission of the registered models, nothing else."""
    from django.contrib import admin
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    user = django_user_model.objects.create_user(
        "vera", password="vera-password", is_staff=True
    )
    types = [
        ContentType.objects.get_for_model(model, for_concrete_model=False)
        for model in admin.site._registry
    ]
    user.user_permissions.set(
        Permission.objects.filter(content_type__in=types, codename__startswith="view_")
    )
    return user


def database_rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of our models and of auth, to prove a request changed nothing."""
    from django.apps import apps

    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.app_label in {"generations", "auth"}
    }


def admin_actions(model_admin: Any) -> list[str]:
    return [action.name for action in model_admin._get_base_actions()]


def test_it_offers_no_action_to_staff_lacking_its_permission(
    rf: Any, viewer: Any, cast: Cast
) -> None:
    """Generic: a future action that forgets ``permissions=[...]`` fails here."""
    from django.contrib import admin

    request = rf.get("/admin/")
    request.user = viewer
    offered = {
        model._meta.label: sorted(model_admin.get_actions(request))
        for model, model_admin in admin.site._registry.items()
        if model_admin.get_actions(request)
    }
    assert offered == {}


def test_it_lets_view_only_staff_read_the_admin_and_change_nothing(
    client: Any, viewer: Any, cast: Cast
) -> None:
    from django.contrib import admin

    client.force_login(viewer)
    before = database_rows()
    problems: list[tuple[str, str, Any]] = []
    if client.get("/admin/").status_code != 200:
        problems.append(("GET", "/admin/", "viewer cannot open the index"))
    for model, model_admin in admin.site._registry.items():
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        obj = model._default_manager.order_by("pk").first()
        changelist = reverse(f"{info}_changelist")
        if client.get(changelist).status_code != 200:
            problems.append(("GET", changelist, "viewer cannot list"))
        pages = [reverse(f"{info}_add")]
        if obj is not None:
            change = reverse(f"{info}_change", args=[obj.pk])
            if client.get(change).status_code != 200:
                problems.append(("GET", change, "viewer cannot view"))
            if client.post(change, {}).status_code != 403:
                problems.append(("POST", change, "viewer may change"))
            pages.append(reverse(f"{info}_delete", args=[obj.pk]))
        for page in pages:
            for method in ("get", "post"):
                status = getattr(client, method)(page, {}).status_code
                if status != 403:
                    problems.append((method.upper(), page, status))
        for action in admin_actions(model_admin):
            body = {
                "action": action,
                ACTION_CHECKBOX: [str(obj.pk)] if obj is not None else [],
                "index": "0",
                "apply": "1",
                "amount": "1000000",
                "reason": "nobody said I could",
            }
            # Refused is "No action selected" (the changelist again): only the
            # database can tell that nothing ran.
            response = client.post(changelist, body)
            if response.status_code >= 500:
                problems.append(
                    ("POST", f"{changelist} {action}", response.status_code)
                )
    assert problems == []
    assert database_rows() == before
