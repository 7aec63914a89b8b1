"""Queue control in headless Chromium: staff pause and resume submissions with
a reason members read (English and Russian); a member moves a queued job to the
top by keyboard and cancels several with a confirmation, credits coming back,
on a phone, axe-clean in light and dark, without console errors; a job that
starts leaves the queue panel by itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from generations import credits
from generations.apixo.simulator.running import RunningSimulator
from generations.models import GenerationTask, MemberLanguage, State
from generations.pipeline import dispatch
from generations.templatetags import ops as ops_tags
from tests.browser.conftest import answer_next_dialog, describe, log_in, tab_to
from tests.factories import queue_task
from tests.sim import assert_books_balance, run_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "Provider maintenance at 15:00"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Browser contexts a test opens (one per person); closed afterwards."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def open_page(
    browser: Browser, contexts: list[BrowserContext], errors: list[str], **options: Any
) -> Page:
    """A page in a fresh context whose console errors land in ``errors``.

    CSP stays on unless ``bypass_csp`` (axe is injected as a script)."""
    context = browser.new_context(reduced_motion="reduce", **options)
    contexts.append(context)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def test_staff_pause_holds_a_members_new_job_until_they_resume(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: Any,
    sim: RunningSimulator,
    alice: Any,
    staff: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ops_tags, "REFRESH_SECONDS", 1)
    waiting = queue_task(alice, prompt="A lantern drifting over a dark lake")
    errors: list[str] = []
    member = open_page(browser, contexts, errors)
    log_in(member, live_server, "alice")  # her Studio is open (and live) before
    banner = member.locator("#ops-banner")
    expect(banner).to_be_hidden()
    desk = open_page(browser, contexts, errors)
    log_in(desk, live_server, "sam")
    desk.goto(f"{live_server.url}/staff/overview/")
    desk.get_by_label("Reason shown to members").fill(REASON)
    desk.get_by_role("button", name="Pause submissions").click()
    expect(desk.locator("#breaker-state")).to_contain_text(f"paused by sam: {REASON}")

    expect(banner).to_have_text(  # no reload: her live list brings it
        f"Staff have paused new submissions: {REASON}. Your jobs are safe and "
        "will start when submissions resume."
    )
    member.locator("#id_prompt").fill("A paper boat drifting down a rainy street")
    member.locator("#create-form [type=submit]").click()
    expect(member.locator("#task-cards > .task-card")).to_have_count(2)
    task = GenerationTask.objects.exclude(pk=waiting.pk).get()
    card = member.locator(f"#task-{task.pk}")
    # The queue panel takes the new job at once (no reload), after the waiting one.
    expect(member.locator("#queue .queue-row")).to_have_count(2)
    expect(member.locator(f"#queue-{task.pk}")).to_contain_text("A paper boat")
    for _ in range(2):
        dispatch.dispatch_once(enqueue=run_job)
    assert sim.stats().get("generate_calls", 0) == 0  # nothing sent while paused
    assert set(GenerationTask.objects.values_list("state", flat=True)) == {State.QUEUED}
    held = task.cost + waiting.cost
    assert credits.account_for(alice).balance == 1000 - held  # held, not spent
    expect(card.locator(".state-badge")).to_have_text("Queued")

    member.locator(".topbar .language-switcher button[value=ru]").click()
    expect(banner).to_contain_text(
        f"Сотрудники приостановили отправку новых заданий: {REASON}. Ваши задания"
    )
    expect(card.locator(".state-badge")).to_have_text("В очереди")

    desk.get_by_role("button", name="Resume submissions").click()
    expect(desk.locator("#breaker-state")).to_have_text("Submitting")
    expect(banner).to_be_hidden(timeout=10_000)  # gone without a reload
    dispatch.dispatch_once(enqueue=run_job)
    assert sim.stats().get("generate_calls", 0) == 2
    assert GenerationTask.objects.filter(state=State.QUEUED).count() == 0
    expect(card.locator(".state-badge")).not_to_have_text("В очереди", timeout=10_000)
    assert errors == []


PROMPTS = [
    "A red kite over golden dunes at noon",
    "A blue tram crossing a bridge at dusk",
    "A green parrot preening in warm rain",
    "A yellow taxi waiting in falling snow",
]
WORDS = {
    "en": {"confirm": "Cancel the ticked jobs?", "moved": "Moved to the top"},
    "ru": {"confirm": "Отменить отмеченные задачи?", "moved": "Перемещено в начало"},
}


def queue_order(page: Page) -> list[str]:
    prompts = page.locator("#queue .queue-prompt").all_inner_texts()
    return [text.strip() for text in prompts]


def axe_findings(page: Page, label: str, browser: Browser) -> list[str]:
    """axe on this page as it is (light), then on the same address in a dark
    context with the same log-in (a fresh page: colours at rest); and no
    sideways scrolling at phone width in either."""
    found = describe(f"{label} (light)", Axe().run(page).response)
    dark = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        bypass_csp=True,
        reduced_motion="reduce",
        color_scheme="dark",
        storage_state=page.context.storage_state(),
    )
    try:
        twin = dark.new_page()
        twin.goto(page.url)
        expect(twin.locator("#queue")).to_be_visible()
        found += describe(f"{label} (dark)", Axe().run(twin).response)
        for shown in (page, twin):
            scroll_width = shown.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= PHONE["width"], f"{label} scrolls sideways"
    finally:
        dark.close()
    return found


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_member_moves_a_job_to_the_top_and_cancels_several_on_a_phone(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: Any,
    sim: RunningSimulator,
    alice: Any,
    bob: Any,
    language: str,
) -> None:
    MemberLanguage.objects.create(user=alice, language=language)
    tasks = [queue_task(alice, prompt=prompt) for prompt in PROMPTS]
    bobs = queue_task(bob)
    errors: list[str] = []
    page = open_page(
        browser,
        contexts,
        errors,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        bypass_csp=True,
        color_scheme="light",
    )
    log_in(page, live_server, "alice")
    balance = page.locator("#credit-balance")
    held = sum(task.cost for task in tasks)
    expect(balance).to_have_attribute("data-balance", str(1000 - held))
    assert queue_order(page) == PROMPTS
    found = axe_findings(page, "queue", browser)

    # Keyboard: from the last job's tick box, Tab reaches its "Move to top".
    rows = page.locator("#queue .queue-row")
    rows.nth(3).locator("input[type=checkbox]").focus()
    page.keyboard.press("Tab")
    move = rows.nth(3).locator(".queue-top button")
    assert move.evaluate("node => node === document.activeElement")
    page.keyboard.press("Enter")
    expect(page.locator(".toast").first).to_contain_text(WORDS[language]["moved"])
    expect(rows.first).to_contain_text(PROMPTS[3])
    assert queue_order(page) == [PROMPTS[3], *PROMPTS[:3]]
    assert dispatch.pick_fair_order(timezone.now(), 2, {}) == [
        tasks[3].pk,  # alice's pick goes first among hers
        bobs.pk,  # bob keeps his fair turn
    ]

    # Tick two (Space), then "Cancel selected": it asks first.
    for index in (1, 3):  # the kite and the parrot
        box = rows.nth(index).locator("input[type=checkbox]")
        tab_to(page, box)
        page.keyboard.press("Space")
        expect(box).to_be_checked()
    submit = page.locator("#queue-cancel button[type=submit]")
    questions = answer_next_dialog(page, accept=False)
    tab_to(page, submit)
    page.keyboard.press("Enter")
    expect(rows).to_have_count(4)
    assert questions and WORDS[language]["confirm"] in questions[0]
    assert GenerationTask.objects.filter(state=State.CANCELLED).count() == 0

    answer_next_dialog(page, accept=True)
    submit.click()
    expect(rows).to_have_count(2)
    cancelled = [tasks[0], tasks[2]]
    back = sum(task.cost for task in cancelled)
    expect(balance).to_have_attribute("data-balance", str(1000 - held + back))
    assert queue_order(page) == [PROMPTS[3], PROMPTS[1]]
    states = dict(GenerationTask.objects.values_list("pk", "state"))
    assert [states[task.pk] for task in tasks] == [
        State.CANCELLED,
        State.QUEUED,
        State.CANCELLED,
        State.QUEUED,
    ]
    assert states[bobs.pk] == State.QUEUED
    assert credits.account_for(alice).balance == 1000 - held + back
    assert_books_balance()
    found += axe_findings(page, "after cancel", browser)
    assert found == [], "\n".join(found)

    # Once they start, the live list takes them out of the queue panel.
    dispatch.dispatch_once(enqueue=run_job)
    assert sim.stats().get("generate_calls", 0) == 3
    expect(page.locator("#queue")).to_have_count(0, timeout=10_000)
    assert errors == []
