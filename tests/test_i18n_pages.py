"""Every page in Russian: no string of the English catalog left in the HTML.

Each page is rendered for a member whose language is Russian; every visible text
node and every attribute a person reads (title, aria-label, placeholder, alt,
``data-*-text``) is compared with the catalog's English msgids (placeholders
match any text). User content (prompts, titles, names) is not in the catalog,
so it never matches; a msgid whose Russian is the same word (a brand name) is
skipped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from generations import sharing
from generations.models import MemberLanguage
from tests.factories import make_finished_task, queue_task
from tests.storyboard_helpers import board_with_takes

CATALOG = Path(settings.BASE_DIR) / "locale" / "ru" / "LC_MESSAGES" / "django.po"
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "aria-description"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


def english_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """A full-match pattern for every msgid whose Russian differs from it."""
    patterns = []
    for entry in polib.pofile(str(CATALOG)):
        if entry.obsolete or "<" in entry.msgid:
            continue
        russian = entry.msgstr or entry.msgstr_plural.get(0, "")
        for english in filter(None, (entry.msgid, entry.msgid_plural)):
            if english == russian or len(PLACEHOLDER.sub("", english).strip()) < 3:
                continue
            if not re.search(r"[A-Za-z]{2}", PLACEHOLDER.sub("", english)):
                continue
            parts = [re.escape(" ".join(p.split())) for p in PLACEHOLDER.split(english)]
            patterns.append((english, re.compile(".+?".join(parts))))
    return patterns


class ReadableText(HTMLParser):
    """The texts a person reads on a page: text nodes and read-out attributes.

    Scripts, styles, text areas (a prompt being typed) and anything marked
    ``translate="no"`` (the brand, user content) are passed over.
    """

    SKIPPED = {"script", "style", "textarea"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link"}
    VOID |= {"meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.open: list[tuple[str, bool]] = []  # (tag, skipped)

    @property
    def skipping(self) -> bool:
        return any(skipped for _tag, skipped in self.open)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        skipped = tag in self.SKIPPED or ("translate", "no") in attrs
        if tag not in self.VOID:
            self.open.append((tag, skipped))
        if skipped or self.skipping:
            return
        for name, value in attrs:
            readable = name in READ_ATTRIBUTES or (
                name.startswith("data-") and name.endswith("-text")
            )
            if value and readable:
                self.texts.append(value)
            if value and name == "value" and ("type", "submit") in attrs:
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                break

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.texts.append(data)


def english_left(page: str, patterns: list[tuple[str, re.Pattern[str]]]) -> set[str]:
    parser = ReadableText()
    parser.feed(page)
    texts = {" ".join(text.split()) for text in parser.texts}
    return {
        english
        for english, pattern in patterns
        for text in texts
        if pattern.fullmatch(text)
    }


# Pages that are not pages: files, hooks, POST-only actions, redirects, JSON.
NOT_PAGES = {
    "video_file",
    "video_poster",
    "input_image",
    "input_image_public",
    "apixo_callback",
    "share_video_file",
    "share_poster",
    "set_language",
    "javascript_catalog",
    "healthz",
    "healthz_live",
    "healthz_ready",
    "metrics",
    "favicon",
    "logout",
    "gallery_bulk_download",
    "export_tasks",
    "export_ledger",
}


def get_page_names() -> set[str]:
    """Every named route outside the admin that answers GET with HTML."""
    names: set[str] = set()

    def walk(patterns: list[Any]) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                # The admin speaks Django's catalog; the JSON API is for scripts.
                if entry.app_name != "admin" and not str(entry.pattern).startswith(
                    "api/v1/"
                ):
                    walk(entry.url_patterns)
            elif isinstance(entry, URLPattern) and entry.name:
                names.add(entry.name)

    walk(get_resolver().url_patterns)
    return names - NOT_PAGES


@pytest.fixture
def russian_member(alice: Any) -> Any:
    alice.is_staff = True
    alice.is_superuser = True
    alice.save()
    MemberLanguage.objects.create(user=alice, language="ru")
    return alice


def pages(member: Any, bob: Any) -> dict[str, str]:
    """One address per page name, filled with the member's own things."""
    video = make_finished_task(member, prompt="a lighthouse at dusk, slow dolly")
    make_finished_task(bob, prompt="a teammate's harbour at noon")
    queue_task(member, prompt="a queued morning over the bay")
    collection = sharing.create_collection(owner=member, title="Spring campaign")
    sharing.add_to_collection(owner=member, collection=collection, videos=[video.video])
    video_link = sharing.create_link(owner=member, video=video.video)
    collection_link = sharing.create_link(owner=member, collection=collection)
    board = board_with_takes(member, takes=[(4, True), (4, False)])
    return {
        "login": reverse("login"),
        "dashboard": reverse("dashboard"),
        "gallery": reverse("gallery"),
        "video_detail": reverse("video_detail", args=[video.pk]),
        "credit_history": reverse("credit_history"),
        "collection_list": reverse("collection_list"),
        "collection_detail": reverse("collection_detail", args=[collection.pk]),
        "share_links": reverse("share_links"),
        "staff_overview": reverse("staff_overview"),
        "share_page": reverse("share_page", args=[video_link.token]),
        "share_page (collection)": reverse("share_page", args=[collection_link.token]),
        "share_not_found": "/s/not-a-real-token/",
        "breaker_force": reverse("breaker_force"),
        "ops_banner": reverse("ops_banner"),
        "task_player": reverse("task_player", args=[video.pk]),
        "task_refresh": reverse("task_refresh") + "?since=0",
        "storyboard_list": reverse("storyboard_list"),
        "storyboard_detail": reverse("storyboard_detail", args=[board.pk]),
        "api_tokens": reverse("api_tokens"),
        "api_webhooks": reverse("api_webhooks"),
    }


