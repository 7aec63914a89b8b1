"""``manage.py restore BACKUP``: bring a backup back into a fresh database and
MEDIA_ROOT, then check every video and every balance (generations/ops/backup.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

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
        summary = (
            f"restored {report.files} media files; checked {report.videos} videos "
            f"and {report.accounts} balances"
        )
        if report.problems:
            raise CommandError(f"{summary}: {len(report.problems)} problems (above)")
        self.stdout.write(f"{summary}: all match")
