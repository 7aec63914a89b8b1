"""Share links: creating and revoking them, and the public pages they open.

Also home of the helpers other sharing tests import (``share``, ``token_from``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from generations import media_store, services, sharing, windows
from generations.models import Collection, GenerationTask, ShareLink
from tests.factories import (
    body,
    collection_of,
    html,
    make_finished_task,
    share,
    video_bytes,
)
from tests.s3 import fetch_download

PUBLIC_HEADERS = {"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


@pytest.fixture(autouse=True)
def _public_url(settings: Any) -> None:
    settings.PUBLIC_BASE_URL = "https://share.example.test"


def token_from(page: str) -> str:
    match = re.search(r"/s/([A-Za-z0-9_-]{43})/", page)
    assert match, "no share URL on the page"
    return match.group(1)


def video_sources(page: str) -> list[str]:
    return re.findall(r'<source src="(/s/[^"]+\.mp4)"', page)


def assert_public_headers(response: Any) -> None:
    for name, value in PUBLIC_HEADERS.items():
        assert response[name] == value, (name, response.status_code)


@pytest.fixture
def video(alice: Any) -> GenerationTask:
    return make_finished_task(alice, prompt="A secret lighthouse prompt")


# --- Creating links -------------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_a_link_that_works_logged_out(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    response = client.post(f"/videos/{video.pk}/links/", {"expiry": "7d"})
    assert response.status_code == 302
    assert response["Location"] == "/links/"
    page = html(client.get("/links/"))
    assert "https://share.example.test/s/" in page
    assert "shown only this once" in page
    token = token_from(page)
    client.logout()
    response = client.get(f"/s/{token}/")
    assert response.status_code == 200
    assert_public_headers(response)
    [source] = video_sources(html(response))
    played = client.get(source)
    assert played.status_code == 200
    assert body(played) == video_bytes(video)


@pytest.mark.django_db
def test_it_shows_the_token_once_and_stores_only_its_hash(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    client.post(f"/videos/{video.pk}/links/", {"expiry": "never"})
    token = token_from(html(client.get("/links/")))
    assert token not in html(client.get("/links/"))
    link = ShareLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(ShareLink.objects.values().get())
    assert link.expires_at is None
    assert len(token) == 43  # 32 random bytes, url-safe base64


@pytest.mark.django_db
def test_it_shows_the_new_link_inline_for_htmx(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    response = client.post(
        f"/videos/{video.pk}/links/",
        {"expiry": "1d", "show_prompt": "on", "show_owner": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = html(response)
    assert 'id="new-link-url"' in page
    assert "<html" not in page
    link = ShareLink.objects.get()
    assert link.show_prompt and link.show_owner
    assert link.expires_at is not None
    assert abs(link.expires_at - timezone.now() - dt.timedelta(days=1)).seconds < 60
    assert client.get(f"/s/{token_from(page)}/").status_code == 200


@pytest.mark.django_db
def test_it_defaults_to_a_week_without_prompt_or_name(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    client.post(f"/videos/{video.pk}/links/", {"expiry": "7d"})
    link = ShareLink.objects.get()
    assert not link.show_prompt and not link.show_owner
    assert link.expires_at is not None
    assert link.expires_at - link.created_at == dt.timedelta(days=7)


@pytest.mark.django_db
def test_it_refuses_a_bad_expiry(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    response = client.post(f"/videos/{video.pk}/links/", {"expiry": "forever"})
    assert response.status_code == 302
    assert response["Location"] == f"/videos/{video.pk}/"
    response = client.post(
        f"/videos/{video.pk}/links/", {"expiry": "forever"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert not ShareLink.objects.exists()


@pytest.mark.django_db
def test_it_refuses_get_on_link_creation(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    client.force_login(alice)
    assert client.get(f"/videos/{video.pk}/links/").status_code == 405
    assert client.get("/links/1/revoke/").status_code == 405


@pytest.mark.django_db
def test_it_sends_anonymous_members_to_log_in(
    client: Client, video: GenerationTask
) -> None:
    for url in ("/links/", f"/videos/{video.pk}/links/"):
        response = client.post(url) if "videos" in url else client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_it_lets_a_member_share_a_teammates_public_video(
    client: Client, bob: Any, video: GenerationTask
) -> None:
    client.force_login(bob)
    assert (
        client.post(f"/videos/{video.pk}/links/", {"expiry": "7d"}).status_code == 302
    )
    assert ShareLink.objects.get().owner == bob


@pytest.mark.django_db
def test_it_allows_several_links_per_video_and_revokes_one(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    first = share(alice, video=video.video)
    second = share(alice, video=video.video)
    client.force_login(alice)
    link = ShareLink.objects.get(token_hash=sharing.hash_token(first))
    client.post(f"/links/{link.pk}/revoke/")
    client.logout()
    assert client.get(f"/s/{first}/").status_code == 410
    assert client.get(f"/s/{second}/").status_code == 200


# --- Links page ------------------------------------------------------------------


@pytest.mark.django_db
def test_it_lists_my_links_with_views_and_state(
    client: Client, alice: Any, bob: Any, video: GenerationTask
) -> None:
    token = share(alice, video=video.video)
    collection = collection_of(alice, video, title="Client cut")
    share(alice, collection=collection, expiry="never")
    expired = sharing.create_link(owner=alice, video=video.video).link
    ShareLink.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - dt.timedelta(hours=1)
    )
    share(bob, video=video.video)
    Client().get(f"/s/{token}/")
    Client().get(f"/s/{token}/")
    client.force_login(alice)
    page = html(client.get("/links/"))
    assert page.count('class="link-row') == 3
    assert "Client cut" in page
    assert "A secret lighthouse prompt" in page  # members see their own prompt
    assert 'data-label="Views" class="num">2<' in page
    assert "Expired" in page
    # Her two active links, and bob's link to her video (issue #11, point 9).
    assert page.count(">Revoke</button>") == 3
    assert token not in page


@pytest.mark.django_db
def test_it_revokes_at_once_on_the_next_request(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    token = share(alice, video=video.video)
    public = Client()
    page = html(public.get(f"/s/{token}/"))
    [source] = video_sources(page)
    assert public.get(source, HTTP_RANGE="bytes=0-9").status_code == 206
    link = ShareLink.objects.get()
    client.force_login(alice)
    response = client.post(f"/links/{link.pk}/revoke/", {"next": "/collections/"})
    assert response["Location"] == "/collections/"
    response = public.get(f"/s/{token}/")
    assert response.status_code == 410
    assert_public_headers(response)
    assert "no longer active" in html(response)
    assert public.get(source, HTTP_RANGE="bytes=0-9").status_code == 410
    assert ShareLink.objects.get().revoked_at is not None


@pytest.mark.django_db
def test_it_never_redirects_a_revoke_off_site(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    share(alice, video=video.video)
    client.force_login(alice)
    link = ShareLink.objects.get()
    response = client.post(
        f"/links/{link.pk}/revoke/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/links/"


@pytest.mark.django_db
def test_it_refuses_to_revoke_someone_elses_link(
    client: Client, alice: Any, bob: Any, video: GenerationTask
) -> None:
    token = share(alice, video=video.video)
    client.force_login(bob)
    link = ShareLink.objects.get()
    assert client.post(f"/links/{link.pk}/revoke/").status_code == 404
    assert client.post("/links/999999/revoke/").status_code == 404
    assert "link-row" not in html(client.get("/links/"))
    assert Client().get(f"/s/{token}/").status_code == 200


# --- Public pages: states --------------------------------------------------------


@pytest.mark.django_db
def test_it_answers_410_for_an_expired_link(alice: Any, video: GenerationTask) -> None:
    token = share(alice, video=video.video, expiry="1d")
    ShareLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    client = Client()
    response = client.get(f"/s/{token}/")
    assert response.status_code == 410
    assert "expired" in html(response)
    assert_public_headers(response)


@pytest.mark.django_db
def test_it_answers_410_when_the_video_is_gone_or_the_sharer_left(
    alice: Any, bob: Any
) -> None:
    theirs = make_finished_task(bob, prompt="Bob's owl")
    token = share(alice, video=theirs.video)
    client = Client()
    assert client.get(f"/s/{token}/").status_code == 200
    GenerationTask.objects.filter(pk=theirs.pk).update(is_private=True)
    assert client.get(f"/s/{token}/").status_code == 410
    mine = make_finished_task(alice)
    token = share(alice, video=mine.video)
    alice.is_active = False
    alice.save()
    assert client.get(f"/s/{token}/").status_code == 410


@pytest.mark.django_db
def test_it_answers_404_for_an_unknown_token(client: Client) -> None:
    response = client.get("/s/" + "A" * 43 + "/")
    assert response.status_code == 404
    assert_public_headers(response)
    page = html(response)
    assert "Link not found" in page
    assert "topbar" not in page  # the plain public page, not the studio's


@pytest.mark.django_db
def test_it_limits_failed_lookups_per_address(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    token = share(alice, video=video.video)
    for attempt in range(sharing.LOOKUP_FAILURE_LIMIT):
        guess = sharing.secrets.token_urlsafe(32)
        response = client.get(f"/s/{guess}/")
        assert response.status_code == 404, attempt
    response = client.get(f"/s/{sharing.secrets.token_urlsafe(32)}/")
    assert response.status_code == 429
    assert_public_headers(response)
    assert 0 < int(response["Retry-After"]) <= sharing.LOOKUP_WINDOW_SECONDS
    # Blocked for every token (a 200 would tell a guesser it found one) ...
    assert client.get(f"/s/{token}/").status_code == 429
    # ... but only from that address.
    assert client.get(f"/s/{token}/", REMOTE_ADDR="10.0.0.9").status_code == 200


@pytest.mark.django_db
def test_it_never_throttles_valid_lookups(
    client: Client, settings: Any, alice: Any, video: GenerationTask
) -> None:
    settings.SHARE_LOOKUP_FAILURE_LIMIT = 3
    token = share(alice, video=video.video)
    [source] = video_sources(html(client.get(f"/s/{token}/")))
    for _ in range(50):  # a player seeking around
        assert client.get(source, HTTP_RANGE="bytes=0-1").status_code == 206
    for _ in range(3):
        assert client.get(f"/s/{token}x/").status_code == 404
    assert client.get(f"/s/{token}/").status_code == 429


@pytest.mark.django_db
def test_it_starts_a_new_window_after_the_old_one(
    client: Client, settings: Any, monkeypatch: Any
) -> None:
    settings.SHARE_LOOKUP_FAILURE_LIMIT = 2
    now = [1_000_000_200.0]
    monkeypatch.setattr(windows.time, "time", lambda: now[0])
    for _ in range(2):
        assert client.get("/s/nope/").status_code == 404
    assert client.get("/s/nope/").status_code == 429
    now[0] += sharing.LOOKUP_WINDOW_SECONDS
    assert client.get("/s/nope/").status_code == 404


# --- Public pages: what they show ------------------------------------------------


@pytest.mark.django_db
def test_it_hides_the_prompt_unless_chosen(alice: Any, video: GenerationTask) -> None:
    hidden = html(Client().get(f"/s/{share(alice, video=video.video)}/"))
    assert "lighthouse" not in hidden
    shown = html(
        Client().get(f"/s/{share(alice, video=video.video, show_prompt=True)}/")
    )
    assert "A secret lighthouse prompt" in shown
    assert 'og:title" content="A secret lighthouse prompt"' in shown


@pytest.mark.django_db
def test_it_hides_member_names_unless_the_sharer_opts_in(alice: Any, bob: Any) -> None:
    theirs = make_finished_task(bob)
    collection = collection_of(alice, theirs, title="Mixed")
    page = html(Client().get(f"/s/{share(alice, collection=collection)}/"))
    assert "alice" not in page and "bob" not in page
    named = share(alice, collection=collection, show_owner=True)
    page = html(Client().get(f"/s/{named}/"))
    assert "shared by <strong>alice</strong>" in page
    assert "bob" not in page  # only the sharer's own name, never a teammate's


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_exposes_no_internal_ids_and_no_third_party_urls(
    alice: Any, video: GenerationTask
) -> None:
    token = share(alice, video=video.video, show_prompt=True)
    response = Client().get(f"/s/{token}/")
    page = html(response)
    assert "/media/" not in page and "/videos/" not in page
    assert f"seedance-{video.pk}" not in page
    for url in re.findall(r"""https?://[^"'\s<>]+""", page):
        assert url.startswith("https://share.example.test/s/"), url
    for src in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert src.startswith(("/s/", "/static/", "/i18n/language/")), src
    assert "default-src 'none'" in response["Content-Security-Policy"]


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_renders_open_graph_tags_with_an_absolute_public_poster(
    alice: Any, video: GenerationTask
) -> None:
    token = share(alice, video=video.video)
    page = html(Client().get(f"/s/{token}/"))
    meta = dict(
        re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', page)
    )
    assert meta["og:type"] == "video.other"
    assert meta["og:title"] == "A shared video"
    assert meta["og:url"] == f"https://share.example.test/s/{token}/"
    assert meta["twitter:card"] == "summary_large_image"
    poster = meta["og:image"]
    assert poster.startswith(f"https://share.example.test/s/{token}/p/")
    assert meta["twitter:image"] == poster
    assert meta["og:video"].startswith(f"https://share.example.test/s/{token}/v/")
    assert meta["og:video:type"] == "video/mp4"
    response = Client().get(poster.removeprefix(settings.PUBLIC_BASE_URL))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert_public_headers(response)
    video_file = Client().get(meta["og:video"].removeprefix(settings.PUBLIC_BASE_URL))
    assert video_file.status_code == 200


