"""Is the Russian catalog complete? (The check that `make test` runs.)

The catalog is complete when `makemessages` over today's sources would add no
msgid to it, keeps none that the sources no longer use, and every entry has a
translation that is not fuzzy. `makemessages` runs on a throwaway copy of the
sources, so the check never rewrites the repository's files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polib

SOURCE_DIRS = ("generations", "seedance_site", "templates", "static")
DOMAINS = ("django", "djangojs")
CHECKED_LANGUAGES = ("ru",)

EntryKey = tuple[str, str, str]


def _key(entry: polib.POEntry) -> EntryKey:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def catalog_path(root: Path, language: str, domain: str) -> Path:
    return root / "locale" / language / "LC_MESSAGES" / f"{domain}.po"


def _extract(root: Path, language: str) -> dict[str, set[EntryKey]]:
    """The msgids that makemessages finds in ``root``'s sources, per domain."""
    found: dict[str, set[EntryKey]] = {}
    with tempfile.TemporaryDirectory(prefix="catalog-check-") as tmp:
        tree = Path(tmp)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
        for name in SOURCE_DIRS:
            if (root / name).is_dir():
                shutil.copytree(root / name, tree / name, ignore=ignore)
        shutil.copy2(root / "manage.py", tree / "manage.py")
        (tree / "locale" / language / "LC_MESSAGES").mkdir(parents=True)
        for domain in DOMAINS:
            subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "makemessages",
                    "--locale",
                    language,
                    "--domain",
                    domain,
                    "--no-location",
                    "--verbosity",
                    "0",
                ],
                cwd=tree,
                check=True,
                capture_output=True,
            )
            po = catalog_path(tree, language, domain)
            found[domain] = (
                {_key(e) for e in polib.pofile(str(po)) if not e.obsolete}
                if po.exists()
                else set()
            )
    return found


def catalog_problems(root: Path) -> list[str]:
    """Every way the catalogs under ``root`` fall short; empty when complete."""
    problems: list[str] = []
    for language in CHECKED_LANGUAGES:
        extracted = _extract(root, language)
        for domain in DOMAINS:
            path = catalog_path(root, language, domain)
            entries = (
                [e for e in polib.pofile(str(path)) if not e.obsolete]
                if path.exists()
                else []
            )
            have = {_key(e) for e in entries}
            name = f"{language}/{domain}.po"
            for key in sorted(extracted[domain] - have):
                problems.append(f"{name}: new string not in the catalog: {key[1]!r}")
            for key in sorted(have - extracted[domain]):
                problems.append(f"{name}: string no longer used: {key[1]!r}")
            for entry in entries:
                if "fuzzy" in entry.flags:
                    problems.append(f"{name}: fuzzy translation: {entry.msgid!r}")
                elif not entry.translated():
                    problems.append(f"{name}: untranslated: {entry.msgid!r}")
    return problems
