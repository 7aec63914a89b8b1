"""English and Russian: choosing the language, and the catalog kept complete."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings

from generations.models import MemberLanguage
from generations.translations import SOURCE_DIRS, catalog_path, catalog_problems

ROOT = Path(settings.BASE_DIR)


def html(response: Any) -> str:
    return response.content.decode()


# --- The catalog ------------------------------------------------------------------


def test_it_has_a_complete_russian_catalog() -> None:
    assert catalog_problems(ROOT) == []


def copy_of_the_sources(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    for name in (*SOURCE_DIRS, "locale"):
        shutil.copytree(ROOT / name, tree / name, ignore=ignore)
    shutil.copy2(ROOT / "manage.py", tree / "manage.py")
    return tree


def test_it_finds_a_new_string_without_a_translation(tmp_path: Path) -> None:
    tree = copy_of_the_sources(tmp_path)
    (tree / "templates" / "_new.html").write_text(
        '{% load i18n %}<p>{% translate "A string nobody has translated yet" %}</p>'
    )
    problems = catalog_problems(tree)
    assert problems == [
        "ru/django.po: new string not in the catalog: "
        "'A string nobody has translated yet'"
    ]


def test_it_finds_untranslated_fuzzy_and_stale_entries(tmp_path: Path) -> None:
    tree = copy_of_the_sources(tmp_path)
    po = polib.pofile(str(catalog_path(tree, "ru", "django")))
    first, second = po[0], po[1]
    first.msgstr = ""
    second.flags.append("fuzzy")
    po.append(polib.POEntry(msgid="A string the code no longer uses", msgstr="x"))
    po.save()
    problems = catalog_problems(tree)
    assert f"ru/django.po: untranslated: {first.msgid!r}" in problems
    assert f"ru/django.po: fuzzy translation: {second.msgid!r}" in problems
    assert (
        "ru/django.po: string no longer used: 'A string the code no longer uses'"
        in problems
    )
    assert len(problems) == 3


# --- Choosing the language --------------------------------------------------------


@pytest.mark.django_db
def test_it_follows_the_browsers_language(client: Any) -> None:
    page = html(client.get("/login/", headers={"accept-language": "ru,en;q=0.5"}))
    assert '<html lang="ru">' in page
    assert "Язык интерфейса" in page
    page = html(client.get("/login/", headers={"accept-language": "de,en;q=0.5"}))
    assert '<html lang="en">' in page


@pytest.mark.django_db
def test_it_remembers_a_visitors_choice_in_a_cookie(client: Any) -> None:
    response = client.get("/i18n/language/?language=ru&next=/login/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    page = html(client.get("/login/", headers={"accept-language": "en"}))
    assert '<html lang="ru">' in page


@pytest.mark.django_db
def test_it_stores_a_members_choice_across_sessions(client: Any, alice: Any) -> None:
    client.force_login(alice)
    response = client.post("/i18n/language/", {"language": "ru", "next": "/gallery/"})
    assert response["Location"] == "/gallery/"
    assert MemberLanguage.objects.get(user=alice).language == "ru"

    from django.test import Client

    other_browser = Client()
    other_browser.force_login(alice)
    page = html(other_browser.get("/", headers={"accept-language": "en"}))
    assert '<html lang="ru">' in page


@pytest.mark.django_db
def test_it_does_not_store_a_members_choice_from_a_link(
    client: Any, alice: Any
) -> None:
    client.force_login(alice)
    client.get("/i18n/language/?language=ru")
    assert not MemberLanguage.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_it_ignores_an_unknown_language_and_a_foreign_next(
    client: Any, alice: Any
) -> None:
    client.force_login(alice)
    response = client.post(
        "/i18n/language/", {"language": "xx", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert not MemberLanguage.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_it_refuses_other_methods(client: Any) -> None:
    assert client.put("/i18n/language/").status_code == 405


@pytest.mark.django_db
def test_it_serves_the_script_catalog(client: Any) -> None:
    response = client.get("/i18n/catalog.js", headers={"accept-language": "ru"})
    assert response.status_code == 200
    assert "django.gettext" in html(response)
    assert "n%10==1" in html(response)  # Russian plural rule
    english = client.get("/i18n/catalog.js", headers={"accept-language": "en"})
    assert "n%10==1" not in html(english)


def test_it_writes_a_share_with_the_languages_decimal_sign() -> None:
    from django.utils import translation

    from generations.views.overview import percent

    assert percent(2 / 3) == "66.7%"
    assert percent(0.5) == "50%"
    with translation.override("ru"):
        assert percent(2 / 3) == "66,7%"
        assert percent(1.0) == "100%"
