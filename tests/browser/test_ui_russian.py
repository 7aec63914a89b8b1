"""The main flows in Russian, in headless Chromium, with no console error; the
language switcher's choice follows a member to a new browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from generations import sharing
from generations.apixo.simulator.running import RunningSimulator
from generations.models import (
    CreditAccount,
    GenerationTask,
    MemberLanguage,
    State,
)
from tests.browser.conftest import log_in
from tests.factories import collection_of, make_finished_task
from tests.sim import drive

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def console_errors(page: Page) -> Iterator[list[str]]:
    """Console errors and uncaught exceptions of ``page``; none may be left."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield errors


def russian(member: Any) -> Any:
    """The member chose Russian (the log-in page still follows the browser)."""
    MemberLanguage.objects.update_or_create(user=member, defaults={"language": "ru"})
    return member


def frame(path: Path) -> Path:
    Image.new("RGB", (320, 180), (250, 120, 30)).save(path, "JPEG")
    return path


def test_it_creates_a_video_in_russian_and_watches_it_finish(
    page: Page,
    live_server: Any,
    sim: RunningSimulator,
    alice: Any,
    console_errors: list[str],
) -> None:
    log_in(page, live_server, russian(alice).username)
    expect(page.get_by_role("link", name="Галерея")).to_be_attached()
    expect(page.get_by_role("heading", name="Новое видео")).to_be_visible()
    cost = page.locator(".cost-line")
    expect(cost).to_contain_text("32 кредита")  # 720p with sound, 8 s
    page.locator("label[for=id_resolution_0]").click()  # 480p
    page.locator("label[for=id_sound]").click()  # silent: 8 credits
    expect(cost).to_contain_text("8 кредитов")
    page.locator("label[for=id_sound]").click()  # with sound again: 16
    page.locator("#id_prompt").fill("A paper boat drifting down a rainy street")
    page.locator("#create-form [type=submit]").click()

    card = page.locator("#task-cards > .task-card")
    expect(card).to_have_count(1)
    expect(card.locator(".state-badge")).to_have_text("В очереди")
    expect(card).to_contain_text("16 кредитов")
    drive(timeout=60)
    assert GenerationTask.objects.get().state == State.SUCCEEDED
    expect(card.locator(".state-badge")).to_have_text("Готово", timeout=15_000)
    expect(page.locator("#credit-balance strong")).to_have_text("984")
    assert console_errors == []


def test_it_creates_an_image_to_video_task_in_russian(
    page: Page,
    live_server: Any,
    alice: Any,
    tmp_path: Path,
    console_errors: list[str],
) -> None:
    log_in(page, live_server, russian(alice).username)
    page.locator("label[for=id_mode_1]").click()  # Видео из картинки
    expect(page.locator("label[for=id_mode_1]")).to_have_text("Видео из картинки")
    page.locator("#id_prompt").fill("The sunset turns into a blue night")
    page.locator("#create-form [type=submit]").click()
    # A refusal in Russian first: no frame, nothing spent.
    expect(page.locator("#id_start_image-error")).to_be_visible()
    expect(page.locator("#id_start_image-error")).not_to_contain_text("start frame")
    assert not GenerationTask.objects.exists()
    # A refused form answers 422 by design; Chromium logs every 4xx resource.
    assert console_errors == [
        "Failed to load resource: the server responded with a status of 422 "
        "(Unprocessable Entity)"
    ]
    console_errors.clear()

    page.locator("#id_start_image").set_input_files(str(frame(tmp_path / "s.jpg")))
    expect(page.locator(".frame-preview").first).to_be_visible()
    page.locator("#create-form [type=submit]").click()
    card = page.locator("#task-cards > .task-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Изображение → видео")
    expect(card.locator(".state-badge")).to_have_text("В очереди")
    task = GenerationTask.objects.get()
    assert task.mode == "image-to-video"
    assert task.images.count() == 1
    assert console_errors == []


