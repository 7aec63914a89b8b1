"""``manage.py restore BACKUP``: bring a backup back into a fresh database and
MEDIA_ROOT, then check every video and every balance (generations/ops/backup.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, ngettext

from generations.ops import backup


class Command(BaseCommand):
    help = "Restore a backup into an empty database and an empty MEDIA_ROOT."
    # Model checks open the database, which may not exist yet (restore makes it).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", type=Path, help="The backup directory.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = backup.restore_backup(source=options["source"])
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        for problem in report.problems:
            self.stderr.write(problem)
        summary = gettext(
            "restored %(files)s media files; checked %(videos)s videos "
            "and %(accounts)s balances"
        ) % {
            "files": report.files,
            "videos": report.videos,
            "accounts": report.accounts,
        }
        if report.problems:
            raise CommandError(
                ngettext(
                    "%(summary)s: %(count)s problem (above)",
                    "%(summary)s: %(count)s problems (above)",
                    len(report.problems),
                )
                % {"summary": summary, "count": len(report.problems)}
            )
        self.stdout.write(gettext("%(summary)s: all match") % {"summary": summary})