@pytest.mark.django_db
def test_it_previews_a_collection_with_its_first_poster(
    alice: Any, video: GenerationTask
) -> None:
    collection = collection_of(alice, video, title="Storm reel")
    Collection.objects.filter(pk=collection.pk).update(description="Two takes")
    token = share(alice, collection=collection)
    page = html(Client().get(f"/s/{token}/"))
    meta = dict(
        re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', page)
    )
    assert meta["og:type"] == "website"
    assert meta["og:title"] == "Storm reel"
    assert meta["og:description"] == "Two takes"
    assert meta["og:image"].startswith(f"https://share.example.test/s/{token}/p/")
    assert "og:video" not in meta
    path = meta["og:image"].removeprefix(settings.PUBLIC_BASE_URL)
    assert Client().get(path).status_code == 200


@pytest.mark.django_db
def test_it_shows_exactly_the_collections_current_videos(alice: Any, bob: Any) -> None:
    first = make_finished_task(alice, prompt="first take")
    second = make_finished_task(alice, prompt="second take")
    teammate = make_finished_task(bob, prompt="bob's take")
    make_finished_task(alice, prompt="not in the collection")
    collection = collection_of(alice, first, second, teammate)
    token = share(alice, collection=collection, show_prompt=True)
    client = Client()

    def prompts() -> list[str]:
        page = html(client.get(f"/s/{token}/"))
        return re.findall(r'<p class="public-tile-prompt">([^<]+)</p>', page)

    # Bob's prompt is his to show: alice's link never shows it (issue #11.9).
    assert prompts() == ["first take", "second take"]
    later = make_finished_task(alice, prompt="added later")
    sharing.add_to_collection(owner=alice, collection=collection, videos=[later.video])
    assert prompts()[-1] == "added later"
    services.set_hidden(
        owner=alice, task_ids=[first.pk], hidden=True
    )  # the owner deletes it from their list
    GenerationTask.objects.filter(pk=teammate.pk).update(is_private=True)
    second.delete()
    assert prompts() == ["added later"]


