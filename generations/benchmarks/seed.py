"""Bulk seeding for the page benchmark: a million rows in minutes, not a quarter hour.

Rows are built as plain tuples (no model instances) and written in large batches:
``COPY`` on PostgreSQL, ``executemany`` on SQLite. Ids are given, not generated,
so that a run can seed the newest 100,000 videos first, measure, and then grow
the table to 1,000,000 with older ones while id order stays time order (the
gallery and the admin list the newest first by id).

Task ``i`` of ``total`` (0 is the oldest) has id ``i + 1`` and was created
``(total - i) * SPACING`` before now; its video has the same id. The tasks in
flight come after the videos (ids ``total + 1 ...``), created in the last hours.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import uuid
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from generations.apixo import contract
from generations.models import CreditAccount, GenerationTask, State, VideoAsset

log = logging.getLogger(__name__)

MEMBERS = 20
BATCH = 5  # tasks in flight per batch (a create with variants)
# One task every three minutes: 14 days hold the same 6,720 tasks at any size.
SPACING = dt.timedelta(minutes=3)
# Distinct prompts and parameter sets the seeded videos draw from.
POOL = 10_007  # a prime: task i takes entry (i % POOL) * POOL_STEP % POOL
POOL_STEP = 7919
SQL_BATCH = 100_000
ENGLISH_WORDS = [
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
]
RUSSIAN_WORDS = [
    "маяк",
    "шторм",
    "лиса",
    "снег",
    "город",
    "неон",
    "дождь",
    "океан",
    "волны",
    "лес",
    "закат",
    "пустыня",
    "верблюд",
    "робот",
    "сад",
    "танцовщица",
    "рынок",
    "поезд",
    "мост",
    "кошка",
    "кофе",
]
# One prompt in this many is in Russian.
RUSSIAN_EVERY = 5
# A word no prompt contains (the gallery's absent-word search).
ABSENT_WORD = "zeppelin"
IN_FLIGHT = (State.QUEUED, State.WAITING, State.GENERATING, State.DOWNLOADING)


def seed_people() -> dict[str, Any]:
    """The 20 members with credit accounts, and one staff account."""
    users = get_user_model()
    password = make_password("bench")  # hashed once: hashing is slow by design
    members = users.objects.bulk_create(
        [users(username=f"member{i}", password=password) for i in range(MEMBERS)]
    )
    staff = users.objects.create(
        username="staff", password=password, is_staff=True, is_superuser=True
    )
    CreditAccount.objects.bulk_create(
        [CreditAccount(user=m, balance=100_000) for m in members]
    )
    return {"members": members, "staff": staff}


def seed_videos(
    member_ids: Sequence[int], now: dt.datetime, total: int, first: int, last: int
) -> None:
    """Finished tasks ``first`` .. ``last - 1`` of ``total``, each with its video
    (rows only: the pages never open the files).

    The rows are made by the database itself (``INSERT ... SELECT`` over a series
    of numbers), their prompts and parameters drawn from a pool of ``POOL`` rows
    made here: a million rows in about a minute instead of a quarter hour.
    """
    owners = sorted(member_ids)
    if owners != list(range(owners[0], owners[0] + len(owners))):
        raise RuntimeError("the seeded members' ids are not consecutive")
    with connection.cursor() as cursor:
        _make_pool(cursor)
        for start in range(first, last, SQL_BATCH):
            stop = min(last, start + SQL_BATCH)
            with transaction.atomic():
                _insert_series(
                    cursor,
                    GenerationTask,
                    _task_columns(owners[0], now, total),
                    start,
                    stop,
                )
                _insert_series(
                    cursor, VideoAsset, _video_columns(now, total), start, stop
                )
        cursor.execute("DROP TABLE bench_pool")


def seed_in_flight(
    member_ids: Sequence[int], now: dt.datetime, total: int, count: int
) -> None:
    """``count`` tasks in flight, newest of all (ids after the videos')."""
    rows = []
    for k in range(count):
        row = _task_row(member_ids, now, count, k, IN_FLIGHT[k % len(IN_FLIGHT)])
        row["id"] = total + 1 + k
        row["provider_task_id"] = f"bench_flight_{k}"
        row["finished_at"] = None
        row["next_action_at"] = now + dt.timedelta(hours=1)
        # A member's tasks in flight come in batches, as a create with several
        # variants makes them (the Studio then reads each batch's states).
        owner = k % len(member_ids)
        row["batch"] = uuid.UUID(int=(owner + 1) << 32 | k // (len(member_ids) * BATCH))
        rows.append(row)
    _insert(GenerationTask, rows)


def finish() -> None:
    """What a live database has after such growth: planner statistics, sequences
    past the given ids."""
    # One transaction per batch: in autocommit every row would be its own.
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in (GenerationTask, VideoAsset):
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")


def settle() -> None:
    """Write the seeding out before pages are timed: SQLite's write-ahead log
    folded into the database, PostgreSQL's tables vacuumed, and the system's dirty
    pages flushed, so the timings do not share the machine with the seeding's
    aftermath (write-back, autovacuum)."""
    if connection.in_atomic_block:  # a test's transaction: nothing to write out
        return
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            # What autovacuum would start on its own after so many inserts, in the
            # middle of the timings: done now (outside a transaction).
            for model in (GenerationTask, VideoAsset):
                cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
            # The inserts and the vacuum left shared buffers dirty: without this
            # the checkpointer writes them out during the timings (a checkpoint
            # is spread over minutes), as SQLite's WAL checkpoint above avoids.
            try:
                cursor.execute("CHECKPOINT")  # autocommit: a refusal aborts nothing
            except DatabaseError:
                log.warning("no CHECKPOINT (needs a superuser or pg_checkpoint)")
    os.sync()


def _make_pool(cursor: Any) -> None:
    rng = random.Random(42)
    cursor.execute(
        "CREATE TEMPORARY TABLE bench_pool (n integer PRIMARY KEY, prompt text, "
        "resolution varchar(8), duration integer, sound boolean, "
        "aspect_ratio varchar(8), width integer, height integer)"
    )
    rows = []
    for n in range(POOL):
        words = RUSSIAN_WORDS if n % RUSSIAN_EVERY == 0 else ENGLISH_WORDS
        prompt = " ".join(rng.choice(words) for _ in range(8))
        resolution = rng.choice(contract.RESOLUTIONS)
        ratio = rng.choice(contract.ASPECT_RATIOS)
        width, height = contract.frame_size(resolution, ratio)
        rows.append((n, f"A cinematic shot: {prompt}, slow dolly in", resolution,
                     rng.choice(contract.DURATIONS), rng.random() < 0.5, ratio,
                     width, height))  # fmt: skip
    cursor.executemany(
        "INSERT INTO bench_pool VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows
    )


def _moment(now: dt.datetime, total: int, plus_seconds: int) -> str:
    """SQL for task ``s.i``'s creation time plus some seconds, as Django stores it."""
    base = int(now.timestamp())
    seconds = (
        f"{base} - ({total} - s.i) * {int(SPACING.total_seconds())} + {plus_seconds}"
    )
    if connection.vendor == "postgresql":
        return f"to_timestamp({seconds})"
    return f"datetime({seconds}, 'unixepoch')"


def _task_columns(first_owner: int, now: dt.datetime, total: int) -> dict[str, str]:
    return {
        "id": "s.i + 1",
        "owner_id": f"{first_owner} + s.i %% {MEMBERS}",
        "state": f"'{State.SUCCEEDED}'",
        "mode": "'text-to-video'",
        "prompt": "p.prompt",
        "resolution": "p.resolution",
        "duration": "p.duration",
        "sound": "p.sound",
        "aspect_ratio": "p.aspect_ratio",
        "cost": "p.duration * 2",
        "created_at": _moment(now, total, 0),
        "updated_at": _moment(now, total, 80),
        "state_changed_at": _moment(now, total, 80),
        "submitted_at": _moment(now, total, 2),
        "provider_created_at": _moment(now, total, 2),
        "provider_completed_at": _moment(now, total, 70),
        "provider_cost_ms": "68000",
        "finished_at": _moment(now, total, 80),
        "provider_task_id": "'bench_' || s.i",
    }


def _video_columns(now: dt.datetime, total: int) -> dict[str, str]:
    return {
        "id": "s.i + 1",
        "task_id": "s.i + 1",
        "file": "'videos/bench/task-' || (s.i + 1) || '.mp4'",
        "poster": "'videos/bench/task-' || (s.i + 1) || '.jpg'",
        "width": "p.width",
        "height": "p.height",
        "duration_seconds": "p.duration * 1.0",
        "has_audio": "p.sound",
        "size_bytes": "1000000",
        "sha256": "'" + "0" * 64 + "'",
        "created_at": _moment(now, total, 80),
    }


def _insert_series(
    cursor: Any, model: type[models.Model], given: dict[str, str], start: int, stop: int
) -> None:
    """Rows ``start`` .. ``stop - 1`` of ``model``: the ``given`` SQL expressions
    of ``s.i`` and the pool row ``p``; every other column its default."""
    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        columns.append(connection.ops.quote_name(str(field.column)))
        if field.attname in given:
            expressions.append(given[field.attname])
        else:
            expressions.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    if connection.vendor == "postgresql":
        series = f"generate_series({start}, {stop - 1}) AS s(i)"
    else:
        series = (
            f"(WITH RECURSIVE n(i) AS (SELECT {start} UNION ALL SELECT i + 1 "
            f"FROM n WHERE i < {stop - 1}) SELECT i FROM n) AS s"
        )
    cursor.execute(
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} "
        f"({', '.join(columns)}) SELECT {', '.join(expressions)} FROM {series} "
        f"JOIN bench_pool p ON p.n = ((s.i %% {POOL}) * {POOL_STEP}) %% {POOL}",
        params,
    )


def _task_row(
    member_ids: Sequence[int], now: dt.datetime, total: int, i: int, state: str
) -> dict[str, Any]:
    rng = random.Random(i)
    duration = rng.choice(contract.DURATIONS)
    created = now - (total - i) * SPACING
    words = RUSSIAN_WORDS if i % RUSSIAN_EVERY == 0 else ENGLISH_WORDS
    prompt = " ".join(rng.choice(words) for _ in range(8))
    finished = state == State.SUCCEEDED
    return {
        "id": i + 1,
        "owner_id": member_ids[i % len(member_ids)],
        "state": state,
        "mode": "text-to-video",
        "prompt": f"A cinematic shot: {prompt}, slow dolly in",
        "resolution": rng.choice(contract.RESOLUTIONS),
        "duration": duration,
        "sound": rng.random() < 0.5,
        "aspect_ratio": rng.choice(contract.ASPECT_RATIOS),
        "cost": duration * 2,
        "created_at": created,
        "updated_at": created + dt.timedelta(seconds=80),
        "state_changed_at": created + dt.timedelta(seconds=80),
        "submitted_at": created + dt.timedelta(seconds=2),
        "provider_created_at": created + dt.timedelta(seconds=2),
        "provider_completed_at": created + dt.timedelta(seconds=70),
        "provider_cost_ms": 68_000,
        "finished_at": created + dt.timedelta(seconds=80) if finished else None,
        "provider_task_id": f"bench_{i}",
        "next_action_at": None,
    }


def _video_row(task: dict[str, Any]) -> dict[str, Any]:
    width, height = contract.frame_size(task["resolution"], task["aspect_ratio"])
    return {
        "id": task["id"],
        "task_id": task["id"],
        "file": f"videos/bench/task-{task['id']}.mp4",
        "poster": f"videos/bench/task-{task['id']}.jpg",
        "width": width,
        "height": height,
        "duration_seconds": float(task["duration"]),
        "has_audio": task["sound"],
        "size_bytes": 1_000_000,
        "sha256": "0" * 64,
        "created_at": task["finished_at"] or task["created_at"],
    }


def _insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` (field attname -> value; every other column its default)."""
    if not rows:
        return
    fields = list(model._meta.concrete_fields)
    given = rows[0].keys()
    defaults = {
        f.attname: f.get_db_prep_save(f.get_default(), connection)
        for f in fields
        if f.attname not in given
    }
    prep = {
        f.attname: _preparer(f)
        for f in fields
        if f.attname in given and _preparer(f) is not None
    }
    columns = [str(f.column) for f in fields]
    names = [f.attname for f in fields]

    def values(row: dict[str, Any]) -> tuple[Any, ...]:
        out = []
        for name in names:
            if name in defaults:
                out.append(defaults[name])
                continue
            value = row[name]
            convert = prep.get(name)
            out.append(convert(value) if convert and value is not None else value)
        return tuple(out)

    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    # One transaction per batch: in autocommit every row would be its own.
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({quoted}) VALUES ({marks})",
                [values(row) for row in rows],
            )


def _preparer(field: models.Field[Any, Any]) -> Any:
    """How a value of this field is written, where the driver needs help."""
    if isinstance(field, models.DateTimeField) and connection.vendor != "postgresql":
        return _sqlite_datetime
    if isinstance(field, models.UUIDField):
        return lambda value: field.get_db_prep_save(value, connection)
    return None


def _sqlite_datetime(value: dt.datetime) -> str:
    """As Django writes a datetime to SQLite: naive UTC, ``str()`` of it."""
    return str(value.astimezone(dt.UTC).replace(tzinfo=None))


def now() -> dt.datetime:
    return timezone.now()
