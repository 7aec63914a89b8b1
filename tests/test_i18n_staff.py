"""The staff area in Russian: overview, breaker, admin, failure reasons, findings.

The area's fragment is folded into ``locale/ru/LC_MESSAGES/django.po``; that
catalog is compiled into a scratch locale directory, so these tests read it
without depending on ``make catalogs``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from generations.models import FailCode, State
from generations.models.tasks import describe_failure
from generations.overview.common import _seconds
from generations.pipeline.delivery import describe
from tests.test_overview import make_task

FRAGMENT = Path(settings.BASE_DIR) / "locale" / "ru" / "LC_MESSAGES" / "django.po"


@pytest.fixture
def russian(tmp_path: Path) -> Iterator[None]:
    """The staff fragment compiled and active beside the project's catalogs."""
    target = tmp_path / "locale" / "ru" / "LC_MESSAGES"
    target.mkdir(parents=True)
    polib.pofile(str(FRAGMENT)).save_as_mofile(str(target / "django.mo"))
    paths = [str(tmp_path / "locale"), *map(str, settings.LOCALE_PATHS)]
    with override_settings(LOCALE_PATHS=paths):
        yield


def test_it_translates_every_entry_of_the_fragment() -> None:
    catalog = polib.pofile(str(FRAGMENT))
    assert catalog.metadata["Plural-Forms"].startswith("nplurals=3;")
    assert not catalog.untranslated_entries() and not catalog.fuzzy_entries()
    assert catalog.percent_translated() == 100


@pytest.mark.usefixtures("russian")
def test_it_explains_failure_reasons_in_russian() -> None:
    with translation.override("ru"):
        provider = describe_failure("CONTENT_VIOLATION")
        ours = describe_failure(FailCode.SUBMISSION_UNCONFIRMED)
        unexplained = describe_failure("SOMETHING_NEW")
        state = str(State.UNKNOWN.label)
    assert provider == "Промпт или картинки нарушают правила безопасности провайдера."
    assert ours.startswith("Не удалось подтвердить, что провайдер принял задание")
    assert unexplained == "Провайдер сообщил об ошибке, но не объяснил её."
    assert state == "Исход неизвестен, проверяем"
    # English stays the default.
    assert describe_failure("CONTENT_VIOLATION").startswith("The prompt or images")


@pytest.mark.usefixtures("russian")
def test_it_describes_delivery_findings_in_russian() -> None:
    finding = {"kind": "duration", "ordered": 8, "delivered": 2.0}
    with translation.override("ru"):
        text = describe(finding)
        silent = describe({"kind": "audio", "ordered": True, "delivered": False})
    assert text == "Доставлено 2,0 с из заказанных 8 с"
    assert silent == "Доставлено без заказанного звука"
    assert describe(finding) == "Delivered 2.0 s of 8 s ordered"


@pytest.mark.usefixtures("russian")
def test_it_counts_durations_with_russian_plurals() -> None:
    with translation.override("ru"):
        texts = [_seconds(days * 86400) for days in (2, 5, 21)]
        short = _seconds(70)
    assert texts == ["2 дня", "5 дней", "21 день"]
    assert short == "70 с"


@pytest.mark.usefixtures("russian")
def test_it_renders_the_overview_in_russian(
    client: Client, staff: Any, alice: Any
) -> None:
    now = timezone.now()
    make_task(alice, State.FAILED, now, fail_code="NSFW_DETECTED")
    make_task(alice, State.UNKNOWN, now - dt.timedelta(minutes=5))
    client.force_login(staff)

    page = client.get(
        reverse("staff_overview"), headers={"Accept-Language": "ru"}
    ).content.decode()

    for russian in (
        "<h1>Обзор</h1>",
        "Требует внимания",
        "Провайдер обнаружил контент для взрослых.",
        "Исход неизвестен",
        "Предохранитель провайдера",
        "Воркеры и диспетчер",
        "Выгрузки",
    ):
        assert russian in page
    for english in ("Needs attention", "Failure codes", "Workers and dispatcher"):
        assert english not in page
    # SVG coordinates stay machine numbers: "12,5" would be a list of two.
    assert not re.search(r'\b(x|y|width|height|x1|x2|y1|y2)="-?\d+,\d', page)
    assert 'class="state-failed"' in page


@pytest.mark.usefixtures("russian")
def test_it_speaks_russian_in_the_task_admin(
    client: Client, staff: Any, alice: Any
) -> None:
    task = make_task(alice, State.SUCCEEDED, timezone.now())
    client.force_login(staff)

    changelist = client.get(
        reverse("admin:generations_generationtask_changelist"),
        headers={"Accept-Language": "ru"},
    ).content.decode()
    change = client.get(
        reverse("admin:generations_generationtask_change", args=[task.pk]),
        headers={"Accept-Language": "ru"},
    ).content.decode()

    assert "Проверить статус сейчас" in changelist
    assert "Снять резерв (завершить задачу с ошибкой, вернуть кредиты)" in changelist
    assert "Служебные данные конвейера" in change
    assert "Соответствует заказу." in change


@pytest.mark.usefixtures("russian")
def test_it_shows_what_staff_stored_in_the_members_language(alice: Any) -> None:
    from generations import staff_services

    task = make_task(alice, State.QUEUED, timezone.now())
    staff_services.release_task(task=task, reason="test", note="wrong prompt")
    task.refresh_from_db()
    resubmitted = make_task(
        alice,
        State.FAILED,
        timezone.now(),
        fail_code=FailCode.RELEASED_BY_STAFF,
        fail_message="Staff resubmitted this job as task 42.",
    )

    with translation.override("ru"):
        released_reason = task.fail_reason
        resubmitted_reason = resubmitted.fail_reason

    assert task.fail_message == (
        "Stopped by staff: wrong prompt. Your credits were given back."
    )
    assert released_reason == (
        "Остановлено сотрудником; кредиты возвращены. (wrong prompt)"
    )
    assert resubmitted_reason == (
        "Остановлено сотрудником; кредиты возвращены. "
        "(Сотрудник отправил это задание заново как задачу 42.)"
    )


@pytest.mark.usefixtures("russian")
def test_it_names_worker_cluster_states_in_russian() -> None:
    from generations.overview.live import Cluster

    idle = Cluster("c1", "host", "Idle", 2, 5.0, 0)
    odd = Cluster("c2", "host", "Rebalancing", 2, None, 0)
    with translation.override("ru"):
        assert (idle.status_label, odd.status_label) == ("Простаивает", "Rebalancing")
    assert idle.status_label == "Idle"
