"""The staff overview: numbers on a seeded database, the page, and who may see it."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generations import overview
from generations.apixo.client import AuthError
from generations.models import (
    CreditAccount,
    FailCode,
    GenerationTask,
    LedgerEntry,
    RateBucket,
    State,
)
from generations.pipeline import dispatch
from tests.factories import make_task

pytestmark = pytest.mark.django_db

URL = reverse("staff_overview")


class FakeClient:
    def __init__(self, balance: float | Exception) -> None:
        self.balance = balance
        self.calls = 0

    def get_balance(self) -> float:
        self.calls += 1
        if isinstance(self.balance, Exception):
            raise self.balance
        return self.balance


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> FakeClient:
    fake = FakeClient(74.87)
    monkeypatch.setattr("generations.pipeline.common.get_client", lambda: fake)
    return fake


def settle(task: Any, kind: str, at: dt.datetime) -> None:
    """A hold and its settlement, written as the ledger services would."""
    account = CreditAccount.objects.get(user_id=task.owner_id)
    LedgerEntry.objects.create(
        account=account, kind="hold", amount=-task.cost, task=task, created_at=at
    )
    amount = task.cost if kind == "release" else 0
    LedgerEntry.objects.create(
        account=account, kind=kind, amount=amount, task=task, created_at=at
    )


NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
TODAY = NOW - dt.timedelta(hours=2)
YESTERDAY = NOW - dt.timedelta(days=1)
LONG_AGO = NOW - dt.timedelta(days=20)


def test_it_counts_tasks_per_day_by_state(alice: Any, bob: Any) -> None:
    for _ in range(3):
        make_task(alice, State.SUCCEEDED, TODAY)
    make_task(bob, State.FAILED, TODAY, fail_code="GENERATION_FAILED")
    make_task(bob, State.QUEUED, TODAY)
    make_task(alice, State.SUCCEEDED, YESTERDAY)
    make_task(alice, State.SUCCEEDED, YESTERDAY)
    make_task(alice, State.FAILED, YESTERDAY, fail_code="CONTENT_VIOLATION")
    make_task(bob, State.FAILED, YESTERDAY, fail_code="GENERATION_FAILED")
    make_task(bob, State.CANCELLED, YESTERDAY)
    for _ in range(5):
        make_task(bob, State.SUCCEEDED, LONG_AGO)

    stats = overview.task_stats(NOW)

    assert len(stats.days) == 14
    assert stats.days[-1].day == dt.date(2026, 11, 20)
    assert stats.days[0].day == dt.date(2026, 11, 7)
    assert stats.days[-1].counts == {"succeeded": 3, "failed": 1, "queued": 1}
    assert stats.days[-2].counts == {"succeeded": 2, "failed": 2, "cancelled": 1}
    assert all(day.total == 0 for day in stats.days[:-2])
    assert stats.created == 10
    assert stats.finished == 8
    assert stats.success_rate == pytest.approx(5 / 8)
    assert [(f.code, f.count) for f in stats.failures] == [
        ("GENERATION_FAILED", 2),
        ("CONTENT_VIOLATION", 1),
    ]
    assert "safety rules" in stats.failures[1].description


def test_it_caches_past_days_but_counts_today_live(alice: Any) -> None:
    make_task(alice, State.SUCCEEDED, YESTERDAY)
    assert overview.task_stats(NOW).created == 1
    settle(make_task(alice, State.SUCCEEDED, TODAY, cost=8), "capture", TODAY)
    make_task(alice, State.FAILED, YESTERDAY, fail_code="NSFW_DETECTED")

    stats = overview.task_stats(NOW)

    assert stats.days[-1].counts == {"succeeded": 1}  # today: live
    assert stats.days[-2].counts == {"succeeded": 1}  # yesterday: cached
    assert stats.failures == []
    assert overview.spend_stats(NOW).days[-1][1] == 8
    cache.clear()
    assert overview.task_stats(NOW).days[-2].counts == {"succeeded": 1, "failed": 1}


def test_it_has_no_success_rate_without_finished_tasks(alice: Any) -> None:
    make_task(alice, State.QUEUED, TODAY)
    assert overview.task_stats(NOW).success_rate is None


def test_it_computes_median_and_p95_of_generation_times(alice: Any) -> None:
    start = NOW - dt.timedelta(hours=1)
    for seconds in (10, 20, 30, 40, 50):  # 4 s videos, on the provider's clock
        make_task(
            alice,
            State.SUCCEEDED,
            start,
            duration=4,
            provider_created_at=start,
            provider_completed_at=start + dt.timedelta(seconds=seconds),
        )
    for ms in (60_000, 80_000):  # 8 s videos, costTime only
        make_task(alice, State.SUCCEEDED, start, duration=8, provider_cost_ms=ms)
    # Not finished successfully: not part of the history.
    make_task(alice, State.FAILED, start, duration=4, provider_cost_ms=999_000)

    times = {t.duration: t for t in overview.generation_times()}

    assert times[4].samples == 5
    assert times[4].median == pytest.approx(30.0)
    assert times[4].p95 == pytest.approx(48.0)  # 40 + 0.8 x (50 - 40)
    assert times[8].samples == 2
    assert times[8].median == pytest.approx(70.0)
    assert times[8].p95 == pytest.approx(79.0)
    assert times[12].samples == 0
    assert times[12].median is None and times[12].p95 is None
    assert times[12].documented == (90.0, 120.0)


def test_it_sums_credits_spent_per_member_and_day(alice: Any, bob: Any) -> None:
    settle(make_task(alice, State.SUCCEEDED, TODAY, cost=32), "capture", TODAY)
    settle(make_task(alice, State.SUCCEEDED, TODAY, cost=16), "capture", TODAY)
    settle(make_task(bob, State.SUCCEEDED, YESTERDAY, cost=8), "capture", YESTERDAY)
    settle(make_task(bob, State.FAILED, TODAY, cost=48), "release", TODAY)
    settle(make_task(bob, State.SUCCEEDED, LONG_AGO, cost=64), "capture", LONG_AGO)

    spend = overview.spend_stats(NOW)

    assert spend.days[-1] == (dt.date(2026, 11, 20), 48)
    assert spend.days[-2] == (dt.date(2026, 11, 19), 8)
    assert spend.total == 56
    assert [(m.username, m.credits, m.videos) for m in spend.members] == [
        ("alice", 48, 2),
        ("bob", 8, 1),
    ]


def test_it_counts_provider_requests_of_the_last_minute(settings: Any) -> None:
    settings.REDIS_URL = ""  # the database counter (Redis has its own test below)
    second = int(NOW.timestamp())
    RateBucket.objects.create(second=second, count=100)
    RateBucket.objects.create(second=second - 59, count=50)
    RateBucket.objects.create(second=second - 60, count=999)  # 61 s ago: out

    assert overview.requests_last_minute(NOW.timestamp()) == 150


def test_it_counts_redis_counters_when_redis_is_configured(settings: Any) -> None:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        client = redis.Redis.from_url(url, socket_timeout=0.5)
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.REDIS_URL = url
    second = 1_000_000 + secrets.randbelow(10**6)  # far from any live counter
    keys = {
        f"seedance:rate:{second - age}": n for age, n in ((0, 7), (59, 5), (60, 99))
    }
    client.mset(keys)
    try:
        assert overview.requests_last_minute(second) == 12
    finally:
        client.delete(*keys)


def test_it_shows_unreadable_counters_as_an_error(settings: Any) -> None:
    pytest.importorskip("redis")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    usage = overview.usage(NOW)
    assert usage.requests_last_minute is None
    assert usage.rate_error.startswith("Could not read the request counters")


def test_it_counts_tasks_in_flight_against_the_provider_limit(alice: Any) -> None:
    for state in (State.QUEUED, State.QUEUED, State.SUBMITTING, State.WAITING):
        make_task(alice, state, TODAY)
    for state in (State.GENERATING, State.UNKNOWN, State.DOWNLOADING):
        make_task(alice, state, TODAY)
    make_task(alice, State.SUCCEEDED, TODAY)

    usage = overview.usage(NOW)

    assert usage.in_flight == {
        "queued": 2,
        "submitting": 1,
        "waiting": 1,
        "generating": 1,
        "unknown": 1,
        "downloading": 1,
    }
    assert usage.at_provider == 4  # submitting, waiting, generating, unknown
    assert usage.provider_slot_limit == 1000
    assert usage.provider_rate_limit == 10_000


def test_it_caches_the_provider_balance_and_warns_when_low(
    provider: FakeClient,
) -> None:
    provider.balance = 12.5
    first = overview.refresh_provider_balance()
    second = overview.provider_balance()

    assert provider.calls == 1
    assert first.usd == second.usd == 12.5
    assert first.low and first.threshold == 20.0

    provider.balance = 74.87
    overview.refresh_provider_balance()
    assert not overview.provider_balance().low


def test_it_keeps_a_balance_error_as_text(provider: FakeClient) -> None:
    provider.balance = AuthError("invalid API key", status=401)
    balance = overview.refresh_provider_balance()
    assert balance.usd is None
    assert balance.error == "HTTP 401: invalid API key"
    assert not balance.low
    assert overview.provider_balance().error == balance.error
    assert provider.calls == 1  # errors are cached too


def test_it_reports_the_dispatcher_heartbeat() -> None:
    now = timezone.now()
    assert not overview.health(now).dispatcher_ok
    cache.set(dispatch.HEARTBEAT_KEY, now.timestamp() - 3)
    report = overview.health(now)
    assert report.dispatcher_ok
    assert report.dispatcher_age == pytest.approx(3, abs=0.01)
    cache.set(dispatch.HEARTBEAT_KEY, now.timestamp() - 600)
    assert not overview.health(now).dispatcher_ok
    assert report.clusters == []  # no qcluster in tests
    assert report.queued_jobs == 0


def test_it_lists_tasks_that_need_attention(alice: Any, bob: Any) -> None:
    now = timezone.now()
    long_ago = now - dt.timedelta(hours=1)
    unknown = make_task(alice, State.UNKNOWN, long_ago, state_changed_at=long_ago)
    unconfirmed = make_task(
        bob,
        State.FAILED,
        long_ago,
        fail_code=FailCode.SUBMISSION_UNCONFIRMED,
        finished_at=now,
    )
    resubmitted = make_task(
        bob, State.FAILED, long_ago, fail_code=FailCode.SUBMISSION_UNCONFIRMED
    )
    make_task(bob, State.QUEUED, now, retry_of=resubmitted)
    delayed = make_task(
        alice, State.GENERATING, long_ago, submitted_at=long_ago, duration=8
    )
    make_task(alice, State.GENERATING, now, submitted_at=now, duration=8)
    failing = make_task(alice, State.DOWNLOADING, long_ago, download_attempts=2)
    make_task(alice, State.DOWNLOADING, long_ago, download_attempts=1)

    found = overview.attention(now)

    assert found.counts == {
        "unknown": 1,
        "unconfirmed": 1,
        "delayed": 1,
        "download": 1,
        "delivery": 0,
    }
    assert found.total == 4
    assert [(item.kind, item.task.pk) for item in found.items] == [
        ("unknown", unknown.pk),
        ("unconfirmed", unconfirmed.pk),
        ("delayed", delayed.pk),
        ("download", failing.pk),
    ]
    assert "At the provider for 60 min" in found.items[2].why
    assert found.items[3].why == "2 download attempts failed."


def test_it_counts_attention_beyond_the_rows_shown(alice: Any) -> None:
    for _ in range(4):
        make_task(alice, State.UNKNOWN, TODAY)
    found = overview.attention(timezone.now(), rows=3)
    assert found.counts["unknown"] == 4
    assert len(found.items) == 3


def test_it_bounds_delays_by_the_poll_plan(settings: Any) -> None:
    settings.SIMULATOR_ENABLED = False
    bound = overview.delayed_after(8, "720p", True, "auto")
    # The documented 60-90 s prior, times DELAYED_FACTOR (1.5).
    assert 90 * 1.5 <= bound <= 100 * 1.5


def test_each_kind_is_delayed_by_its_own_bound(alice: Any, settings: Any) -> None:
    settings.SIMULATOR_ENABLED = False
    now = timezone.now()
    short = overview.delayed_after(4, "720p", True, "auto")
    long = overview.delayed_after(12, "720p", True, "auto")
    assert short < long  # the documented priors differ by duration
    between = now - dt.timedelta(seconds=(short + long) / 2)
    late_short = make_task(
        alice, State.GENERATING, between, submitted_at=between, duration=4
    )
    make_task(alice, State.GENERATING, between, submitted_at=between, duration=12)
    long_ago = now - dt.timedelta(seconds=long + 60)
    late_long = make_task(
        alice, State.WAITING, long_ago, submitted_at=long_ago, duration=12
    )
    found = overview.attention(now)
    delayed = [item.task.pk for item in found.items if item.kind == "delayed"]
    assert sorted(delayed) == sorted([late_short.pk, late_long.pk])
    # One kind (one bound) alone: the same answer without naming the kind.
    GenerationTask.objects.filter(duration=12).delete()
    found = overview.attention(now)
    assert [i.task.pk for i in found.items if i.kind == "delayed"] == [late_short.pk]


# --- the page -------------------------------------------------------------------------


def test_it_forbids_members(client: Client, alice: Any) -> None:
    client.force_login(alice)
    assert client.get(URL).status_code == 403


def test_it_sends_anonymous_visitors_to_log_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_sends_an_expired_live_refresh_to_the_login_page(client: Client) -> None:
    response = client.get(URL, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=%2Fstaff%2Foverview%2F"
    assert response.content == b""


def test_it_refuses_other_methods(client: Client, staff: Any) -> None:
    client.force_login(staff)
    assert client.post(URL).status_code == 405


def test_it_shows_the_overview_to_staff(
    client: Client, staff: Any, alice: Any, provider: FakeClient
) -> None:
    overview.refresh_provider_balance()  # what the scheduled worker job does
    now = timezone.now()
    settle(make_task(alice, State.SUCCEEDED, now, cost=32), "capture", now)
    make_task(alice, State.FAILED, now, fail_code="NSFW_DETECTED")
    make_task(alice, State.UNKNOWN, now - dt.timedelta(minutes=5))
    client.force_login(staff)

    response = client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert '<svg class="chart" id="chart-tasks"' in page
    assert 'class="state-succeeded"' in page and 'class="state-failed"' in page
    assert 'id="kpi-success">50%<' in page
    assert 'id="kpi-spent">32<' in page
    assert "$74.87" in page
    assert "NSFW_DETECTED" in page
    assert 'data-kind="unknown"' in page
    assert 'hx-trigger="every 10s"' in page
    assert reverse("export_tasks") in page and reverse("export_ledger") in page
    assert ">Overview</a>" in page  # the staff nav link


def test_it_refreshes_only_the_live_fragment(
    client: Client, staff: Any, provider: FakeClient
) -> None:
    client.force_login(staff)
    response = client.get(URL, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="overview-live"')
    assert "<html" not in page
    assert "All clear" not in page and "Nothing needs attention" in page


def test_it_shows_a_provider_error_instead_of_failing(
    client: Client, staff: Any, provider: FakeClient
) -> None:
    provider.balance = RuntimeError("connection pool exploded")
    overview.refresh_provider_balance()
    client.force_login(staff)
    response = client.get(URL)
    assert response.status_code == 200
    assert "Could not read it: RuntimeError: connection pool exploded" in (
        response.content.decode()
    )


def test_it_warns_about_a_low_provider_balance(
    client: Client, staff: Any, provider: FakeClient
) -> None:
    provider.balance = 3.2
    overview.refresh_provider_balance()
    client.force_login(staff)
    page = client.get(URL).content.decode()
    assert "$3.20" in page
    assert "Low: below $20" in page


def test_it_does_not_query_per_row(
    client: Client,
    staff: Any,
    alice: Any,
    provider: FakeClient,
    django_assert_max_num_queries: Any,
) -> None:
    client.force_login(staff)
    client.get(URL)  # warm the balance cache and the poll plans
    now = timezone.now()
    for i in range(30):
        make_task(alice, State.UNKNOWN, now - dt.timedelta(minutes=i))
        make_task(alice, State.SUCCEEDED, now - dt.timedelta(days=i % 14))
    with django_assert_max_num_queries(25):
        assert client.get(URL).status_code == 200


@pytest.mark.parametrize(
    ("value", "top"), [(0, 4), (3, 4), (5, 8), (10, 12), (101, 120), (5187, 6000)]
)
def test_it_rounds_chart_axes_to_whole_steps(value: int, top: int) -> None:
    from generations.views.overview import nice_ceiling

    assert nice_ceiling(value) == top


def test_it_stacks_bars_in_proportion() -> None:
    from generations.views.overview import BarChart, bar_chart

    days = [dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
    chart = bar_chart(days, [[("a", 4, ""), ("b", 2, "")], [("a", 8, "")]], str)

    plot = BarChart.BASELINE - BarChart.TOP
    first, second = chart.columns
    assert [s.height for s in first.segments] == [plot / 2, plot / 4]
    assert first.segments[1].y == BarChart.BASELINE - plot * 3 / 4
    assert second.segments[0].height == plot  # 8 is the axis top
    assert (first.total, second.label) == (6, "Nov 20")
    assert [t.label for t in chart.ticks] == ["0", "2", "4", "6", "8"]


def test_it_never_calls_the_provider_from_the_overview(
    client: Client, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def no_provider_in_a_request(*args: Any) -> Any:
        calls.append("provider")
        raise AssertionError("a web request called the provider")

    monkeypatch.setattr(
        "generations.pipeline.common.get_client", no_provider_in_a_request
    )
    monkeypatch.setattr(
        "generations.apixo.client.ApixoClient.get_balance", no_provider_in_a_request
    )
    client.force_login(staff)
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get(URL, headers=headers)
        assert response.status_code == 200
        assert "no recent reading; is a worker running?" in response.content.decode()
    assert calls == []


def test_it_refreshes_the_balance_from_a_scheduled_worker_job(
    client: Client, staff: Any, provider: FakeClient
) -> None:
    from django_q.models import Schedule

    from generations import tasks

    job = Schedule.objects.get(func="generations.tasks.refresh_provider_balance")
    assert (job.schedule_type, job.minutes, job.repeats) == (Schedule.MINUTES, 1, -1)
    provider.balance = 41.5
    tasks.refresh_provider_balance()
    client.force_login(staff)
    assert "$41.50" in client.get(URL).content.decode()
    assert provider.calls == 1
