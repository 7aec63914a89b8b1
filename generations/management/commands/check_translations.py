from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from generations.translations import catalog_problems


class Command(BaseCommand):
    help = "Fail when the Russian catalog misses, keeps stale or fuzzy strings."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = catalog_problems(Path(settings.BASE_DIR))
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(
                f"{len(problems)} catalog problem(s): run `make messages`, then "
                "translate the new entries in locale/ru/LC_MESSAGES/*.po"
            )
        self.stdout.write("The Russian catalog is complete.")
