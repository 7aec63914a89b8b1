from __future__ import annotations

from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = "Seedance Studio"

    def ready(self) -> None:
        # Log lines of django-q2 jobs carry the job's task id.
        from generations import checks  # noqa: F401  (registers the system checks)
        from generations.logging import connect_task_logging

        connect_task_logging()