@pytest.mark.django_db
def test_it_serves_only_the_links_own_videos(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    other = make_finished_task(alice)
    token = share(alice, video=video.video)
    other_token = share(alice, video=other.video)
    [source] = video_sources(html(client.get(f"/s/{token}/")))
    [other_source] = video_sources(html(client.get(f"/s/{other_token}/")))
    key = other_source.rsplit("/", 1)[1]
    response = client.get(f"/s/{token}/v/{key}")
    assert response.status_code == 404
    assert_public_headers(response)
    assert client.get(source.replace(token, other_token)).status_code == 404


@pytest.mark.django_db
def test_it_counts_page_views_but_not_file_requests(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    token = share(alice, video=video.video)
    [source] = video_sources(html(client.get(f"/s/{token}/")))
    client.get(source)
    client.head(f"/s/{token}/")
    client.get(f"/s/{token}/")
    link = ShareLink.objects.get()
    assert link.view_count == 2
    assert link.last_viewed_at is not None


# --- Public files ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_answers_range_requests_on_public_videos_with_206(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    collection = collection_of(alice, video)
    for token in (share(alice, video=video.video), share(alice, collection=collection)):
        [source] = video_sources(html(client.get(f"/s/{token}/")))
        data = video_bytes(video)
        response = client.get(source, HTTP_RANGE="bytes=100-199")
        assert response.status_code == 206
        assert response["Content-Range"] == f"bytes 100-199/{len(data)}"
        assert response["Accept-Ranges"] == "bytes"
        assert body(response) == data[100:200]
        assert_public_headers(response)
        assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.usefixtures("media_storage")
def test_it_offers_a_download_without_ids_in_the_name(
    client: Client, alice: Any, video: GenerationTask
) -> None:
    collection = collection_of(alice, video, title="Storm reel")
    token = share(alice, collection=collection)
    [source] = video_sources(html(client.get(f"/s/{token}/")))
    response = client.get(source + "?download=1")
    assert_public_headers(response)
    headers, data = fetch_download(response)
    assert headers["Content-Disposition"] == 'attachment; filename="storm-reel-1.mp4"'
    assert data == video_bytes(video)
    token = share(alice, video=video.video)
    [source] = video_sources(html(client.get(f"/s/{token}/")))
    headers, _ = fetch_download(client.get(source + "?download=1"))
    assert headers["Content-Disposition"] == (
        'attachment; filename="seedance-video.mp4"'
    )


@pytest.mark.django_db
def test_it_puts_the_headers_on_every_public_response(
    client: Client, settings: Any, media_storage: str, alice: Any, video: GenerationTask
) -> None:
    settings.SHARE_LOOKUP_FAILURE_LIMIT = 2
    token = share(alice, video=video.video)
    page = html(client.get(f"/s/{token}/"))
    [source] = video_sources(page)
    poster = re.search(r'poster="([^"]+)"', page)
    assert poster
    revoked = share(alice, video=video.video)
    sharing.revoke_links(
        ShareLink.objects.filter(token_hash=sharing.hash_token(revoked))
    )
    (Path(settings.MEDIA_ROOT) / "gone.txt").write_text("")
    answers = {
        "page": client.get(f"/s/{token}/"),
        "head": client.head(f"/s/{token}/"),
        "video": client.get(source),
        "range": client.get(source, HTTP_RANGE="bytes=0-9"),
        "416": client.get(source, HTTP_RANGE="bytes=999999999-"),
        "download": client.get(source + "?download=1"),
        "poster": client.get(poster.group(1)),
        "post": client.post(f"/s/{token}/"),
        "410": client.get(f"/s/{revoked}/"),
        "410 file": client.get(source.replace(token, revoked)),
        "unknown key": client.get(f"/s/{token}/v/nope.mp4"),
        "other path": client.get(f"/s/{token}/elsewhere/"),
        "bare": client.get("/s/"),
        "404": client.get("/s/unknown-token/"),
    }
    answers["404 again"] = client.get("/s/unknown-token/")
    answers["429"] = client.get(f"/s/{token}/")
    expected = {
        "page": 200,
        "head": 200,
        "video": 200,
        "range": 206,
        "416": 416,
        # From a bucket, a download is a redirect to a pre-signed URL.
        "download": 302 if media_storage == "s3" else 200,
        "poster": 200,
        "post": 405,
        "410": 410,
        "410 file": 410,
        "unknown key": 404,
        "other path": 404,
        "bare": 404,
        "404": 404,
        "404 again": 404,
        "429": 429,
    }
    assert {name: r.status_code for name, r in answers.items()} == expected
    for response in answers.values():
        assert_public_headers(response)


@pytest.mark.django_db
def test_it_answers_404_when_the_file_is_missing(
    client: Client, media_storage: str, alice: Any, video: GenerationTask
) -> None:
    token = share(alice, video=video.video)
    [source] = video_sources(html(client.get(f"/s/{token}/")))
    media_store.remove(video.video.file.name)
    response = client.get(source)
    assert response.status_code == 404
    assert_public_headers(response)


# --- Permissions -------------------------------------------------------------------


@pytest.mark.django_db
def test_it_refuses_links_to_someone_elses_private_video(
    client: Client, alice: Any, bob: Any
) -> None:
    private = make_finished_task(alice, is_private=True)
    client.force_login(bob)
    assert client.get(f"/videos/{private.pk}/").status_code == 404
    assert (
        client.post(f"/videos/{private.pk}/links/", {"expiry": "7d"}).status_code == 404
    )
    assert not ShareLink.objects.exists()
    with pytest.raises(sharing.SharingRefused):
        sharing.create_link(owner=bob, video=private.video)
    # Its owner may share it.
    client.force_login(alice)
    assert (
        client.post(f"/videos/{private.pk}/links/", {"expiry": "7d"}).status_code == 302
    )


@pytest.mark.django_db
def test_it_refuses_links_to_hidden_or_unfinished_videos(
    client: Client, alice: Any
) -> None:
    hidden = make_finished_task(alice, hidden=True)
    client.force_login(alice)
    assert (
        client.post(f"/videos/{hidden.pk}/links/", {"expiry": "7d"}).status_code == 404
    )
    assert client.post("/videos/999999/links/", {"expiry": "7d"}).status_code == 404


@pytest.mark.django_db
def test_it_refuses_links_to_someone_elses_collection(
    client: Client, alice: Any, bob: Any, video: GenerationTask
) -> None:
    collection = collection_of(alice, video)
    client.force_login(bob)
    response = client.post(f"/collections/{collection.pk}/links/", {"expiry": "7d"})
    assert response.status_code == 404
    with pytest.raises(sharing.SharingRefused):
        sharing.create_link(owner=bob, collection=collection)
    assert not ShareLink.objects.exists()


@pytest.mark.django_db
def test_it_needs_exactly_one_target(alice: Any, video: GenerationTask) -> None:
    with pytest.raises(ValueError):
        sharing.create_link(owner=alice)
    with pytest.raises(ValueError):
        sharing.create_link(
            owner=alice, video=video.video, collection=collection_of(alice, video)
        )


# --- Admin -------------------------------------------------------------------------


@pytest.fixture
def sharing_admin() -> Iterator[None]:
    """generations.admin_sharing registered and routed (admin.py will import it;
    until then the URLconf must be rebuilt to route to it)."""
    from django.urls import clear_url_caches

    import generations.admin_sharing  # noqa: F401
    import seedance_site.urls

    importlib.reload(seedance_site.urls)
    clear_url_caches()
    yield
    clear_url_caches()


@pytest.mark.django_db
@pytest.mark.usefixtures("sharing_admin")
def test_it_lets_staff_see_and_revoke_every_link(
    client: Client, staff: Any, alice: Any, bob: Any, video: GenerationTask
) -> None:
    tokens = [share(alice, video=video.video), share(bob, video=video.video)]
    client.force_login(staff)
    page = html(client.get("/admin/generations/sharelink/"))
    assert "alice" in page and "bob" in page
    assert "Video of task" in page
    for link in ShareLink.objects.all():
        assert link.token_hash not in page
    detail = html(client.get(f"/admin/generations/sharelink/{link.pk}/change/"))
    assert link.token_hash not in detail
    response = client.post(
        "/admin/generations/sharelink/",
        {
            "action": "revoke",
            "_selected_action": [
                str(pk) for pk in ShareLink.objects.values_list("pk", flat=True)
            ],
        },
    )
    assert response.status_code == 302
    assert not ShareLink.objects.filter(revoked_at__isnull=True).exists()
    for token in tokens:
        assert Client().get(f"/s/{token}/").status_code == 410
    assert client.get("/admin/generations/sharelink/add/").status_code == 403


# --- The owner's side of teammates' links -----------------------------------------


@pytest.mark.django_db
def test_it_never_shows_the_owners_prompt_on_a_teammates_link(
    alice: Any, bob: Any, video: GenerationTask
) -> None:
    direct = share(bob, video=video.video, show_prompt=True, show_owner=True)
    page = html(Client().get(f"/s/{direct}/"))
    assert "lighthouse" not in page
    assert "alice" not in page
    mixed = collection_of(bob, video, title="Bob's picks")
    page = html(Client().get(f"/s/{share(bob, collection=mixed, show_prompt=True)}/"))
    assert "lighthouse" not in page and "alice" not in page
    own = share(alice, video=video.video, show_prompt=True)
    assert "A secret lighthouse prompt" in html(Client().get(f"/s/{own}/"))


@pytest.mark.django_db
def test_it_lets_the_owner_see_and_revoke_every_link_showing_her_video(
    client: Client, alice: Any, bob: Any, video: GenerationTask
) -> None:
    direct = share(bob, video=video.video)
    picks = collection_of(bob, video, title="Bob's picks")
    in_collection = share(bob, collection=picks)
    unrelated = share(bob, video=make_finished_task(bob, prompt="bob's own").video)
    client.force_login(alice)
    page = html(client.get("/links/"))
    assert "Teammates' links to your videos" in page
    assert "Bob&#x27;s picks" in page
    assert page.count('class="other-link-row') == 2  # not bob's link to his video
    # Revoking cannot be undone: every revoke button asks first, in both tables.
    revokes = page.count('/revoke/"')
    assert revokes == 2
    assert page.count("a revoked link cannot be restored") == revokes
    for token in (direct, in_collection):
        link = ShareLink.objects.get(token_hash=sharing.hash_token(token))
        response = client.post(f"/links/{link.pk}/revoke/")
        assert response.status_code == 302
        assert Client().get(f"/s/{token}/").status_code == 410
    other = ShareLink.objects.get(token_hash=sharing.hash_token(unrelated))
    assert client.post(f"/links/{other.pk}/revoke/").status_code == 404
    assert Client().get(f"/s/{unrelated}/").status_code == 200
