"""The page benchmark behind ``bench_pages``: seed a large team, time the pages.

Runs inside a process whose default database is the benchmark's own (the command
prepares it). Each page is requested through Django's test client: the time is
the server's (URL routing, middleware, views, queries, templates), not network.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generations.apixo import contract
from generations.models import CreditAccount, GenerationTask, State, VideoAsset

MEMBERS = 20
CHANGED_CARDS = 3
WORDS = [
    *[
        "lighthouse",
        "storm",
        "fox",
        "snow",
        "city",
        "neon",
        "rain",
        "ocean",
        "waves",
        "forest",
        "drone",
        "sunrise",
    ],
    *[
        "desert",
        "camel",
        "robot",
        "garden",
        "dancer",
        "market",
        "train",
        "bridge",
        "cat",
        "coffee",
    ],
]
IN_FLIGHT = (State.QUEUED, State.WAITING, State.GENERATING, State.DOWNLOADING)


def seed(videos: int, in_flight: int) -> dict[str, Any]:
    """Members, finished videos (rows only: pages never open the files), tasks in
    flight. Returns what the page requests need."""
    rng = random.Random(42)
    users = get_user_model()
    members = [
        users.objects.create_user(f"member{i}", password="bench")
        for i in range(MEMBERS)
    ]
    users.objects.create_user(
        "staff", password="bench", is_staff=True, is_superuser=True
    )
    CreditAccount.objects.bulk_create(
        [CreditAccount(user=m, balance=100_000) for m in members]
    )
    now = timezone.now()
    batch = 5000
    for start in range(0, videos, batch):
        count = min(batch, videos - start)
        tasks = [_task(rng, members, now, start + i, videos) for i in range(count)]
        created = GenerationTask.objects.bulk_create(tasks)
        VideoAsset.objects.bulk_create([_video(task) for task in created])
    GenerationTask.objects.bulk_create(
        [
            _task(rng, members, now, i, in_flight, state=IN_FLIGHT[i % len(IN_FLIGHT)])
            for i in range(in_flight)
        ]
    )
    some_video = VideoAsset.objects.order_by("-id").values_list("task_id", flat=True)[
        videos // 2
    ]
    return {"member": members[0], "staff": users.objects.get(username="staff"),
            "detail_id": some_video}  # fmt: skip


def _task(
    rng: random.Random,
    members: list[Any],
    now: dt.datetime,
    i: int,
    total: int,
    state: str = State.SUCCEEDED,
) -> GenerationTask:
    duration = rng.choice(contract.DURATIONS)
    created = now - dt.timedelta(minutes=(total - i) * 3)
    words = " ".join(rng.choice(WORDS) for _ in range(8))
    return GenerationTask(
        owner=members[i % len(members)],
        state=state,
        mode="text-to-video",
        prompt=f"A cinematic shot: {words}, slow dolly in",
        resolution=rng.choice(contract.RESOLUTIONS),
        duration=duration,
        sound=rng.random() < 0.5,
        aspect_ratio=rng.choice(contract.ASPECT_RATIOS),
        cost=duration * 2,
        created_at=created,
        submitted_at=created + dt.timedelta(seconds=2),
        provider_created_at=created + dt.timedelta(seconds=2),
        provider_completed_at=created + dt.timedelta(seconds=70),
        provider_cost_ms=68_000,
        finished_at=created + dt.timedelta(seconds=80)
        if state == State.SUCCEEDED
        else None,
        provider_task_id=f"bench_{state}_{i}",
        next_action_at=None
        if state == State.SUCCEEDED
        else now + dt.timedelta(hours=1),
    )


def _video(task: GenerationTask) -> VideoAsset:
    width, height = contract.frame_size(task.resolution, task.aspect_ratio)
    return VideoAsset(
        task=task,
        file=f"videos/bench/task-{task.pk}.mp4",
        poster=f"videos/bench/task-{task.pk}.jpg",
        width=width,
        height=height,
        duration_seconds=float(task.duration),
        has_audio=task.sound,
        size_bytes=1_000_000,
        sha256="0" * 64,
        created_at=task.finished_at or task.created_at,
    )


def measure(call: Callable[[], Any], runs: int) -> dict[str, float]:
    call()  # warm caches (templates, price table, query plans)
    times = []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = call()
            times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
        if status != 200:
            raise RuntimeError(f"{response.request['PATH_INFO']} answered {status}")
        queries = len(captured.captured_queries)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, round(0.95 * len(times)) - 1)], 1),
        "queries": queries,
    }


def run(videos: int, in_flight: int, runs: int) -> dict[str, Any]:
    started = time.perf_counter()
    cast = seed(videos, in_flight)
    seeded_s = round(time.perf_counter() - started, 1)
    member = Client(HTTP_HOST="localhost")
    member.force_login(cast["member"])
    staff = Client(HTTP_HOST="localhost")
    staff.force_login(cast["staff"])
    # A typical poll: of the member's 50 cards in flight, 3 changed since the last
    # poll (2 s ago).
    since = int(timezone.now().timestamp() * 1000)
    changed = GenerationTask.objects.filter(
        owner=cast["member"], state__in=IN_FLIGHT
    ).values_list("pk", flat=True)[:CHANGED_CARDS]
    GenerationTask.objects.filter(pk__in=list(changed)).update(
        updated_at=timezone.now() + dt.timedelta(seconds=1)
    )
    newest = GenerationTask.objects.order_by("-id").values_list("id", flat=True)[0]
    pages: dict[str, Callable[[], Any]] = {
        "dashboard": lambda: member.get("/"),
        "refresh": lambda: member.get(
            f"/tasks/refresh/?since={since}&after={newest}",
            HTTP_HX_REQUEST="true",
        ),
        "gallery": lambda: member.get("/gallery/"),
        "gallery_filtered": lambda: member.get(
            "/gallery/?resolution=720p&aspect_ratio=16:9&duration=8&sound=on"
        ),
        "gallery_search": lambda: member.get("/gallery/?q=lighthouse"),
        "detail": lambda: member.get(f"/videos/{cast['detail_id']}/"),
        "admin_tasks": lambda: staff.get("/admin/generations/generationtask/"),
    }
    if _route_exists("/staff/overview/"):
        pages["overview"] = lambda: staff.get("/staff/overview/")
    results = {name: measure(call, runs) for name, call in pages.items()}
    return {
        "videos": videos,
        "in_flight": in_flight,
        "refresh_changed_cards": CHANGED_CARDS,
        "members": MEMBERS,
        "runs": runs,
        "seed_seconds": seeded_s,
        "database": connection.vendor,
        "pages": results,
    }


def _route_exists(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        return False
    return True
