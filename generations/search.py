"""Prompt search without a scan: SQLite FTS5 or PostgreSQL full-text, one rule.

The rule (identical on both engines):

- a prompt and a query are cut into words: runs of letters and digits (any
  script); everything else (spaces, punctuation, ``_``, quotes, operators)
  separates words;
- words compare case-insensitively, and ``ё`` counts as ``е`` (Russian writes
  both for one letter); other accents count (``café`` is not ``cafe``);
- every word of the query must be the start of some word of the prompt (prefix
  match, AND between words): ``light nig`` finds "A lighthouse at night",
  ``house`` does not (it starts no word there);
  ``свет маяк`` finds "Свет маяка в тумане";
- a query with no word in it (only punctuation, ``%``) finds nothing;
- the order stays the gallery's: newest first among the matches.

Kept in sync by the database itself, so every writer (the ORM's save, update,
bulk_create, the admin, raw SQL) takes the same path:

- SQLite: a contentless FTS5 table (``unicode61`` tokenizer, no diacritics
  folding, ``detail=none``, no column sizes (no ranking),
  prefix indexes for 1-16 letters) filled by triggers
  on the task table; the migration indexes the existing rows. A table rebuild
  (SQLite's way of altering a column) drops triggers, so ``post_migrate``
  recreates any missing one (``ensure_sqlite_triggers``).
- PostgreSQL: a stored generated ``tsvector`` column (``prompt_words``, from the
  immutable SQL function ``generations_prompt_words`` of the prompt, the
  ``simple`` configuration: no stemming, so both engines agree) with a GIN index;
  the database recomputes it on every write.
"""

from __future__ import annotations

import re
import time
from typing import Any, cast

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BigIntegerField,
    BooleanField,
    ExpressionWrapper,
    F,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL

TASK_TABLE = "generations_generationtask"
FTS_TABLE = "generations_prompt_search"
PG_FUNCTION = "generations_prompt_words"
PG_INDEX = "generations_task_prompt_words"
# A generated column the database keeps; Django's model does not list it.
PG_COLUMN = "prompt_words"
# FTS5 keeps word starts of these lengths as terms of their own, so a query word
# streams its matches newest first; a longer one merges the lists of every word it
# starts first (eagerly: about 4 ms for a 17-letter word at 1,000,000 prompts).
# Lengths 9-16 cost about a tenth more index than 1-8 (few words are that long).
PREFIXES = "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"
# The form caps a query at 200 characters; the seam caps it again for any caller.
MAX_WORDS = 16
MAX_WORD_LENGTH = 64

_WORD = re.compile(r"[^\W_]+")


def words(query: str) -> list[str]:
    """The query's words as both engines compare them (lower case, ё as е),
    each once, in the order typed."""
    found: list[str] = []
    for match in _WORD.finditer(fold(query)):
        word = match.group()[:MAX_WORD_LENGTH]
        if word not in found:
            found.append(word)
    return found[:MAX_WORDS]


def fold(text: str) -> str:
    """Lower case with ё as е: what the SQL sides do with ``lower``/``translate``
    and the tokenizers' case folding."""
    return text.lower().replace("ё", "е")


def matching[Tasks: QuerySet[Any]](tasks: Tasks, query: str) -> Tasks:
    """The tasks whose prompt holds every word of the query as a word start."""
    found = words(query)
    if not found:
        return tasks.none()
    if connection.vendor == "postgresql":
        condition = RawSQL(
            f"{TASK_TABLE}.{PG_COLUMN} @@ to_tsquery('simple', %s)",
            [" & ".join(f"'{word}':*" for word in found)],
            output_field=BooleanField(),
        )
        if _rare_on_postgres(found):
            # ``newest`` then orders so the GIN index collects the few matches.
            tasks = tasks.alias(**{_RARE: Value(True)})
        return tasks.filter(condition)
    # SQLite: join the FTS table by rowid (a task's id). Ordered by that rowid
    # (``newest``), FTS5 streams its matches newest first and the page stops
    # after its rows; an ``id IN (matches)`` would first collect every match.
    joined = tasks.extra(
        tables=[FTS_TABLE],
        where=[f"{FTS_TABLE}.rowid = {TASK_TABLE}.id", f"{FTS_TABLE} MATCH %s"],
        params=[" ".join(f'"{word}"*' for word in found)],
    )
    return cast(Tasks, joined)  # extra() keeps the queryset's class


def newest(tasks: QuerySet[Any]) -> F | RawSQL | ExpressionWrapper[Any]:
    """The key a list of these tasks is ordered and paged by, newest first: the
    task id, or on SQLite, when searching, the search table's rowid (the same
    number, but the one FTS5 can stream in order and start after a cursor)."""
    if FTS_TABLE in tasks.query.extra_tables:
        return RawSQL(f"{FTS_TABLE}.rowid", [], output_field=BigIntegerField())
    if _RARE in tasks.query.annotations:
        # The same number, but not the id index's order: PostgreSQL collects the
        # matches through the GIN index and sorts them instead of walking the
        # newest tasks until a page fills (the whole table for a word none has).
        return ExpressionWrapper(F("pk") + 0, output_field=BigIntegerField())
    return F("pk")


