"""Screenshots of the studio's pages, light and dark, desktop and phone.

``python manage.py screenshots`` (``make screenshots``) never touches the
developer's database: it re-runs itself with ``VAR_DIR`` pointing at a temporary
directory (its own SQLite file, media and cache), migrates and seeds that, starts
``runserver`` on a free port, logs in with headless Chromium and writes PNGs into
``var/screenshots/<language>/`` (``en`` and ``ru``: the browser asks for the
language, as a member's would). The temporary directory is removed afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from generations import credits, media_store, services, sharing
from generations.apixo import contract
from generations.management.commands._screenshots_browser import (
    PASSWORD,
    serve,
    shoot,
)
from generations.models import (
    Favourite,
    Film,
    GenerationTask,
    Preset,
    Shot,
    State,
    Storyboard,
    TaskTransition,
    VideoAsset,
)
from generations.models.storyboards import FILM_GAVE_UP
from generations.storyboards import driver
from generations.storyboards import services as boards

FINISHED: list[tuple[str, str, str, int, bool, int]] = [
    # (prompt, aspect ratio, resolution, duration, sound, owner index)
    (
        "A red fox trots through fresh snow at dawn, slow dolly in",
        "16:9",
        "720p",
        8,
        True,
        0,
    ),
    (
        "Neon rain on a Tokyo side street at night, handheld pan left",
        "9:16",
        "480p",
        4,
        True,
        1,
    ),
    (
        "A lighthouse in a storm, waves crashing over the rocks",
        "21:9",
        "720p",
        12,
        True,
        0,
    ),
    (
        "Steam rising from a cup of coffee on a wooden table, fixed lens",
        "1:1",
        "480p",
        4,
        False,
        2,
    ),
    ("A paper boat drifting down a rainy street, low angle", "4:3", "480p", 8, True, 0),
    (
        "Hot air balloons over Cappadocia at sunrise, drone orbit",
        "16:9",
        "480p",
        8,
        False,
        1,
    ),
    (
        "A dancer spinning in a sunlit studio, dust in the light",
        "3:4",
        "480p",
        4,
        True,
        2,
    ),
    ("Waves rolling onto a black sand beach, slow motion", "9:16", "480p", 8, True, 0),
    (
        "A robot watering plants on a balcony garden, soft piano",
        "1:1",
        "480p",
        4,
        True,
        1,
    ),
    (
        "Autumn leaves falling in a quiet park, gentle wind",
        "16:9",
        "480p",
        12,
        False,
        0,
    ),
]


class Command(BaseCommand):
    help = (
        "Seed a throwaway database, run the site and write screenshots of every "
        "page, in every language, into var/screenshots/<language>/."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out",
            default=str(Path(settings.BASE_DIR) / "var" / "screenshots"),
            help="Directory for the PNG files (default var/screenshots/).",
        )
        parser.add_argument(
            "--chromium",
            default=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            help="The Chromium binary (Debian's by default).",
        )
        # Set by the command itself when it re-runs inside the throwaway VAR_DIR.
        parser.add_argument("--inside", action="store_true", help="(internal)")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"]).resolve()
        chromium = str(options["chromium"])
        if not Path(chromium).exists():
            raise CommandError(f"Chromium not found at {chromium} (make chromium).")
        if options["inside"]:
            self._inside(out, chromium)
        else:
            self._relaunch(out, chromium)

    # ---------- Outside: a throwaway VAR_DIR ----------

    def _relaunch(self, out: Path, chromium: str) -> None:
        scratch = Path(tempfile.mkdtemp(prefix="seedance-screenshots-"))
        env = _scratch_env(scratch)
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        try:
            subprocess.run(
                [*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True
            )
            subprocess.run(
                [*manage, "screenshots", "--inside", "--out", str(out)]
                + ["--chromium", chromium],
                env=env,
                check=True,
            )
        except subprocess.CalledProcessError as exc:
            raise CommandError(f"Screenshots failed (exit {exc.returncode}).") from None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    # ---------- Inside: seed, serve, shoot ----------

    def _inside(self, out: Path, chromium: str) -> None:
        real_var = (Path(settings.BASE_DIR) / "var").resolve()
        if Path(settings.VAR_DIR).resolve() == real_var:
            raise CommandError("Refusing to seed the developer's var/ directory.")
        started = time.monotonic()
        pages = seed()
        out.mkdir(parents=True, exist_ok=True)
        with serve() as base_url:
            written = shoot(base_url, out, chromium, pages)
        for path in written:
            self.stdout.write(f"  {path}")
        seconds = time.monotonic() - started
        self.stdout.write(f"Wrote {len(written)} screenshots in {seconds:.0f} s.")


def _scratch_env(scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Everything stateful goes to the scratch directory: SQLite, media, cache.
    for name in ("DATABASE_URL", "MEDIA_ROOT", "REDIS_URL", "APIXO_API_KEY"):
        env.pop(name, None)
    env.update(
        VAR_DIR=str(scratch),
        DEBUG="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_ALLOW_ASYNC_UNSAFE="true",
    )
    return env


# ---------- Seed ----------


def seed() -> dict[str, str]:
    """A small team with finished videos and tasks in every state; the pages."""
    users = get_user_model().objects
    team = [
        users.create_user(name, password=PASSWORD) for name in ("maya", "leo", "ana")
    ]
    for member in team:
        credits.grant(user=member, amount=1000, reason="Screenshots")
    now = timezone.now()
    # Created oldest first, as a real team made them: ids grow with time.
    finished: list[GenerationTask] = []
    for i, (prompt, aspect, resolution, duration, sound, owner) in reversed(
        list(enumerate(FINISHED))
    ):
        finished_at = now - dt.timedelta(hours=3 * i + 1)
        finished.insert(
            0,
            _finished(
                team[owner], finished_at, prompt, aspect, resolution, duration, sound
            ),
        )
    for task in finished[:4:2]:
        Favourite.objects.create(user=team[0], task=task)
    _in_flight(team[0], now)
    Preset.objects.create(
        owner=team[0],
        name="Vertical teaser",
        params={"mode": "text-to-video", "resolution": "720p", "duration": 4,
                "aspect_ratio": "9:16", "extra_aspect_ratios": [],
                "extra_durations": [], "sound": True, "fixed_lens": False,
                "routing": "auto", "delivery": "polling"},
    )  # fmt: skip
    return _pages(team[0], finished)


def _pages(maya: User, finished: list[GenerationTask]) -> dict[str, str]:
    """Every page kind, with something on it (maya is staff: the overview too)."""
    maya.is_staff = True
    maya.save(update_fields=["is_staff"])
    own = [task for task in finished if task.owner_id == maya.pk]
    reel = sharing.create_collection(owner=maya, title="Winter reel")
    sharing.add_to_collection(
        owner=maya, collection=reel, videos=[task.video for task in own]
    )
    video_token = sharing.create_link(owner=maya, video=own[0].video).token
    reel_token = sharing.create_link(owner=maya, collection=reel).token
    board = _storyboard(maya, own[-1])
    return {
        "dashboard": "/",
        "gallery": "/gallery/",
        "detail": f"/videos/{finished[0].pk}/",
        "collections": "/collections/",
        "collection": f"/collections/{reel.pk}/",
        "links": "/links/",
        "credits": "/credits/",
        "overview": "/staff/overview/",
        "public-video": f"/s/{video_token}/",
        "public-collection": f"/s/{reel_token}/",
        "storyboards": "/storyboards/",
        "storyboard": f"/storyboards/{board}/",
    }


def _storyboard(maya: User, take: GenerationTask) -> int:
    """A board half made: a shot with its take, the next paused for credits (as
    the driver pauses it), one waiting, and a film version that failed."""
    board = boards.create_board(
        owner=maya, title="Lighthouse teaser", aspect_ratio="16:9",
        resolution="720p", sound=True, routing="auto",
    )  # fmt: skip
    shots = [
        boards.add_shot(owner=maya, board=board, prompt=prompt, duration=4, start=start)
        for start, prompt in (
            ("text", "A lighthouse on a cliff at dusk, waves crashing below"),
            ("continue", "The camera climbs the spiral stairs inside the tower"),
            ("continue", "The lamp turns on, its beam sweeping the dark sea"),
        )
    ]
    GenerationTask.objects.filter(pk=take.pk).update(shot=shots[0])
    Shot.objects.filter(pk=shots[0].pk).update(chosen_take=take)
    Shot.objects.filter(pk__in=[s.pk for s in shots[1:]]).update(wanted=True)
    Storyboard.objects.filter(pk=board.pk).update(state=Storyboard.State.RUNNING)
    needed = boards.shot_params(shots[1]).cost()
    driver.hold_for_credits(shots[1], credits.InsufficientCredits(needed, 12))
    Film.objects.create(
        board=board, version=1, state=Film.State.FAILED, error=FILM_GAVE_UP,
        finished_at=timezone.now(),
    )  # fmt: skip
    return int(board.pk)


def _finished(
    owner: User,
    finished_at: dt.datetime,
    prompt: str,
    aspect_ratio: str,
    resolution: str,
    duration: int,
    sound: bool,
) -> GenerationTask:
    from generations.apixo.simulator.video import VideoSpec, render_mp4
    from generations.pipeline.media import write_poster

    task = GenerationTask.objects.create(
        owner=owner,
        prompt=prompt,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        duration=duration,
        sound=sound,
        state=State.SUCCEEDED,
        cost=credits.cost_of(resolution=resolution, sound=sound, duration=duration),
        created_at=finished_at - dt.timedelta(seconds=95),
        submitted_at=finished_at - dt.timedelta(seconds=90),
        finished_at=finished_at,
        provider_cost_ms=71_000,
    )
    work = media_store.scratch_dir()
    video, poster = work / f"screens-{task.pk}.mp4", work / f"screens-{task.pk}.jpg"
    # Short files: only the poster shows in a screenshot.
    spec = VideoSpec.for_task(
        resolution="480p",
        aspect_ratio=aspect_ratio,
        duration=4,
        sound=False,
        prompt=prompt,
    )
    render_mp4(spec, video)
    write_poster(video, poster, at_seconds=2.0)
    size = video.stat().st_size
    name, poster_name = f"videos/screens/{task.pk}.mp4", f"videos/screens/{task.pk}.jpg"
    media_store.store(video, name, content_type="video/mp4")
    media_store.store(poster, poster_name, content_type="image/jpeg")
    video.unlink(missing_ok=True)
    poster.unlink(missing_ok=True)
    width, height = contract.frame_size(resolution, aspect_ratio)
    VideoAsset.objects.create(
        task=task,
        file=name,
        poster=poster_name,
        width=width,
        height=height,
        duration_seconds=float(duration),
        has_audio=sound,
        size_bytes=size,
        sha256="0" * 64,
        created_at=finished_at,
    )
    return task


def _in_flight(owner: User, now: dt.datetime) -> None:
    """Cards in the states a member meets: generating, waiting, queued, failed."""
    specs = [
        ("A koi pond in the rain, ripples spreading, macro lens", "1:1", State.QUEUED),
        ("Northern lights over a frozen lake, time-lapse", "16:9", State.WAITING),
        ("A chef tossing noodles in a wok, flames, close-up", "9:16", State.GENERATING),
    ]
    for prompt, aspect, state in specs:
        params = services.GenerationParams(
            prompt=prompt, aspect_ratio=aspect, duration=8, resolution="720p"
        )
        [task] = services.create_generations(owner=owner, variants=[params])
        if state != State.QUEUED:
            GenerationTask.objects.filter(pk=task.pk).update(
                state=state, submitted_at=now - dt.timedelta(seconds=40)
            )
    failed = GenerationTask.objects.create(
        owner=owner,
        prompt="A crowded stadium cheering for a famous singer on stage",
        aspect_ratio="16:9",
        cost=32,
        state=State.FAILED,
        created_at=now - dt.timedelta(minutes=9),
        finished_at=now - dt.timedelta(minutes=8),
        fail_code="CONTENT_VIOLATION",
        fail_message="The prompt names a real person.",
    )
    TaskTransition.objects.create(task=failed, to_state=State.FAILED, reason="seed")
