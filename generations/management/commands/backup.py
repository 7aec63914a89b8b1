"""``manage.py backup``: a consistent snapshot of a running studio.

See generations/ops/backup.py and the README's operations section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, ngettext

from generations.ops import backup


class Command(BaseCommand):
    help = "Write a backup (database snapshot, media, sha256 manifest) while running."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--output", required=True, type=Path, help="Directory to write it into."
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=0,
            help="Afterwards keep only the newest N backups there (0: keep all).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            path = backup.create_backup(destination=options["output"])
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        files = len(backup.read_manifest(path)["media"])
        self.stdout.write(
            ngettext(
                "backup written to %(path)s (%(files)s media file)",
                "backup written to %(path)s (%(files)s media files)",
                files,
            )
            % {"path": path, "files": files}
        )
        if options["keep"] > 0:
            for old in backup.prune(
                destination=options["output"], keep=options["keep"]
            ):
                self.stdout.write(
                    gettext("removed old backup %(path)s") % {"path": old}
                )