_RARE = "search_rare_words"
# A query word is rare when the prompts it starts a word of are fewer than this
# share of all (by PostgreSQL's statistics): its matches are then collected
# through the GIN index and sorted. A word PostgreSQL does not list is rarer than
# the least common listed one (about 0.1% with the default statistics target).
RARE_SHARE = 0.002
# How long a process trusts what it read of PostgreSQL's word statistics.
STATS_SECONDS = 600
_common: dict[str, tuple[float, dict[str, float] | None]] = {}


def _rare_on_postgres(found: list[str]) -> bool:
    """True when some query word is rare (``RARE_SHARE``): walking the newest
    tasks until a page fills would read most of the table for it, while the GIN
    index hands over its few matches at once. Without statistics (a table never
    analysed) the walk stays."""
    common = _common_words()
    if common is None:
        return False
    return any(
        sum(share for w, share in common.items() if w.startswith(word)) < RARE_SHARE
        for word in found
    )


def _common_words() -> dict[str, float] | None:
    """The column's most common words and the share of prompts holding each
    (``pg_stats.most_common_elems``), read once per ``STATS_SECONDS``."""
    now = time.monotonic()
    cached = _common.get(connection.alias)
    if cached is not None and now - cached[0] < STATS_SECONDS:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs "
            "FROM pg_stats WHERE schemaname = current_schema() "
            "AND tablename = %s AND attname = %s",
            [TASK_TABLE, PG_COLUMN],
        )
        row = cursor.fetchone()
    words = dict(zip(row[0], row[1], strict=False)) if row and row[0] else None
    _common[connection.alias] = (now, words)
    return words


# ---------- Schema (the migration and post_migrate call these) ----------

# SQLite: what the triggers feed to FTS5; unicode61 lower-cases all scripts.
_SQLITE_FOLDED = "replace(replace({row}.prompt, 'ё', 'е'), 'Ё', 'Е')"
_SQLITE_TRIGGERS = {
    f"{FTS_TABLE}_insert": (
        f"AFTER INSERT ON {TASK_TABLE} BEGIN "
        f"INSERT INTO {FTS_TABLE}(rowid, prompt) "
        f"VALUES (new.id, {_SQLITE_FOLDED.format(row='new')}); END"
    ),
    f"{FTS_TABLE}_delete": (
        f"AFTER DELETE ON {TASK_TABLE} BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, prompt) "
        f"VALUES ('delete', old.id, {_SQLITE_FOLDED.format(row='old')}); END"
    ),
    f"{FTS_TABLE}_update": (
        f"AFTER UPDATE OF id, prompt ON {TASK_TABLE} "
        f"WHEN old.prompt IS NOT new.prompt OR old.id IS NOT new.id BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, prompt) "
        f"VALUES ('delete', old.id, {_SQLITE_FOLDED.format(row='old')}); "
        f"INSERT INTO {FTS_TABLE}(rowid, prompt) "
        f"VALUES (new.id, {_SQLITE_FOLDED.format(row='new')}); END"
    ),
}

_PG_CREATE = [
    # Letters and digits only (the same words as FTS5's unicode61), ё as е; the
    # 'simple' configuration lower-cases and does not stem.
    f"CREATE OR REPLACE FUNCTION {PG_FUNCTION}(prompt text) RETURNS tsvector "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT "
    "to_tsvector('simple'::regconfig, regexp_replace("
    "translate(prompt, 'ёЁ', 'еЕ'), '[^[:alnum:]]+', ' ', 'g')) $$",
    # Stored, not an expression index: a page that walks the id order (a common
    # word) checks each row's words without cutting its prompt up again.
    f"ALTER TABLE {TASK_TABLE} ADD COLUMN IF NOT EXISTS {PG_COLUMN} tsvector "
    f"GENERATED ALWAYS AS ({PG_FUNCTION}(prompt)) STORED",
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON {TASK_TABLE} USING gin ({PG_COLUMN})",
]
_PG_DROP = [
    f"DROP INDEX IF EXISTS {PG_INDEX}",
    f"ALTER TABLE {TASK_TABLE} DROP COLUMN IF EXISTS {PG_COLUMN}",
    f"DROP FUNCTION IF EXISTS {PG_FUNCTION}(text)",
]


def install(conn: BaseDatabaseWrapper) -> None:
    """Create the index for the engine in use and index every existing prompt."""
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            for sql in _PG_CREATE:
                cursor.execute(sql)
            return
        cursor.execute(
            f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(prompt, content='', "
            f"detail=none, columnsize=0, prefix='{PREFIXES}', "
            "tokenize='unicode61 remove_diacritics 0')"
        )
        cursor.execute(
            f"INSERT INTO {FTS_TABLE}(rowid, prompt) "
            f"SELECT id, {_SQLITE_FOLDED.format(row=TASK_TABLE)} FROM {TASK_TABLE}"
        )
    ensure_sqlite_triggers(conn)


def uninstall(conn: BaseDatabaseWrapper) -> None:
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            for sql in _PG_DROP:
                cursor.execute(sql)
            return
        for name in _SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def ensure_sqlite_triggers(conn: BaseDatabaseWrapper, **_: Any) -> None:
    """Recreate the sync triggers a table rebuild dropped (SQLite only, and only
    once the search table exists)."""
    if conn.vendor != "sqlite":
        return
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s",
            [FTS_TABLE],
        )
        if cursor.fetchone() is None:
            return
        for name, body in _SQLITE_TRIGGERS.items():
            cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
