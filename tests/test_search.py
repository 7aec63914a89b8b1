"""Prompt search (generations/search.py): one rule on SQLite FTS5 and PostgreSQL.

The same module runs on both engines (Makefile SCALEOUT_TESTS) with the same
data and the same expected sets: equal results on both engines is what it shows.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.test.utils import CaptureQueriesContext

from generations import search
from generations.models import GenerationTask, State, VideoAsset
from generations.views.gallery import gallery_queryset
from tests.factories import make_video_row as video

pytestmark = pytest.mark.django_db

PROMPTS = {
    "lighthouse": "A Lighthouse in a storm, slow dolly-in",
    "keeper": "lighthouse keeper at dawn; fog over the harbour",
    "fox": "A fox in the snow (4K), close-up",
    "snowfall": "Snowfall over a quiet city at night",
    "mayak": "Маяк в шторм, медленный наезд камеры",
    "mayaka": "Свет маяка в тумане: ночь, 35 мм",
    "yolka": "Новогодняя ёлка на площади, снег идёт",
    "elka": "Зелёная елка в лесу — утро",
    "mixed": "Neon city ночью, неоновый свет & rain",
    "cafe": "café_terrace at noon, 2026 edition",
}


@pytest.fixture
def prompts(alice: Any) -> dict[str, int]:
    return {name: video(alice, prompt=text).pk for name, text in PROMPTS.items()}


def found(user: Any, query: str, **filters: Any) -> set[int]:
    tasks = gallery_queryset(user, {"q": query, **filters})
    return set(tasks.values_list("pk", flat=True))


def names(ids: dict[str, int], *picked: str) -> set[int]:
    return {ids[name] for name in picked}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lighthouse", ("lighthouse", "keeper")),
        ("LIGHTHOUSE", ("lighthouse", "keeper")),
        ("light", ("lighthouse", "keeper")),  # the start of a word
        ("house", ()),  # not the middle of one
        ("snow", ("fox", "snowfall")),  # "snow" and "Snowfall"
        ("snow city", ("snowfall",)),  # every word, in any order
        ("city snow", ("snowfall",)),
        ("dolly", ("lighthouse",)),  # "dolly-in": the hyphen separates words
        ("in", ("lighthouse", "fox")),  # "in", and "in" of "dolly-in"
        ("4k", ("fox",)),
        ("2026", ("cafe",)),
        ("terrace", ("cafe",)),  # "_" separates words
        ("caf", ("cafe",)),
        ("cafe", ()),  # accents count, on both engines
        ("walrus", ()),
        ("neon", ("mixed",)),  # not "неоновый"
    ],
)
def test_english_words_match_word_starts(
    alice: Any, prompts: dict[str, int], query: str, expected: tuple[str, ...]
) -> None:
    assert found(alice, query) == names(prompts, *expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("маяк", ("mayak", "mayaka")),  # and "маяка": the start of a word
        ("МАЯК", ("mayak", "mayaka")),  # Cyrillic case folding
        ("Маяка", ("mayaka",)),
        ("шторм", ("mayak",)),
        ("storm", ("lighthouse",)),  # not the Russian "шторм"
        ("ёлка", ("yolka", "elka")),  # ё and е are one letter here
        ("елка", ("yolka", "elka")),
        ("ЁЛК", ("yolka", "elka")),
        ("зеленая", ("elka",)),  # "Зелёная"
        ("свет туман", ("mayaka",)),
        ("ночью свет", ("mixed",)),
        ("неон", ("mixed",)),  # "неоновый"
        ("ночь", ("mayaka", "mixed")),  # "ночь" and "ночью"
        ("морж", ()),
        ("лес утро", ("elka",)),
        ("лес вечер", ()),  # every word must match
    ],
)
def test_russian_words_match_word_starts(
    alice: Any, prompts: dict[str, int], query: str, expected: tuple[str, ...]
) -> None:
    assert found(alice, query) == names(prompts, *expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"fox"', ("fox",)),
        ('"fox"*', ("fox",)),
        ("fox*", ("fox",)),
        ("fox:*", ("fox",)),
        ("'fox'", ("fox",)),
        ("fox & snow", ("fox",)),
        ("fox | city", ()),  # not an OR: both words must match
        ("!fox", ("fox",)),
        ("(fox)", ("fox",)),
        ("fox)", ("fox",)),
        ("NEAR(fox snow)", ()),  # "near" is a word like any other
        ("fox AND", ()),  # "and" is a word like any other: no fox prompt has it
        ("fox -snow", ("fox",)),
        ("fox^", ("fox",)),
        ("fox\\", ("fox",)),
        ("%", ()),  # nothing to search for finds nothing
        ("_", ()),
        ("*", ()),
        ('"', ()),
        ("''", ()),
        (":*&|!()", ()),
        ("маяк:* | ёлка", ()),
        ("маяк!", ("mayak", "mayaka")),
        ("\x00fox", ("fox",)),
        ("fox " * 400, ("fox",)),
        ("x" * 5000, ()),
    ],
)
def test_query_syntax_is_only_words(
    alice: Any, prompts: dict[str, int], query: str, expected: tuple[str, ...]
) -> None:
    assert found(alice, query) == names(prompts, *expected)


def test_random_input_never_breaks_the_query(
    alice: Any, prompts: dict[str, int]
) -> None:
    rng = random.Random(17)
    alphabet = "fox маякЁё \"'*:&|!()-^\\%_~<>{}[]@#$;,.?+=\t\n"
    for _ in range(150):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        expected = _by_rule(search.words(query))
        assert found(alice, query) == names(prompts, *expected), query


def _by_rule(wanted: list[str]) -> tuple[str, ...]:
    """The rule written plainly over PROMPTS, to compare with the engines."""
    if not wanted:
        return ()
    hits = []
    for name, text in PROMPTS.items():
        prompt_words = re.findall(r"[^\W_]+", search.fold(text))
        if all(any(w.startswith(q) for w in prompt_words) for q in wanted):
            hits.append(name)
    return tuple(hits)


def test_words_are_folded_capped_and_deduplicated() -> None:
    assert search.words("Ёлка, ЁЛКА! елка") == ["елка"]
    assert search.words("fox:* & snow | (city)") == ["fox", "snow", "city"]
    assert search.words("%_*\"'") == []
    assert len(search.words(" ".join(f"w{i}" for i in range(100)))) == search.MAX_WORDS
    assert search.words("y" * 500) == ["y" * search.MAX_WORD_LENGTH]


def test_visibility_still_applies(alice: Any, bob: Any) -> None:
    mine = video(alice, prompt="a lighthouse at dusk")
    shared = video(bob, prompt="a lighthouse at dawn")
    private = video(bob, prompt="a private lighthouse", is_private=True)
    video(bob, prompt="a hidden lighthouse", hidden=True)
    video(alice, prompt="a lighthouse still generating", state=State.GENERATING)
    assert found(alice, "lighthouse") == {mine.pk, shared.pk}
    assert found(alice, "lighthouse", owner="mine") == {mine.pk}
    assert found(bob, "private") == {private.pk}
    assert found(alice, "private") == set()
    assert found(bob, "hidden") == set()  # out of the gallery, the owner's too


def test_the_index_follows_every_write(alice: Any) -> None:
    task = video(alice, prompt="a red balloon")
    assert found(alice, "balloon") == {task.pk}
    task.prompt = "a blue kite"
    task.save()
    assert found(alice, "balloon") == set()
    assert found(alice, "kite") == {task.pk}
    GenerationTask.objects.filter(pk=task.pk).update(prompt="зелёный змей")
    assert found(alice, "kite") == set()
    assert found(alice, "змей зеленый") == {task.pk}
    GenerationTask.objects.filter(pk=task.pk).update(state=State.SUCCEEDED)
    assert found(alice, "змей") == {task.pk}  # other columns leave it alone
    bulk = GenerationTask.objects.bulk_create(
        [
            GenerationTask(owner=alice, prompt=f"bulk comet {i}", cost=1)
            for i in range(3)
        ]
    )
    assert set(
        search.matching(GenerationTask.objects.all(), "comet").values_list(
            "pk", flat=True
        )
    ) == {t.pk for t in bulk}
    task.delete()
    GenerationTask.objects.filter(pk__in=[t.pk for t in bulk]).delete()
    assert found(alice, "змей") == set()
    assert not search.matching(GenerationTask.objects.all(), "comet").exists()
    again = video(alice, prompt="a green dragon")
    assert found(alice, "змей") == set()
    assert found(alice, "dragon") == {again.pk}


def test_the_migration_indexes_existing_prompts_and_reverses(alice: Any) -> None:
    before = video(alice, prompt="an old comet over the lake")
    if connection.vendor == "postgresql":
        # The test's transaction holds deferred foreign-key checks; PostgreSQL
        # builds no index over a table with pending ones (a migration has none).
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    search.uninstall(connection)
    GenerationTask.objects.filter(pk=before.pk).update(
        prompt="an old meteor over the lake"
    )
    search.install(connection)
    assert found(alice, "meteor") == {before.pk}
    assert found(alice, "comet") == set()
    after = video(alice, prompt="a new meteor")
    assert found(alice, "meteor") == {before.pk, after.pk}


@pytest.mark.skipif("connection.vendor != 'sqlite'")
@pytest.mark.django_db(transaction=True)
def test_sqlite_triggers_come_back_after_a_table_rebuild(alice: Any) -> None:
    kept = video(alice, prompt="a paper boat")
    # What Django does on SQLite to alter a column: a new table, copied, renamed.
    with connection.schema_editor() as editor:
        editor._remake_table(GenerationTask)  # noqa: SLF001 (the rebuild itself)
    assert _triggers() == set()  # SQLite dropped them with the old table
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert _triggers() == set(search._SQLITE_TRIGGERS)  # noqa: SLF001
    assert found(alice, "paper") == {kept.pk}  # the index outlived the rebuild
    task = video(alice, prompt="a paper plane")
    assert found(alice, "plane") == {task.pk}


def _triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
            [f"{search.FTS_TABLE}%"],
        )
        return {row[0] for row in cursor.fetchall()}


def test_pages_go_newest_first_through_every_match(client: Any, alice: Any) -> None:
    matches = [video(alice, prompt=f"a paper boat number {i}").pk for i in range(7)]
    video(alice, prompt="a stone bridge")
    client.force_login(alice)
    seen: list[int] = []
    cursor = ""
    while True:
        response = client.get(f"/api/v1/videos?q=Paper+BOAT&limit=3{cursor}")
        assert response.status_code == 200
        data = response.json()
        seen += [item["id"] for item in data["items"]]
        if not data["next_cursor"]:
            break
        cursor = f"&cursor={data['next_cursor']}"
    assert seen == sorted(matches, reverse=True)
    page = client.get("/gallery/?q=paper").content.decode()
    tiles = [int(pk) for pk in re.findall(r'id="tile-(\d+)"', page)]
    assert tiles == sorted(matches, reverse=True)
    older = client.get(f"/gallery/?q=paper&before={matches[3]}", HTTP_HX_REQUEST="true")
    tiles = [int(pk) for pk in re.findall(r'id="tile-(\d+)"', older.content.decode())]
    assert tiles == sorted(matches[:3], reverse=True)


def test_a_search_costs_no_extra_query(client: Any, alice: Any, bob: Any) -> None:
    for i in range(30):
        video(alice if i % 2 else bob, prompt=f"ночной город {i}, neon rain")
    client.force_login(alice)
    client.get("/gallery/")
    client.get("/gallery/?q=warm")  # PostgreSQL: word statistics, read once a while
    with CaptureQueriesContext(connection) as plain:
        client.get("/gallery/")
    with CaptureQueriesContext(connection) as searched:
        response = client.get("/gallery/?q=Ночн+neon")
    assert len(re.findall(r'id="tile-(\d+)"', response.content.decode())) == 24
    assert len(searched.captured_queries) == len(plain.captured_queries) <= 10


def test_the_engine_index_drives_the_search(alice: Any) -> None:
    video(alice, prompt="a fox")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            tasks = gallery_queryset(alice, {"q": "fox"}).order_by("-newest")[:25]
            sql, params = tasks.query.sql_with_params()
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " | ".join(row[3] for row in cursor.fetchall())
            # FTS5 streams newest first: no sort of every match.
            assert plan.startswith(f"SCAN {search.FTS_TABLE} VIRTUAL TABLE"), plan
            assert "TEMP B-TREE" not in plan, plan
        else:
            # A tiny table is read whole; with scans priced out, the one index
            # that can answer the search condition is the GIN index.
            cursor.execute("SET LOCAL enable_seqscan = off")
            tasks = search.matching(GenerationTask.objects.all(), "fox").values("pk")
            sql, params = tasks.query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            plan = " | ".join(row[0] for row in cursor.fetchall())
            assert f"Bitmap Index Scan on {search.PG_INDEX}" in plan, plan


def test_videos_without_a_row_are_not_found(alice: Any) -> None:
    task = video(alice, prompt="a glass harp")
    VideoAsset.objects.filter(task=task).delete()
    assert found(alice, "glass") == set()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_rare_word_is_collected_and_a_common_one_walked(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: a word its statistics call rare is ordered so the GIN index
    collects its matches (walking the newest tasks would read the whole table for
    a word none has); a common one walks the id order. Same results either way."""
    common = [video(alice, prompt=f"a harbour at dusk {i}").pk for i in range(60)]
    lone = video(alice, prompt="a lone zeppelin over the harbour").pk
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {search.TASK_TABLE}")
    search._common.clear()
    monkeypatch.setattr(search, "RARE_SHARE", 0.05)  # 1 in 61 is rare here
    rare = gallery_queryset(alice, {"q": "zeppel"}).order_by("-newest")
    usual = gallery_queryset(alice, {"q": "harbour"}).order_by("-newest")
    assert "+ 0" in str(rare.query) and "+ 0" not in str(usual.query)
    assert list(rare.values_list("pk", flat=True)) == [lone]
    assert list(usual.values_list("pk", flat=True)) == [lone, *reversed(common)]
    before = gallery_queryset(alice, {"q": "zeppel harbour"})
    assert list(before.filter(newest__lt=lone + 1).values_list("pk", flat=True)) == [
        lone
    ]
    search._common.clear()  # other tests start without this table's statistics


def test_long_word_starts_are_found_like_short_ones(alice: Any) -> None:
    """Word starts past the FTS5 prefix lengths (16) are found all the same."""
    long = video(alice, prompt="Достопримечательности Антарктиды, аэрофотосъёмка").pk
    video(alice, prompt="a short one")
    assert found(alice, "достопримечательности") == {long}  # 21 letters
    assert found(alice, "достопримечательн") == {long}  # 17
    assert found(alice, "достопримечат") == {long}  # 13
    assert found(alice, "аэрофотосъемк") == {long}  # ё as е
    assert found(alice, "достопримечательностии") == set()
    if connection.vendor == "sqlite":
        # Each length up to 16 has its own prefix index (migration 0020), so such
        # a word streams its matches instead of merging every list first.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE name = %s", [search.FTS_TABLE]
            )
            assert (
                "prefix='1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16'"
                in (cursor.fetchone()[0])
            )