def test_it_shows_the_pages_of_a_finished_video_in_russian(
    page: Page,
    browser: Browser,
    live_server: Any,
    alice: Any,
    console_errors: list[str],
) -> None:
    russian(alice)
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    CreditAccount.objects.filter(user=alice).update(daily_credit_limit=1)
    tasks = [
        make_finished_task(alice, prompt=f"A fox in the snow, take {cost}", cost=cost)
        for cost in (1, 2, 5)
    ]
    reel = collection_of(alice, *tasks, title="Winter reel")
    token = sharing.create_link(owner=alice, video=tasks[0].video).token
    log_in(page, live_server, alice.username)

    cards = page.locator("#task-cards > .task-card")
    for task, text in zip(tasks, ["1 кредит", "2 кредита", "5 кредитов"], strict=True):
        expect(page.locator(f"#task-{task.pk} .cost")).to_have_text(text)
    expect(cards.first.locator(".state-badge")).to_have_text("Готово")

    page.get_by_role("link", name="Галерея").first.click()
    expect(page.get_by_role("heading", name="Галерея", exact=True)).to_be_visible()
    expect(page.locator(".tile")).to_have_count(3)

    page.goto(f"{live_server.url}/videos/{tasks[0].pk}/")
    expect(page.get_by_role("heading", name="Параметры")).to_be_visible()
    expect(page.get_by_role("heading", name="Поделиться")).to_be_visible()

    page.goto(f"{live_server.url}/collections/{reel.pk}/")
    expect(page.get_by_role("heading", name="Winter reel")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Поделиться")

    page.goto(f"{live_server.url}/credits/")
    expect(page.get_by_role("heading", name="Кредиты", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text("1 кредит в день")
    expect(page.locator("main")).to_contain_text("История операций")

    page.goto(f"{live_server.url}/staff/overview/")
    expect(page.get_by_role("heading", name="Обзор")).to_be_visible()
    assert console_errors == []

    # The share page, for a visitor whose browser asks for Russian.
    visitor = browser.new_context(locale="ru-RU")
    public = visitor.new_page()
    public.on(
        "console",
        lambda m: console_errors.append(m.text) if m.type == "error" else None,
    )
    public.goto(f"{live_server.url}/s/{token}/")
    expect(public.locator("h1")).to_have_text("С вами поделились видео")
    expect(public.locator(".topbar")).to_have_count(0)  # not logged in
    # The visitor switches to English on the public page: a cookie, same URL.
    # Each language by its own name, as a reader of it looks for it.
    english = public.locator(".language-switcher a[lang=en]")
    expect(english).to_have_text("English")
    english.click()
    expect(public.locator("h1")).to_have_text("A video shared with you")
    assert public.url == f"{live_server.url}/s/{token}/"
    visitor.close()
    assert console_errors == []


def test_it_keeps_the_switchers_choice_in_a_new_browser(
    browser: Browser, live_server: Any, alice: Any
) -> None:
    first = browser.new_context()
    page = first.new_page()
    log_in(page, live_server)
    expect(page.get_by_role("link", name="Gallery")).to_be_attached()
    page.locator(".topbar .language-switcher button[value=ru]").click()
    expect(page.get_by_role("link", name="Галерея")).to_be_attached()
    expect(page.locator(".topbar button[value=ru]")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.locator("form.logout [type=submit]").click()
    expect(page.locator(".auth-form")).to_be_visible()
    first.close()

    # A new browser, no cookie, English Accept-Language: the member's choice wins.
    second = browser.new_context(locale="en-US")
    page = second.new_page()
    log_in(page, live_server)
    expect(page.get_by_role("link", name="Галерея")).to_be_attached()
    expect(page.locator("form.logout [type=submit]")).to_have_text("Выйти")
    second.close()
    assert MemberLanguage.objects.get(user=alice).language == "ru"


def test_it_remembers_a_visitors_choice_on_the_login_page(
    browser: Browser, live_server: Any, alice: Any
) -> None:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    expect(page.locator(".auth-form [type=submit]")).to_have_text("Log in")
    page.locator(".auth-card .language-switcher button[value=ru]").click()
    expect(page.locator(".auth-form [type=submit]")).to_have_text("Войти")
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    assert cookies["django_language"] == "ru"
    page.goto(f"{live_server.url}/login/")  # the cookie holds on the next visit
    expect(page.get_by_label("Имя пользователя")).to_be_visible()
    context.close()
    assert not MemberLanguage.objects.exists()


@pytest.mark.parametrize("width", [1440, 1100])
def test_it_keeps_the_russian_header_tidy(
    page: Page, live_server: Any, alice: Any, staff: Any, width: int
) -> None:
    """Eight entries in Russian: one row with the account at 1440 px; below that
    the nav takes a row of its own. Never a cut or a sideways scroll."""
    staff.is_superuser = True
    staff.save()
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live_server, russian(staff).username)
    nav = page.locator(".mainnav").bounding_box()
    account = page.locator("#credit-balance").bounding_box()
    assert nav is not None and account is not None
    if width >= 1440:
        assert abs(nav["y"] - account["y"]) < 12  # one row
    else:
        assert nav["y"] > account["y"] + account["height"] - 4  # a row below
    overflow = page.evaluate(
        "[...document.querySelectorAll('.topbar *')]"
        ".filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(el => el.className)"
    )
    assert overflow == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
