from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = "Seedance Studio"

    def ready(self) -> None:
        # Log lines of django-q2 jobs carry the job's task id.
        from generations import checks  # noqa: F401  (registers the system checks)
        from generations.logging import connect_task_logging

        connect_task_logging()
        # "Last job done" on the overview (django-q2 keeps no successful jobs).
        from generations.ops import jobs

        jobs.connect()
        # A table rebuild on SQLite drops the search index's sync triggers.
        post_migrate.connect(_search_triggers, sender=self)


def _search_triggers(using: str, **_: object) -> None:
    from django.db import connections

    from generations.search import ensure_sqlite_triggers

    ensure_sqlite_triggers(connections[using])
