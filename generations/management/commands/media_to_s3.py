"""``manage.py media_to_s3``: copy local media into the configured bucket.

Resumable and verified by sha256 (generations/ops/media_migration.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, ngettext

from generations import media_store
from generations.ops import media_migration


class Command(BaseCommand):
    help = (
        "Copy every video, poster, film and input frame from a local media folder "
        "into the S3 bucket (MEDIA_STORAGE=s3), verifying each by sha256. "
        "Safe to interrupt and run again."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--source",
            type=Path,
            default=None,
            help="The local media folder (default: MEDIA_ROOT).",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=None,
            help="Copy at most N files this run (the rest on the next run).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the report as JSON."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["source"] or Path(settings.MEDIA_ROOT)
        try:
            report = media_migration.migrate(source=source, limit=options["limit"])
        except media_migration.MigrationRefused as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=1))
        else:
            self.stdout.write(
                gettext(
                    "%(copied)s copied, %(skipped)s already there, %(remaining)s "
                    "left for the next run, into %(where)s"
                )
                % {
                    "copied": len(report.copied),
                    "skipped": len(report.skipped),
                    "remaining": report.remaining,
                    "where": media_store.describe(),
                }
            )
            for problem in report.problems:
                self.stderr.write(problem)
        if report.problems:
            count = len(report.problems)
            raise CommandError(
                ngettext(
                    "%(count)s file could not be copied (listed above)",
                    "%(count)s files could not be copied (listed above)",
                    count,
                )
                % {"count": count}
            )
