"""A delivered video is checked against its order: the finding is stored, shown on
the card, the detail page and the overview's attention list, filterable in the
admin, and the member pays only for what arrived (through the ledger)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generations import credits
from generations.apixo.simulator.running import RunningSimulator
from generations.models import GenerationTask, LedgerEntry, State, VideoAsset
from generations.overview.attention import attention
from generations.pipeline import delivery
from generations.views.credits import spend_by_week
from tests.factories import queue_task
from tests.sim import assert_books_balance, drive

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Order:
    resolution: str = "480p"
    aspect_ratio: str = "16:9"
    duration: int = 12
    sound: bool = True


@dataclass
class Video:
    width: int = 864
    height: int = 480
    duration_seconds: float = 12.0
    has_audio: bool = True


# --- the rule -------------------------------------------------------------------------


def test_it_allows_about_one_frame_per_second_of_video() -> None:
    # 12 s at 24 fps: half a second either way.
    assert delivery.duration_tolerance(12) == pytest.approx(0.5)
    assert delivery.check(Order(), Video(duration_seconds=11.55)) == []
    assert delivery.check(Order(), Video(duration_seconds=12.45)) == []
    [short] = delivery.check(Order(), Video(duration_seconds=11.4))
    assert short == {"kind": "duration", "ordered": 12, "delivered": 11.4}


def test_it_finds_each_kind_of_difference() -> None:
    order = Order(resolution="720p")
    findings = delivery.check(
        order, Video(width=640, height=640, duration_seconds=2.0, has_audio=False)
    )
    kinds = [f["kind"] for f in findings]
    assert kinds == ["duration", "aspect", "resolution", "audio"]
    assert findings[2]["tier"] == "480p"
    assert delivery.describe_all(findings) == [
        "Delivered 2.0 s of 12 s ordered",
        "Delivered a 640x640 frame instead of 16:9 (1280x720)",
        "Delivered 640x640 instead of 1280x720 (charged as 480p)",
        "Delivered without the sound that was ordered",
    ]
    # A bigger frame than ordered is not a shortfall.
    assert delivery.check(Order(), Video(width=1280, height=720)) == []


# --- through the simulator's faults ---------------------------------------------------


def settled(task: GenerationTask) -> list[tuple[str, int]]:
    return list(
        LedgerEntry.objects.filter(task=task)
        .order_by("pk")
        .values_list("kind", "amount")
    )


@pytest.mark.parametrize(
    ("fault", "order", "finding", "text", "charged"),
    [
        (
            "short_result_rate",
            {"resolution": "480p", "duration": 8, "sound": False},
            {"kind": "duration", "ordered": 8, "delivered": 2.0},
            "Delivered 2.0 s of 8 s ordered",
            2 * 1,  # 2 s at 480p silent (1 credit/s)
        ),
        (
            "low_resolution_result_rate",
            {"resolution": "720p", "duration": 4, "sound": False},
            {
                "kind": "resolution",
                "tier": "480p",
                "ordered": "1280x720",
                "delivered": "640x360",
            },
            "Delivered 640x360 instead of 1280x720 (charged as 480p)",
            4 * 1,  # 4 s at 480p silent instead of 720p silent (2 credits/s)
        ),
        (
            "silent_result_rate",
            {"resolution": "480p", "duration": 4, "sound": True},
            {"kind": "audio", "ordered": True, "delivered": False},
            "Delivered without the sound that was ordered",
            4 * 1,  # 4 s at 480p silent instead of with sound (2 credits/s)
        ),
    ],
)
def test_it_charges_only_what_a_mismatching_delivery_brought(
    sim: RunningSimulator,
    alice: Any,
    staff: Any,
    client: Client,
    fault: str,
    order: dict[str, Any],
    finding: dict[str, Any],
    text: str,
    charged: int,
) -> None:
    sim.set_faults({fault: 1.0})
    task = queue_task(alice, **order)
    drive(timeout=60)
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED, task.last_error
    assert VideoAsset.objects.filter(task=task).exists()

    # The finding is data on the task.
    assert task.delivery_findings == [finding]
    assert task.delivery_mismatch is True

    # The ledger: the hold, then one capture that gives back what was not delivered.
    assert charged < task.cost
    assert settled(task) == [("hold", -task.cost), ("capture", task.cost - charged)]
    assert credits.account_for(alice).balance == 1000 - charged
    assert spend_by_week(alice.pk, timezone.now())[-1].credits == charged
    assert credits.committed_today(credits.account_for(alice).pk) == charged
    assert_books_balance()

    # The card and the detail page say so.
    client.force_login(alice)
    card = client.get(reverse("dashboard")).content.decode()
    assert text in card and "charged only for what was delivered" in card
    page = client.get(reverse("video_detail", args=[task.pk])).content.decode()
    assert text in page

    # Staff see it in the overview's attention list.
    items = [i for i in attention(timezone.now()).items if i.kind == "delivery"]
    assert [i.task.pk for i in items] == [task.pk]
    assert text in items[0].why
    client.force_login(staff)
    overview = client.get(reverse("staff_overview")).content.decode()
    assert "Delivered off the order" in overview and text in overview


def test_it_passes_a_matching_video_unflagged(
    sim: RunningSimulator, alice: Any, client: Client
) -> None:
    task = queue_task(alice, resolution="480p", duration=4, sound=True)
    drive(timeout=60)
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED, task.last_error
    assert task.delivery_findings == []
    assert task.delivery_mismatch is False
    assert settled(task) == [("hold", -task.cost), ("capture", 0)]
    assert credits.account_for(alice).balance == 1000 - task.cost
    client.force_login(alice)
    assert "Not as ordered" not in client.get(reverse("dashboard")).content.decode()
    assert not [i for i in attention(timezone.now()).items if i.kind == "delivery"]


def test_it_lets_staff_filter_mismatches_in_the_admin(
    alice: Any, staff: Any, client: Client
) -> None:
    off = queue_task(alice)
    fine = queue_task(alice)
    GenerationTask.objects.filter(pk=off.pk).update(
        state=State.SUCCEEDED,
        delivery_mismatch=True,
        delivery_findings=[{"kind": "duration", "ordered": 4, "delivered": 2.0}],
    )
    GenerationTask.objects.filter(pk=fine.pk).update(state=State.SUCCEEDED)
    client.force_login(staff)
    url = reverse("admin:generations_generationtask_changelist")
    response = client.get(url, {"delivery_mismatch__exact": "1"})
    assert response.status_code == 200
    assert [t.pk for t in response.context["cl"].result_list] == [off.pk]
    assert "delivered off the order" in response.content.decode()
    page = client.get(
        reverse("admin:generations_generationtask_change", args=[off.pk])
    ).content.decode()
    assert "Delivered 2.0 s of 4 s ordered" in page
