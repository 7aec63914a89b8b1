"""Random sequences of everything that moves credits, with the ledger's invariants
checked after every step (a Hypothesis rule-based state machine).

The pipeline runs for real (submit, poll, download, unknown resolution, sweep);
only the provider client seam and the byte-copying part of the download are
patched. Each example runs in a savepoint that is rolled back afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from generations import credits
from generations.apixo import client as api
from generations.models import (
    TERMINAL_STATES,
    CreditAccount,
    GenerationTask,
    LedgerEntry,
    State,
    VideoAsset,
)
from generations.models.tasks import transition
from generations.pipeline import dispatch, download, poll, submit, unknown
from generations.services import (
    GenerationParams,
    cancel_task,
    create_generations,
    retry_task,
)

MEMBERS = 2
GIVEN_BACK = (State.FAILED, State.CANCELLED)
POLLABLE = (State.WAITING, State.GENERATING)

variant = st.builds(
    GenerationParams,
    prompt=st.just("a paper boat on a rainy street, slow tracking shot"),
    resolution=st.sampled_from(["480p", "720p"]),
    duration=st.sampled_from([4, 8, 12]),
    sound=st.booleans(),
)
member_index = st.integers(0, MEMBERS - 1)

SUBMIT_OUTCOMES: dict[str, api.ProviderError | None] = {
    "accepted": None,
    "rejected": api.BadRequest("bad prompt", status=400, maybe_sent=False),
    "not sent": api.RateLimited("slow", status=429, retryable=True, maybe_sent=False),
    "maybe sent": api.TransportError("read timeout", retryable=True, maybe_sent=True),
}


def state_of(task_id: int) -> str:
    return GenerationTask.objects.values_list("state", flat=True).get(pk=task_id)


class LedgerMachine(RuleBasedStateMachine):
    tasks = Bundle("tasks")

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        # The fake provider: every accepted submission gets a new id; a status read
        # answers what the provider last said about that id (pending at first).
        self.client = mock.create_autospec(api.ApixoClient, instance=True)
        self.client.create_task.side_effect = self._provider_creates
        self.client.get_status.side_effect = self._provider_reads
        self.submit_outcome = "accepted"
        self.provider_says: dict[str, api.TaskStatus] = {}
        self.provider_ids = 0
        self.patches = [
            mock.patch(
                "generations.pipeline.submit.get_client", return_value=self.client
            ),
            mock.patch(
                "generations.pipeline.poll.get_client", return_value=self.client
            ),
            mock.patch("generations.pipeline.download._fetch_and_store"),
        ]
        self.fetch = [p.start() for p in self.patches][2]
        self.members = [User.objects.create(username=f"m{i}") for i in range(MEMBERS)]
        self.staff = User.objects.create(username="staff", is_staff=True)
        # Credits put in by grants and adjustments, per member (the model's side).
        self.put_in = {member.pk: 0 for member in self.members}
        for member in self.members:
            credits.grant(user=member, amount=150, reason="welcome", by=self.staff)
            self.put_in[member.pk] += 150
        # Copies of tasks as a worker loaded them, for stale replays.
        self.snapshots: dict[int, GenerationTask] = {}
        self.last_step: Callable[[], None] | None = None
        self.day = credits.utc_day_start()

    def teardown(self) -> None:
        for patch in reversed(self.patches):
            patch.stop()
        transaction.set_rollback(True)
        self.savepoint.__exit__(None, None, None)

    # -- helpers ------------------------------------------------------------------

    def _provider_creates(self, **request: Any) -> str:
        error = SUBMIT_OUTCOMES[self.submit_outcome]
        if error is not None:
            raise error
        return self.new_provider_id()

    def _provider_reads(self, provider_task_id: str) -> api.TaskStatus:
        default = api.TaskStatus(provider_task_id, "pending")
        return self.provider_says.get(provider_task_id, default)

    def new_provider_id(self) -> str:
        self.provider_ids += 1
        return f"prov-{self.provider_ids}"

    def balance(self, member: User) -> int:
        return CreditAccount.objects.values_list("balance", flat=True).get(user=member)

    def task(self, task_id: int) -> GenerationTask:
        return GenerationTask.objects.get(pk=task_id)

    def step(self, action: Callable[[], None]) -> None:
        """Run a pipeline action, remembered so a worker can replay it."""
        action()
        self.last_step = action

    def committed_today(self, member: User) -> int:
        """The model's view: every hold is today's; given-back holds do not count."""
        costs = GenerationTask.objects.filter(owner=member).exclude(
            state__in=GIVEN_BACK
        )
        return sum(costs.values_list("cost", flat=True))

    # -- staff --------------------------------------------------------------------

    @rule(who=member_index, amount=st.integers(1, 120))
    def grant(self, who: int, amount: int) -> None:
        member = self.members[who]
        credits.grant(user=member, amount=amount, reason="top-up", by=self.staff)
        self.put_in[member.pk] += amount

    @rule(who=member_index, amount=st.integers(-150, 150).filter(bool))
    def adjust(self, who: int, amount: int) -> None:
        member = self.members[who]
        before = self.balance(member)
        try:
            credits.adjust(user=member, amount=amount, reason="fix", by=self.staff)
        except credits.InsufficientCredits:
            assert before + amount < 0
            assert self.balance(member) == before
            return
        assert before + amount >= 0
        self.put_in[member.pk] += amount

    @rule(who=member_index, limit=st.none() | st.integers(0, 150))
    def set_daily_limit(self, who: int, limit: int | None) -> None:
        CreditAccount.objects.filter(user=self.members[who]).update(
            daily_credit_limit=limit
        )

    # -- members ------------------------------------------------------------------

    @rule(
        target=tasks,
        who=member_index,
        variants=st.lists(variant, min_size=1, max_size=3),
    )
    def submit(self, who: int, variants: list[GenerationParams]) -> Any:
        member = self.members[who]
        return self._create(
            member,
            variants,
            lambda: create_generations(owner=member, variants=variants),
        )

    @rule(target=tasks, task_id=tasks)
    def retry(self, task_id: int) -> Any:
        task = self.task(task_id)
        if task.state not in GIVEN_BACK:
            return multiple()  # the view offers retry only for these
        params = [
            GenerationParams(
                prompt=task.prompt,
                resolution=task.resolution,
                duration=task.duration,
                sound=task.sound,
                routing=task.routing,
            )
        ]
        return self._create(task.owner, params, lambda: [retry_task(task)])

    def _create(
        self,
        member: User,
        variants: list[GenerationParams],
        create: Callable[[], list[GenerationTask]],
    ) -> Any:
        needed = sum(v.cost() for v in variants)
        before = self.balance(member)
        limit = CreditAccount.objects.get(user=member).daily_credit_limit
        used = self.committed_today(member)
        count = GenerationTask.objects.count()
        try:
            created = create()
        except credits.CreditsRefused as exc:
            assert GenerationTask.objects.count() == count  # nothing queued
            assert self.balance(member) == before
            if self.day == credits.utc_day_start():
                if isinstance(exc, credits.InsufficientCredits):
                    assert needed > before
                else:
                    assert needed <= before
                    assert limit is not None and used + needed > limit
            return multiple()
        assert len(created) == len(variants)
        if variants and self.day == credits.utc_day_start():
            assert needed <= before
            assert limit is None or used + needed <= limit
        assert all(task.state == State.QUEUED for task in created)
        return multiple(*[task.pk for task in created])

    @rule(task_id=tasks)
    def cancel(self, task_id: int) -> None:
        was = state_of(task_id)
        assert cancel_task(self.task(task_id)) is (was == State.QUEUED)

    # -- the pipeline -------------------------------------------------------------
    # Two rules drive it: the natural next steps of a task, and any step out of
    # turn (a duplicate callback, a redelivered job, a stale worker).

    @rule(task_id=tasks, choices=st.lists(st.integers(0, 3), min_size=1, max_size=6))
    def provider_and_workers_move_on(self, task_id: int, choices: list[int]) -> None:
        for choice in choices:
            state = state_of(task_id)
            if state == State.QUEUED:
                outcomes = ["accepted", "accepted", "rejected", "maybe sent"]
                self.provider_receives_submission(task_id, outcomes[choice])
            elif state in POLLABLE:
                states = ["processing", "success", "success", "failed"]
                self.provider_reports(task_id, states[choice], expired=False)
            elif state == State.DOWNLOADING:
                self.download(task_id, ["stored", "stored", "gone", "crash"][choice])
            elif state == State.UNKNOWN:
                self.resolve_unknown(task_id, learned=choice < 2)

    @rule(
        task_id=tasks,
        action=st.sampled_from(
            ["submit", "report", "stale worker", "download", "resolve", "replay"]
        ),
        choice=st.integers(0, 3),
        expired=st.booleans(),
    )
    def something_happens_out_of_turn(
        self, task_id: int, action: str, choice: int, expired: bool
    ) -> None:
        if action == "submit":
            self.provider_receives_submission(task_id, sorted(SUBMIT_OUTCOMES)[choice])
        elif action == "report":
            states = ["pending", "processing", "success", "failed"]
            self.provider_reports(task_id, states[choice], expired)
        elif action == "stale worker":
            self.stale_worker_applies_status(task_id, ["success", "failed"][choice % 2])
        elif action == "download":
            self.download(task_id, ["stored", "gone", "crash"][choice % 3])
        elif action == "resolve":
            self.resolve_unknown(task_id, learned=choice < 2)
        elif self.last_step is not None:
            self.last_step()  # a worker replays the last job it ran

    def provider_receives_submission(self, task_id: int, outcome: str) -> None:
        was = state_of(task_id)
        calls = self.client.create_task.call_count
        self.submit_outcome = outcome
        self.step(lambda: submit.submit_task(task_id))
        sent = self.client.create_task.call_count - calls
        assert sent == (1 if was == State.QUEUED else 0)  # never sent twice
        if sent:
            expected = {
                "accepted": State.WAITING,
                "rejected": State.FAILED,
                "not sent": State.QUEUED,
                "maybe sent": State.UNKNOWN,
            }[outcome]
            assert state_of(task_id) == expected
            if expected == State.WAITING:
                self.snapshots[task_id] = self.task(task_id)

    def provider_reports(self, task_id: int, state: str, expired: bool) -> None:
        """The provider moves on; our status read (a poll, or the read a callback
        triggers) learns it."""
        known_as = self.task(task_id).provider_task_id
        if known_as is not None:
            finished = timezone.now() - dt.timedelta(days=20 if expired else 0)
            self.provider_says[known_as] = status(
                known_as, state, complete_time_ms=int(finished.timestamp() * 1000)
            )
        self.step(lambda: poll.poll_task(task_id))

    def stale_worker_applies_status(self, task_id: int, state: str) -> None:
        """A second worker that loaded the task earlier applies the same answer."""
        snapshot = self.snapshots.get(task_id)
        if snapshot is None or snapshot.provider_task_id is None:
            return
        answer = status(snapshot.provider_task_id, state)
        self.step(lambda: poll.apply_status(snapshot, answer))

    def download(self, task_id: int, outcome: str) -> None:
        task = self.task(task_id)
        if outcome == "crash" and task.state == State.DOWNLOADING:
            # A run that stored the video and died before the state change.
            VideoAsset.objects.get_or_create(task=task, defaults=video_fields(task))
            return
        if outcome == "stored":
            self.fetch.side_effect = lambda t: VideoAsset(task=t, **video_fields(t))
        else:
            self.fetch.side_effect = download.DownloadError("HTTP 410", permanent=True)
        self.step(lambda: download.download_result(task_id))

    def resolve_unknown(self, task_id: int, learned: bool) -> None:
        if learned:
            # A late callback named our task: the provider did create it.
            GenerationTask.objects.filter(
                pk=task_id, state=State.UNKNOWN, provider_task_id=None
            ).update(provider_task_id=self.new_provider_id())
        self.step(lambda: unknown.resolve_unknown(task_id))
        if state_of(task_id) == State.WAITING:
            self.snapshots.setdefault(task_id, self.task(task_id))

    @rule(task_id=tasks)
    def worker_dies_while_submitting(self, task_id: int) -> None:
        past = timezone.now() - dt.timedelta(minutes=10)
        if transition(
            task_id,
            State.QUEUED,
            State.SUBMITTING,
            "Sending to the provider",
            submitted_at=past,
            lease_until=past,
        ):
            dispatch.sweep()
            assert state_of(task_id) == State.UNKNOWN

    @rule(task_id=tasks)
    def worker_dies_before_settling(self, task_id: int) -> None:
        """The state changed but the capture or release never ran: the sweeper's
        settle_finished_tasks repairs it."""
        if transition(
            task_id, State.DOWNLOADING, State.SUCCEEDED, "stored, then crash"
        ) or transition(task_id, set(POLLABLE), State.FAILED, "failed, then crash"):
            assert credits.settle_finished_tasks() == 1
            assert credits.settle_finished_tasks() == 0

    # -- invariants ---------------------------------------------------------------

    @invariant()
    def the_ledger_is_right(self) -> None:
        """Checked after every step, in three queries."""
        tasks = list(
            GenerationTask.objects.values_list("pk", "owner_id", "state", "cost")
        )
        entries: dict[int, list[tuple[str, int]]] = {}
        for task_id, kind, amount in LedgerEntry.objects.filter(
            task__isnull=False
        ).values_list("task_id", "kind", "amount"):
            entries.setdefault(task_id, []).append((kind, amount))
        # Every task: one hold of its cost; settled once iff finished, captured iff
        # it succeeded.
        for task_id, _, state, cost in tasks:
            rows = entries.get(task_id, [])
            holds = [amount for kind, amount in rows if kind == "hold"]
            settlements = [(k, a) for k, a in rows if k in ("capture", "release")]
            assert holds == [-cost], (task_id, state, rows)
            if state in TERMINAL_STATES:
                expected = (
                    ("capture", 0) if state == State.SUCCEEDED else ("release", cost)
                )
                assert settlements == [expected], (task_id, state, rows)
            else:
                assert settlements == [], (task_id, state, rows)
        # Every account: balance == ledger sum >= 0, and (independently) what was
        # put in minus the cost of every task not given back.
        ledger_total = (
            LedgerEntry.objects.filter(account_id=OuterRef("pk"))
            .values("account_id")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        accounts = CreditAccount.objects.annotate(total=Subquery(ledger_total))
        for user_id, balance, total in accounts.values_list(
            "user_id", "balance", "total"
        ):
            kept = sum(
                c
                for _, owner, s, c in tasks
                if owner == user_id and s not in GIVEN_BACK
            )
            assert balance == total >= 0
            assert balance == self.put_in[user_id] - kept


def status(provider_task_id: str, state: str, **times: Any) -> api.TaskStatus:
    return api.TaskStatus(
        provider_task_id,
        state,
        result_urls=["https://r2.apixo.ai/v.mp4"] if state == "success" else [],
        fail_code="CONTENT_VIOLATION" if state == "failed" else "",
        **times,
    )


def video_fields(task: GenerationTask) -> dict[str, Any]:
    """A video as ordered (the delivery check finds nothing to charge less for)."""
    width, height = task.frame_size
    return {
        "file": "videos/v.mp4",
        "poster": "videos/v.jpg",
        "width": width,
        "height": height,
        "duration_seconds": float(task.duration),
        "has_audio": task.sound,
        "size_bytes": 1000,
        "sha256": "0" * 64,
    }


@pytest.mark.django_db
def test_it_keeps_the_ledger_right_whatever_happens() -> None:
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
