"""django-q2 entry points: thin functions that take a task id."""

from __future__ import annotations

from generations import images
from generations.overview import live
from generations.pipeline import dispatch, download, poll, submit, unknown


def submit_task(task_id: int) -> None:
    submit.submit_task(task_id)


def poll_task(task_id: int) -> None:
    poll.poll_task(task_id)


def download_result(task_id: int) -> None:
    download.download_result(task_id)


def resolve_unknown(task_id: int) -> None:
    unknown.resolve_unknown(task_id)


def sweep() -> dict[str, int]:
    return dispatch.sweep()


def refresh_provider_balance() -> None:
    """Scheduled every minute (migration 0009): the overview only reads the cache."""
    live.refresh_provider_balance()


def clean_upload_drafts() -> dict[str, int]:
    return images.clean_drafts()


def stitch_film(film_id: int) -> None:
    """A storyboard's film (enqueued by the storyboard driver)."""
    from generations.storyboards import film

    film.stitch_film(film_id)