# Member actions: POST only, answered by a page or fragment covered above.
ACTIONS = {
    "collection_add_video",
    "collection_create",
    "collection_delete",
    "collection_edit",
    "collection_item_move",
    "collection_item_remove",
    "collection_order",
    "gallery_bulk_collect",
    "gallery_bulk_favourite",
    "gallery_bulk_hide",
    "link_create_for_collection",
    "link_create_for_video",
    "link_revoke",
    "preset_delete",
    "preset_save",
    "task_cancel",
    "task_cost",
    "task_create",
    "task_hide",
    "task_move_top",
    "task_retry",
    "tasks_cancel_queued",
    "video_favourite",
    "video_privacy",
    "storyboard_privacy",
    "storyboard_create",
    "shot_add",
    "shot_edit",
    "shot_move",
    "shot_delete",
    "shots_reorder",
    "take_choose",
    "shot_new_take",
    "storyboard_generate",
    "film_make",
    "film_delete",
    "video_continue",
    "api_token_revoke",
    "api_webhook_test",
    "api_webhook_rotate",
    "api_webhook_delete",
}


@pytest.mark.django_db
def test_it_checks_every_page(russian_member: Any, bob: Any) -> None:
    """A new page joins ``pages`` (or ACTIONS / NOT_PAGES): none is forgotten."""
    covered = {name.split(" ")[0] for name in pages(russian_member, bob)}
    assert get_page_names() - ACTIONS == covered


@pytest.mark.django_db
def test_it_leaves_no_english_on_any_page_in_russian(
    russian_member: Any, bob: Any
) -> None:
    patterns = english_patterns()
    assert len(patterns) > 200  # the catalog is really there
    client = Client(headers={"accept-language": "ru"})
    client.force_login(russian_member)
    problems: dict[str, set[str]] = {}
    for name, url in pages(russian_member, bob).items():
        response = client.get(url, follow=True)
        assert response.status_code in {200, 404, 410}, (name, response.status_code)
        left = english_left(response.content.decode(), patterns)
        if left:
            problems[name] = left
    assert problems == {}


def test_it_spots_an_english_string_left_in_a_page() -> None:
    patterns = [(e, p) for e, p in english_patterns() if e == "Gallery"]
    assert patterns, "the catalog translates 'Gallery'"
    assert english_left("<nav><a href='/gallery/'>Gallery</a></nav>", patterns) == {
        "Gallery"
    }
    assert english_left("<nav><a href='/gallery/'>Галерея</a></nav>", patterns) == set()
