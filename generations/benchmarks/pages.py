"""The page benchmark behind ``bench_pages``: seed a large team, time the pages.

Runs inside a process whose default database is the benchmark's own (the command
prepares it). Each page is requested through Django's test client: the time is
the server's (URL routing, middleware, views, queries, templates), not network.
"""

from __future__ import annotations

import datetime as dt
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generations.benchmarks import seed
from generations.models import IN_FLIGHT_STATES, GenerationTask
from generations.views.dashboard import PAGE_SIZE

CHANGED_CARDS = 3


def measure(pages: dict[str, Callable[[], Any]], runs: int) -> dict[str, Any]:
    """Time each page ``runs`` times, the pages in turn (one request of each, then
    the next round): a stall of the machine then costs every page a request or
    two, instead of a run of one page's requests and so that page's p95."""
    gc.collect()  # the garbage of what ran before is not these pages'
    for call in pages.values():
        call()  # warm caches (templates, price table, query plans)
    times: dict[str, list[float]] = {name: [] for name in pages}
    queries: dict[str, int] = {}
    for _ in range(runs):
        for name, call in pages.items():
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = call()
                times[name].append((time.perf_counter() - started) * 1000)
            status = response.status_code
            if status != 200:
                raise RuntimeError(f"{response.request['PATH_INFO']} answered {status}")
            queries[name] = max(queries.get(name, 0), len(captured.captured_queries))
    return {name: _figures(times[name], queries[name]) for name in pages}


def _figures(times: list[float], queries: int) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, round(0.95 * len(times)) - 1)], 1),
        "queries": queries,
    }


def run(videos: int, in_flight: int, runs: int) -> dict[str, Any]:
    """Seed ``videos`` finished videos and ``in_flight`` tasks, time every page."""
    report: dict[str, Any] = compare([videos], in_flight, runs)["sizes"][str(videos)]
    return report


def compare(sizes: list[int], in_flight: int, runs: int) -> dict[str, Any]:
    """Seed the smallest size, time the pages, grow to the next size (older
    videos), time them again...; and the ratio of each page's p95 at the largest
    size to its p95 at the smallest."""
    sizes = sorted(set(sizes))
    total = sizes[-1]
    now = seed.now()
    started = time.perf_counter()
    people = seed.seed_people()
    member_ids = [m.pk for m in people["members"]]
    seed.seed_in_flight(member_ids, now, total, in_flight)
    seed_s = time.perf_counter() - started
    have = 0
    report: dict[str, Any] = {"database": connection.vendor, "sizes": {}}
    for size in sizes:
        started = time.perf_counter()
        # The newest ``size`` videos: growing adds older ones below them.
        seed.seed_videos(member_ids, now, total, total - size, total - have)
        seed.finish()
        seed_s += time.perf_counter() - started
        seed.settle()  # the seeding's writes reach the disk before any timing
        # The seeder's objects are not a web process's: out of the collector's
        # sight, so its passes during the timings cost what a server's would.
        gc.collect()
        gc.freeze()
        have = size
        report["sizes"][str(size)] = {
            "videos": size,
            "in_flight": in_flight,
            "refresh_changed_cards": CHANGED_CARDS,
            "members": seed.MEMBERS,
            "runs": runs,
            "seed_seconds": round(seed_s, 1),
            "database": connection.vendor,
            "pages": time_pages(people, total - size // 2, runs),
        }
    smallest = report["sizes"][str(sizes[0])]["pages"]
    largest = report["sizes"][str(total)]["pages"]
    report["ratio_p95"] = {
        name: round(largest[name]["p95_ms"] / smallest[name]["p95_ms"], 2)
        for name in largest
        if smallest.get(name, {}).get("p95_ms")
    }
    report["seed_seconds"] = round(seed_s, 1)
    return report


def time_pages(people: dict[str, Any], detail_id: int, runs: int) -> dict[str, Any]:
    member = Client(HTTP_HOST="localhost")
    member.force_login(people["members"][0])
    staff = Client(HTTP_HOST="localhost")
    staff.force_login(people["staff"])
    # A typical poll: of the member's 50 cards in flight, 3 changed since the last
    # poll (2 s ago); the page shows the newest 30 and sends their states.
    since = int(timezone.now().timestamp() * 1000)
    changed = GenerationTask.objects.filter(
        owner=people["members"][0], state__in=seed.IN_FLIGHT
    ).values_list("pk", flat=True)[:CHANGED_CARDS]
    GenerationTask.objects.filter(pk__in=list(changed)).update(
        updated_at=timezone.now() + dt.timedelta(seconds=1)
    )
    newest = GenerationTask.objects.order_by("-id").values_list("id", flat=True)[0]
    # The page's watch: the states of the cards it shows in flight (studio.js).
    shown = GenerationTask.objects.in_task_list_of(people["members"][0]).order_by("-id")
    watch = ",".join(
        f"{pk}.{state}"
        for pk, state in shown.values_list("pk", "state")[:PAGE_SIZE]
        if state in IN_FLIGHT_STATES
    )
    pages: dict[str, Callable[[], Any]] = {
        "dashboard": lambda: member.get("/"),
        "refresh": lambda: member.get(
            f"/tasks/refresh/?since={since}&after={newest}&watch={watch}",
            HTTP_HX_REQUEST="true",
        ),
        "gallery": lambda: member.get("/gallery/"),
        "gallery_filtered": lambda: member.get(
            "/gallery/?resolution=720p&aspect_ratio=16:9&duration=8&sound=on"
        ),
        "gallery_search": lambda: member.get("/gallery/?q=lighthouse"),
        "gallery_search_absent": lambda: member.get(f"/gallery/?q={seed.ABSENT_WORD}"),
        "detail": lambda: member.get(f"/videos/{detail_id}/"),
        "admin_tasks": lambda: staff.get("/admin/generations/generationtask/"),
    }
    if _route_exists("/staff/overview/"):
        pages["overview"] = lambda: staff.get("/staff/overview/")
    return measure(pages, runs)


def _route_exists(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        return False
    return True
