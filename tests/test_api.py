"""The JSON API: tokens and scopes, problem documents, idempotency, visibility."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from generations import logging as seedance_logging
from generations.api import tokens
from generations.models import GenerationTask, LedgerEntry, State
from tests.factories import collection_of, make_finished_task, queue_task, video_bytes

pytestmark = pytest.mark.django_db

BODY = {
    "prompt": "a red fox trots through fresh snow at dawn",
    "resolution": "480p",
    "duration": 4,
    "sound": False,
}


def token_for(user: Any, *scopes: str, days: int = 30) -> str:
    return tokens.create_token(
        owner=user, name="script", scopes=list(scopes), expires_in_days=days
    ).secret


def call(
    client: Client,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    **headers: str,
) -> Any:
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    if token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(client, method)(f"/api/v1{path}", **kwargs, **extra)


def holds_of(user: Any) -> int:
    return LedgerEntry.objects.filter(account__user=user, kind="hold").count()


# ---------- Authentication and scopes ----------


def test_it_refuses_anonymous_callers_with_a_problem(client: Client) -> None:
    response = call(client, "get", "/balance")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Unauthorized"
    assert response.json()["status"] == 401


def test_it_answers_a_token_with_the_balance(client: Client, alice: Any) -> None:
    response = call(client, "get", "/balance", token_for(alice, "read"))
    assert response.status_code == 200
    assert response.json() == {"balance": 1000}


def test_it_refuses_a_revoked_token_at_once(client: Client, alice: Any) -> None:
    new = tokens.create_token(
        owner=alice, name="ci", scopes=["read"], expires_in_days=30
    )
    assert call(client, "get", "/balance", new.secret).status_code == 200
    assert tokens.revoke_token(owner=alice, token_id=new.token.pk)
    assert call(client, "get", "/balance", new.secret).status_code == 401


def test_it_refuses_an_expired_token(client: Client, alice: Any) -> None:
    new = tokens.create_token(
        owner=alice, name="ci", scopes=["read"], expires_in_days=1
    )
    new.token.expires_at = timezone.now() - dt.timedelta(seconds=1)
    new.token.save()
    assert call(client, "get", "/balance", new.secret).status_code == 401


def test_it_records_when_and_where_a_token_was_used(client: Client, alice: Any) -> None:
    new = tokens.create_token(
        owner=alice, name="ci", scopes=["read"], expires_in_days=0
    )
    call(client, "get", "/balance", new.secret)
    new.token.refresh_from_db()
    assert new.token.last_used_at is not None
    assert new.token.last_used_from == "127.0.0.1"
    assert new.token.expires_at is None


@pytest.mark.parametrize(
    ("scope", "method", "path", "body", "allowed"),
    [
        ("read", "get", "/tasks", None, True),
        ("read", "post", "/estimate", BODY, True),
        ("read", "post", "/generations", BODY, False),
        ("share", "post", "/generations", BODY, False),
        ("generate", "post", "/generations", BODY, True),
        ("generate", "get", "/tasks", None, False),
        ("generate", "post", "/links", {"task_id": 1}, False),
        ("read", "post", "/links", {"task_id": 1}, False),
        ("share", "post", "/links", {"task_id": 1}, True),
        ("share", "get", "/balance", None, False),
    ],
)
def test_it_allows_each_scope_exactly_its_operations(
    client: Client,
    alice: Any,
    scope: str,
    method: str,
    path: str,
    body: Any,
    allowed: bool,
) -> None:
    response = call(client, method, path, token_for(alice, scope), body)
    if allowed:
        assert response.status_code != 403, response.content
    else:
        assert response.status_code == 403
        assert "scope" in response.json()["detail"]


def test_it_accepts_the_session_with_csrf_only(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert call(client, "get", "/balance").status_code == 200
    refused = call(client, "post", "/generations", body=BODY)
    assert refused.status_code == 403
    assert GenerationTask.objects.count() == 0
    client.get("/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    accepted = call(client, "post", "/generations", body=BODY, X_CSRFToken=csrf)
    assert accepted.status_code == 201, accepted.content


def test_it_limits_the_rate_per_token(
    client: Client, alice: Any, settings: Any
) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    token = token_for(alice, "read")
    answers = [call(client, "get", "/balance", token).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = call(client, "get", "/balance", token)
    assert int(limited["Retry-After"]) >= 1
    assert limited["Content-Type"] == "application/problem+json"
    # Another token of the same member has its own allowance.
    assert call(client, "get", "/balance", token_for(alice, "read")).status_code == 200


# ---------- Creating, estimating, idempotency ----------


def test_it_estimates_without_spending(client: Client, alice: Any) -> None:
    body = {**BODY, "extra_durations": [8]}
    response = call(client, "post", "/estimate", token_for(alice, "read"), body)
    assert response.json() == {
        "variants": 2,
        "cost": 12,
        "balance": 1000,
        "balance_after": 988,
    }
    assert holds_of(alice) == 0


def test_it_creates_a_batch_with_one_hold_per_task(client: Client, alice: Any) -> None:
    body = {**BODY, "aspect_ratio": "16:9", "extra_aspect_ratios": ["9:16"]}
    response = call(client, "post", "/generations", token_for(alice, "generate"), body)
    assert response.status_code == 201
    data = response.json()
    assert [t["aspect_ratio"] for t in data["tasks"]] == ["16:9", "9:16"]
    assert data["tasks"][0]["batch"] == data["tasks"][1]["batch"]
    assert data["balance"] == 1000 - 8
    assert holds_of(alice) == 2


def test_it_refuses_bad_parameters_with_422_and_spends_nothing(
    client: Client, alice: Any
) -> None:
    body = {**BODY, "duration": 7}
    response = call(client, "post", "/generations", token_for(alice, "generate"), body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", "duration"]
    assert holds_of(alice) == 0


def test_it_refuses_a_private_image_address(client: Client, alice: Any) -> None:
    body = {
        **BODY,
        "mode": "image-to-video",
        "start_image_url": "https://192.168.1.10/frame.jpg",
    }
    response = call(client, "post", "/generations", token_for(alice, "generate"), body)
    assert response.status_code == 422
    assert GenerationTask.objects.count() == 0


def test_it_answers_402_when_the_balance_is_short(
    client: Client, django_user_model: Any
) -> None:
    carol = django_user_model.objects.create_user("carol", password="x")
    response = call(client, "post", "/generations", token_for(carol, "generate"), BODY)
    assert response.status_code == 402
    assert response["Content-Type"] == "application/problem+json"
    assert holds_of(carol) == 0


def test_it_replays_the_first_answer_for_the_same_key(
    client: Client, alice: Any
) -> None:
    token = token_for(alice, "generate")
    first = call(client, "post", "/generations", token, BODY, Idempotency_Key="k-1")
    again = call(client, "post", "/generations", token, BODY, Idempotency_Key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert GenerationTask.objects.count() == 1
    assert holds_of(alice) == 1


def test_it_answers_409_for_a_key_reused_with_another_body(
    client: Client, alice: Any
) -> None:
    token = token_for(alice, "generate")
    call(client, "post", "/generations", token, BODY, Idempotency_Key="k-2")
    other = {**BODY, "prompt": "a different prompt entirely"}
    response = call(client, "post", "/generations", token, other, Idempotency_Key="k-2")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert GenerationTask.objects.count() == 1


def test_it_keeps_keys_per_member(client: Client, alice: Any, bob: Any) -> None:
    call(client, "post", "/generations", token_for(alice, "generate"), BODY,
         Idempotency_Key="same")  # fmt: skip
    response = call(client, "post", "/generations", token_for(bob, "generate"), BODY,
                    Idempotency_Key="same")  # fmt: skip
    assert response.status_code == 201
    assert GenerationTask.objects.filter(owner=bob).count() == 1


def test_it_forgets_keys_after_a_day_and_more(client: Client, alice: Any) -> None:
    from generations.api import idempotency
    from generations.models import IdempotencyKey

    call(client, "post", "/generations", token_for(alice, "generate"), BODY,
         Idempotency_Key="old")  # fmt: skip
    assert idempotency.forget_old_keys(timezone.now() + dt.timedelta(hours=23)) == 0
    assert idempotency.forget_old_keys(timezone.now() + dt.timedelta(hours=49)) == 1
    assert not IdempotencyKey.objects.exists()


def test_it_retries_a_task_idempotently(client: Client, alice: Any) -> None:
    task = queue_task(alice)
    token = token_for(alice, "generate")
    first = call(client, "post", f"/tasks/{task.pk}/retry", token, Idempotency_Key="r")
    again = call(client, "post", f"/tasks/{task.pk}/retry", token, Idempotency_Key="r")
    assert first.status_code == 201
    assert again.json()["tasks"][0]["id"] == first.json()["tasks"][0]["id"]
    assert GenerationTask.objects.filter(retry_of=task).count() == 1


def test_it_cancels_a_queued_task_once(client: Client, alice: Any) -> None:
    task = queue_task(alice)
    token = token_for(alice, "generate")
    response = call(client, "post", f"/tasks/{task.pk}/cancel", token)
    assert response.json()["state"] == State.CANCELLED
    assert call(client, "post", f"/tasks/{task.pk}/cancel", token).status_code == 409


# ---------- Reading: the pages' visibility rule ----------


def test_it_hides_a_strangers_private_task(
    client: Client, alice: Any, bob: Any
) -> None:
    private = make_finished_task(alice, is_private=True)
    public = make_finished_task(alice)
    token = token_for(bob, "read")
    assert call(client, "get", f"/tasks/{private.pk}", token).status_code == 404
    assert call(client, "get", f"/tasks/{public.pk}", token).status_code == 200
    assert call(client, "get", f"/tasks/{private.pk}/video", token).status_code == 404
    bob_cancel = call(client, "post", f"/tasks/{public.pk}/cancel",
                      token_for(bob, "generate"))  # fmt: skip
    assert bob_cancel.status_code == 404


def test_it_pages_the_task_list_with_a_cursor(client: Client, alice: Any) -> None:
    made = [queue_task(alice).pk for _ in range(5)]
    token = token_for(alice, "read")
    first = call(client, "get", "/tasks?limit=2", token).json()
    assert [t["id"] for t in first["items"]] == made[::-1][:2]
    second = call(client, "get", f"/tasks?limit=2&cursor={first['next_cursor']}",
                  token).json()  # fmt: skip
    assert [t["id"] for t in second["items"]] == made[::-1][2:4]
    assert call(client, "get", "/tasks?cursor=x1", token).status_code == 422


def test_it_searches_the_gallery_like_the_page(
    client: Client, alice: Any, bob: Any
) -> None:
    fox = make_finished_task(alice, prompt="a fox in the snow")
    make_finished_task(alice, prompt="a lighthouse")
    make_finished_task(alice, prompt="a private fox", is_private=True)
    response = call(client, "get", "/videos?q=fox", token_for(bob, "read"))
    assert [t["id"] for t in response.json()["items"]] == [fox.pk]


@pytest.mark.usefixtures("media_storage")
def test_it_serves_ranges_of_the_video(client: Client, alice: Any) -> None:
    """Proxied on both backends (never a redirect): API clients get the Range
    answer the schema documents."""
    task = make_finished_task(alice)
    response = call(client, "get", f"/tasks/{task.pk}/video", token_for(alice, "read"),
                    Range="bytes=0-9")  # fmt: skip
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == video_bytes(task)[:10]
    assert response["Content-Disposition"] == (
        f'attachment; filename="seedance-{task.pk}.mp4"'
    )


def test_it_lists_the_ledger(client: Client, alice: Any) -> None:
    queue_task(alice)
    items = call(client, "get", "/ledger", token_for(alice, "read")).json()["items"]
    assert [e["kind"] for e in items] == ["hold", "grant"]


def test_it_shares_and_revokes_a_link(client: Client, alice: Any, bob: Any) -> None:
    task = make_finished_task(alice)
    token = token_for(alice, "share")
    made = call(client, "post", "/links", token, {"task_id": task.pk})
    assert made.status_code == 201
    url = made.json()["url"]
    assert "/s/" in url
    assert made.json()["id"] in [
        link["id"]
        for link in call(client, "get", "/links", token_for(alice, "read")).json()
    ]
    bob_revoke = call(client, "post", f"/links/{made.json()['id']}/revoke",
                      token_for(bob, "share"))  # fmt: skip
    assert bob_revoke.status_code == 404
    revoked = call(client, "post", f"/links/{made.json()['id']}/revoke", token)
    assert revoked.status_code == 204


# ---------- Secrets ----------


def test_it_never_logs_a_token() -> None:
    secret = tokens.TOKEN_PREFIX + "AbCdEf0123456789-_xyzXYZ"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(seedance_logging.RedactingFilter())
    log = logging.getLogger("tests.api.tokens")
    log.addHandler(handler)
    try:
        log.warning("curl -H 'Authorization: %s' failed", secret)
        log.warning("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ= leaked")
    finally:
        log.removeHandler(handler)
    assert "AbCdEf0123" not in stream.getvalue()
    assert "c2VjcmV0" not in stream.getvalue()
    assert "sst_[redacted]" in stream.getvalue()


def test_it_serves_the_openapi_schema(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/generations" in schema["paths"]


# ---------- Pages: tokens and webhooks ----------


def test_it_shows_a_new_token_once_and_lists_its_prefix(
    client: Client, alice: Any
) -> None:
    client.force_login(alice)
    response = client.post(
        "/api/tokens/",
        {"name": "nightly", "scopes": ["read", "generate"], "expires_in_days": "30"},
    )
    assert response.status_code == 302
    shown = client.get(response["Location"])
    secret = shown.context["new_secret"]
    assert secret.startswith("sst_") and secret in shown.content.decode()
    token = alice.api_tokens.get()
    assert token.token_hash != secret and secret not in token.token_hash
    page = client.get("/api/tokens/").content.decode()
    assert secret not in page and token.prefix in page
    assert call(Client(), "get", "/balance", secret).status_code == 200


def test_it_refuses_a_token_without_scopes(client: Client, alice: Any) -> None:
    client.force_login(alice)
    response = client.post("/api/tokens/", {"name": "x", "expires_in_days": "30"})
    assert response.status_code == 422
    assert not alice.api_tokens.exists()


def test_it_revokes_only_the_members_own_token(
    client: Client, alice: Any, bob: Any
) -> None:
    secret = token_for(alice, "read")
    token = alice.api_tokens.get()
    client.force_login(bob)
    assert client.post(f"/api/tokens/{token.pk}/revoke/").status_code == 404
    assert client.get(f"/api/tokens/{token.pk}/revoke/").status_code == 405
    client.force_login(alice)
    client.post(f"/api/tokens/{token.pk}/revoke/")
    assert call(Client(), "get", "/balance", secret).status_code == 401


def test_it_lets_staff_revoke_any_token_in_the_admin(
    client: Client, alice: Any, staff: Any
) -> None:
    secret = token_for(alice, "read")
    token = alice.api_tokens.get()
    client.force_login(staff)
    page = client.get("/admin/generations/apitoken/").content.decode()
    assert token.prefix in page and token.token_hash not in page
    client.post(
        "/admin/generations/apitoken/",
        {"action": "revoke", "_selected_action": [str(token.pk)]},
    )
    assert call(Client(), "get", "/balance", secret).status_code == 401


def test_it_adds_an_endpoint_and_refuses_a_private_one(
    client: Client, alice: Any
) -> None:
    client.force_login(alice)
    refused = client.post(
        "/api/webhooks/",
        {"url": "https://10.1.2.3/hook", "event_types": ["task.succeeded"]},
    )
    assert refused.status_code == 422
    # The public URL rule's message, as it is: it names no image.
    assert "The address must be on the public internet" in refused.content.decode()
    assert not alice.webhook_endpoints.exists()
    added = client.post(
        "/api/webhooks/",
        {"url": "https://hooks.example.com/s", "event_types": ["task.failed"]},
    )
    assert added.status_code == 302
    endpoint = alice.webhook_endpoints.get()
    assert client.get("/api/webhooks/").context["new_secret"] == endpoint.secret
    assert endpoint.event_types == ["task.failed"]
    page = client.get("/api/webhooks/").content.decode()
    assert endpoint.secret not in page
    assert "when a film is ready" in page
    assert "Remove this endpoint?" in page  # removing asks first


def test_it_refuses_a_private_endpoint_in_the_members_language() -> None:
    """The public URL rule's messages name no use, so a webhook refusal reads
    right in Russian too (it once said "the image" there)."""
    from django.utils import translation

    from generations.api import webhooks

    with translation.override("ru"), pytest.raises(webhooks.EndpointRefused) as caught:
        webhooks.check_endpoint_url("https://10.1.2.3/hook")
    assert "Адрес должен быть в открытом интернете" in str(caught.value)
    assert "зображени" not in str(caught.value)


def test_it_serves_the_docs_page_from_local_assets(client: Client) -> None:
    page = client.get("/api/v1/docs").content.decode()
    assert "cdn" not in page.lower()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    from django.contrib.staticfiles import finders

    # collectstatic gathers them with ours: nothing is fetched from a CDN.
    assert finders.find("ninja/swagger-ui-bundle.js")
    assert finders.find("ninja/swagger-ui-init.js")


def png_bytes(size: tuple[int, int] = (640, 360)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


def test_it_takes_an_uploaded_start_frame(client: Client, alice: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    fields = {**BODY, "mode": "image-to-video", "aspect_ratio": "16:9"}
    fields["sound"] = "false"
    frame = SimpleUploadedFile("start.png", png_bytes(), content_type="image/png")
    response = client.post(
        "/api/v1/generations/upload",
        {**fields, "start_image": frame},
        HTTP_AUTHORIZATION=f"Bearer {token_for(alice, 'generate')}",
        HTTP_IDEMPOTENCY_KEY="upload-1",
    )
    assert response.status_code == 201, response.content
    task = GenerationTask.objects.get()
    assert task.mode == "image-to-video"
    assert task.images.get().file.name
    assert holds_of(alice) == 1


def test_it_refuses_an_upload_that_is_not_an_image(client: Client, alice: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    fields = {**BODY, "mode": "image-to-video", "sound": "false"}
    fake = SimpleUploadedFile("start.png", b"not an image", content_type="image/png")
    response = client.post(
        "/api/v1/generations/upload",
        {**fields, "start_image": fake},
        HTTP_AUTHORIZATION=f"Bearer {token_for(alice, 'generate')}",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "start_image"]
    assert holds_of(alice) == 0


def test_it_sends_a_test_event_and_rotates_from_the_page(
    client: Client, alice: Any, bob: Any
) -> None:
    from generations.api import webhooks
    from generations.models import WebhookEvent

    endpoint = webhooks.add_endpoint(
        owner=alice, url="https://hooks.example.com/s", event_types=["task.failed"]
    )
    client.force_login(bob)
    for action in ("test", "rotate", "delete"):
        url = f"/api/webhooks/{endpoint.pk}/{action}/"
        assert client.post(url).status_code == 404
        assert client.get(url).status_code == 405
    client.force_login(alice)
    client.post(f"/api/webhooks/{endpoint.pk}/test/")
    assert WebhookEvent.objects.get().type == "webhook.test"
    old = endpoint.secret
    client.post(f"/api/webhooks/{endpoint.pk}/rotate/")
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert client.get("/api/webhooks/").context["new_secret"] == endpoint.secret
    assert client.get("/api/webhooks/").context["new_secret"] == ""


@pytest.mark.django_db
def test_it_lists_collections_with_only_the_videos_they_show(
    client: Client, alice: Any, bob: Any, django_assert_max_num_queries: Any
) -> None:
    first, second = make_finished_task(alice), make_finished_task(alice)
    theirs = make_finished_task(bob)
    review = collection_of(alice, second, first, theirs, title="Review")
    empty = collection_of(alice, title="Empty")
    collection_of(bob, theirs, title="Bob's")
    token = token_for(alice, "read")
    answer = call(client, "get", "/collections", token)
    assert answer.status_code == 200
    assert [(c["id"], c["task_ids"]) for c in answer.json()] == [
        (empty.pk, []),
        (review.pk, [second.pk, first.pk, theirs.pk]),  # in the collection's order
    ]
    # Bob makes his video private: it leaves Alice's collection as it would her page.
    GenerationTask.objects.filter(pk=theirs.pk).update(is_private=True)
    answer = call(client, "get", "/collections", token)
    assert answer.json()[1]["task_ids"] == [second.pk, first.pk]
    # One query for the items, however many collections.
    with django_assert_max_num_queries(99) as few:
        call(client, "get", "/collections", token)
    for i in range(5):
        collection_of(alice, first, title=f"More {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(call(client, "get", "/collections", token).json()) == 7
