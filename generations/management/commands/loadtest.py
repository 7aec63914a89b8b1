"""A load test from a second process: N members browsing and submitting at once.

Each member is a thread with its own ``requests.Session``: it logs in, then loops
over the dashboard, the list's live refresh (as an open tab polls it), the gallery,
a video's detail page and poster, and now and then submits a job, with a short
think time between steps. It prints one JSON object: per-page p50/p95/max in
milliseconds, request and error counts, and samples of the errors.

The members (``loadtest-01``...) are created in the database this command is
configured for (the server's: same DATABASE_URL) unless ``--no-prepare``.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import requests
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from generations import credits

PASSWORD = "loadtest-password-7f3a"
REFRESH_RE = re.compile(r'hx-get="(/tasks/refresh/\?[^"]+)"')
VIDEO_RE = re.compile(r'href="/videos/(\d+)/"')
PROMPTS = [
    "a paper boat drifting down a rainy street, slow dolly in",
    "city lights reflected in a puddle, a bicycle passes, soft rain",
    "a red fox trotting through fresh snow at dawn, breath steaming",
    "waves rolling over black sand, gentle camera pan, distant gulls",
]


@dataclass
class Results:
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    submitted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, page: str, seconds: float, problem: str | None) -> None:
        with self.lock:
            self.timings[page].append(seconds)
            if problem:
                self.error_count += 1
                if len(self.errors) < 20:
                    self.errors.append(f"{page}: {problem}")


class Member:
    def __init__(
        self, base: str, username: str, results: Results, options: dict[str, Any]
    ) -> None:
        self.base = base.rstrip("/")
        self.username = username
        self.results = results
        self.think = float(options["think"])
        self.submit_chance = float(options["submit_chance"])
        self.session = requests.Session()
        self.rng = random.Random(username)
        self.refresh_url = ""
        self.video_ids: list[str] = []

    def request(
        self, page: str, method: str, path: str, **kwargs: Any
    ) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = self.session.request(
                method, self.base + path, timeout=30, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            self.results.record(page, time.perf_counter() - started, type(exc).__name__)
            return None
        problem = (
            f"HTTP {response.status_code}" if response.status_code >= 400 else None
        )
        self.results.record(page, time.perf_counter() - started, problem)
        return response

    def csrf(self) -> dict[str, str]:
        return {
            "X-CSRFToken": self.session.cookies.get("csrftoken") or "",
            "Referer": self.base + "/",
        }

    def log_in(self) -> bool:
        self.request("login_page", "GET", "/login/")
        response = self.request(
            "login",
            "POST",
            "/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.session.cookies.get("csrftoken", ""),
            },
            headers={"Referer": self.base + "/login/"},
        )
        return response is not None and response.status_code == 302

    def pause(self) -> None:
        time.sleep(self.rng.uniform(0.5, 1.5) * self.think)

    def dashboard(self) -> None:
        response = self.request("dashboard", "GET", "/")
        if response is not None and response.ok:
            found = REFRESH_RE.search(response.text)
            self.refresh_url = found.group(1).replace("&amp;", "&") if found else ""

    def refresh(self) -> None:
        if self.refresh_url:
            self.request(
                "refresh", "GET", self.refresh_url, headers={"HX-Request": "true"}
            )

    def gallery(self) -> None:
        response = self.request("gallery", "GET", "/gallery/")
        if response is not None and response.ok:
            self.video_ids = VIDEO_RE.findall(response.text)

    def detail(self) -> None:
        if not self.video_ids:
            return
        pk = self.rng.choice(self.video_ids)
        self.request("detail", "GET", f"/videos/{pk}/")
        self.request("poster", "GET", f"/media/posters/{pk}.jpg")

    def submit(self) -> None:
        response = self.request(
            "submit",
            "POST",
            "/tasks/",
            data={
                "mode": "text-to-video",
                "prompt": self.rng.choice(PROMPTS),
                "resolution": "480p",
                "duration": "4",
                "aspect_ratio": self.rng.choice(["16:9", "9:16", "1:1"]),
                "routing": "auto",
                "delivery": "polling",
            },
            headers={"HX-Request": "true", **self.csrf()},
        )
        if response is not None and response.status_code == 200:
            with self.results.lock:
                self.results.submitted += 1

    def run(self, deadline: float) -> None:
        if not self.log_in():
            return
        while time.monotonic() < deadline:
            self.dashboard()
            for _ in range(3):
                self.pause()
                self.refresh()
            self.pause()
            self.gallery()
            self.pause()
            self.detail()
            if self.rng.random() < self.submit_chance:
                self.pause()
                self.submit()
                self.refresh()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(results: Results, seconds: float) -> dict[str, Any]:
    pages = {
        page: {
            "count": len(values),
            "p50_ms": round(percentile(values, 0.50) * 1000, 1),
            "p95_ms": round(percentile(values, 0.95) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1),
        }
        for page, values in sorted(results.timings.items())
    }
    total = sum(len(values) for values in results.timings.values())
    return {
        "requests": total,
        "errors": results.error_count,
        "requests_per_second": round(total / max(seconds, 0.001), 1),
        "submitted": results.submitted,
        "pages": pages,
        "error_samples": results.errors,
    }


class Command(BaseCommand):
    help = "Simulate members browsing and submitting; print per-page latencies."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--members", type=int, default=50)
        parser.add_argument("--seconds", type=float, default=120.0)
        parser.add_argument("--think", type=float, default=1.0, help="mean pause, s")
        parser.add_argument(
            "--submit-chance",
            type=float,
            default=0.2,
            help="chance per loop that a member submits a job",
        )
        parser.add_argument("--credits", type=int, default=100_000)
        parser.add_argument(
            "--no-prepare",
            action="store_true",
            help="the loadtest-NN members already exist on the server",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        names = [f"loadtest-{n:02d}" for n in range(1, options["members"] + 1)]
        if not options["no_prepare"]:
            prepare_members(names, options["credits"])
        results = Results()
        started = time.monotonic()
        deadline = started + options["seconds"]
        threads = []
        for n, name in enumerate(names):
            member = Member(options["url"], name, results, options)
            thread = threading.Thread(target=member.run, args=(deadline,), daemon=True)
            threads.append(thread)
            thread.start()
            if n % 10 == 9:
                time.sleep(0.2)  # a short ramp: not every log-in in one instant
        for thread in threads:
            thread.join(options["seconds"] + 60)
        report = {
            "url": options["url"],
            "members": options["members"],
            "seconds": options["seconds"],
            **summary(results, time.monotonic() - started),
        }
        self.stdout.write(json.dumps(report, indent=2))


def prepare_members(names: list[str], balance: int) -> None:
    users = get_user_model()
    for name in names:
        user, created = users.objects.get_or_create(username=name)
        if created or not user.check_password(PASSWORD):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        have = credits.account_for(user).balance
        if have < balance // 2:
            credits.grant(user=user, amount=balance - have, reason="load test")
