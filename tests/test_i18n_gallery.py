"""The gallery, sharing, collections and credits pages in Russian.

These need the Russian catalog compiled (``make catalogs``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import translation

from generations import credits, sharing
from generations.models import GenerationTask, LedgerEntry
from generations.models.credits import reason_for_display
from tests.factories import make_finished_task

RU = {"accept-language": "ru"}
# English a Russian page must not show (the page's own words, not user content).
ENGLISH = re.compile(
    r">\s*(Gallery|Collections|Credits|Share links|Download|Prompt|Parameters|"
    r"Revoke|Load more|Clear filters|Add to collection|Ledger|Never|Shared video)"
    r"\s*<"
)


def main(page: str) -> str:
    """The page's own content (the header and its menu belong to another page)."""
    return page.split("<main", 1)[1].split("</main>", 1)[0]


def english_left(page: str) -> list[str]:
    return ENGLISH.findall(main(page))


def russian_credits(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "кредит"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "кредита"
    return "кредитов"


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def collection_of(owner: Any, *tasks: GenerationTask, title: str) -> Any:
    collection = sharing.create_collection(owner=owner, title=title)
    sharing.add_to_collection(
        owner=owner, collection=collection, videos=[t.video for t in tasks]
    )
    return collection


@pytest.fixture(autouse=True)
def _public_url(settings: Any) -> None:
    settings.PUBLIC_BASE_URL = "https://share.example.test"


@pytest.mark.django_db
def test_it_shows_the_gallery_and_a_video_in_russian(client: Any, alice: Any) -> None:
    task = make_finished_task(alice, prompt="A lighthouse", cost=5)
    client.force_login(alice)
    gallery = html(client.get("/gallery/", headers=RU))
    assert "<h1>Галерея</h1>" in gallery
    assert "Сбросить фильтры" not in gallery  # no filter: no reset link
    assert "Скачать ZIP" in gallery and "только что" in gallery
    assert "Любое разрешение" in gallery and "Поиск по промптам" in gallery
    assert english_left(gallery) == []
    detail = html(client.get(f"/videos/{task.pk}/", headers=RU))
    assert "Параметры" in detail and "5 кредитов" in detail
    assert "Создать ссылку" in detail and "Промпт" in detail
    assert english_left(detail) == []


@pytest.mark.django_db
def test_it_counts_videos_in_russian_plural_forms(client: Any, alice: Any) -> None:
    one = collection_of(alice, make_finished_task(alice), title="One")
    two = collection_of(
        alice, *[make_finished_task(alice) for _ in range(2)], title="Two"
    )
    client.force_login(alice)
    listing = html(client.get("/collections/", headers=RU))
    assert "<h1>Коллекции</h1>" in listing
    assert "1 видео" in listing and "2 видео" in listing
    page = html(client.get(f"/collections/{two.pk}/", headers=RU))
    assert "Поделиться коллекцией" in page and "Удалить коллекцию" in page
    assert english_left(page) == []
    assert one.pk != two.pk


@pytest.mark.django_db
def test_it_shows_share_links_and_the_public_page_in_russian(
    client: Any, alice: Any
) -> None:
    task = make_finished_task(alice, prompt="A lighthouse")
    token = sharing.create_link(
        owner=alice, video=task.video, expiry="7d", show_owner=True
    ).token
    client.force_login(alice)
    links = html(client.get("/links/", headers=RU))
    assert "<h1>Ссылки</h1>" in links and "Активна" in links
    assert re.search(
        r">\d{1,2} [а-я]{3} \d{4}, \d\d:\d\d<", links
    )  # "30 ноя 2026, 05:08"
    assert english_left(links) == []
    client.logout()
    public = html(client.get(f"/s/{token}/", headers=RU))
    assert "С вами поделились видео" in public and "Ссылка действует до" in public
    assert f"от <strong>{alice.get_username()}</strong>" in public
    assert english_left(public) == []
    gone = client.get("/s/" + "x" * 43 + "/", headers=RU)
    assert "Ссылка не найдена" in gone.content.decode()


@pytest.mark.django_db
def test_it_shows_credits_and_ledger_reasons_in_russian(
    client: Any, alice: Any
) -> None:
    credits.grant(user=alice, amount=21, reason="Welcome")
    task = GenerationTask.objects.create(owner=alice, prompt="Owl", cost=5)
    credits.hold_for_task(task)
    client.force_login(alice)
    page = html(client.get("/credits/", headers=RU))
    assert "<h1>Кредиты</h1>" in page
    balance = re.search(
        r'stat-value">(\d+)</strong>\s*<span class="muted">(\w+)</span>', page
    )
    assert balance is not None
    assert balance[2] == russian_credits(int(balance[1]))
    assert "Зарезервировано под генерацию" in page and "Резерв" in page
    assert "Welcome" in page  # typed by staff: shown as typed
    assert english_left(page) == []
    assert LedgerEntry.objects.filter(account__user=alice, reason="Welcome").exists()


def test_it_translates_a_short_delivery_reason_with_its_numbers() -> None:
    stored = (
        "Video delivered short of the order: charged 3 of 22 credits, the rest returned"
    )
    with translation.override("ru"):
        assert reason_for_display(stored) == (
            "Видео пришло не таким, как заказано: списано 3 из 22 кредитов, "
            "остальное возвращено"
        )
        assert reason_for_display("Held for generation") == (
            "Зарезервировано под генерацию"
        )
        assert reason_for_display("Typed by staff") == "Typed by staff"
    with translation.override("en"):
        assert reason_for_display(stored) == stored
