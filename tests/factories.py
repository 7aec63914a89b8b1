"""Small builders shared by tests."""

from __future__ import annotations

from typing import Any

from generations.models import GenerationTask
from generations.services import GenerationParams, create_generations


def queue_task(owner: Any, **params: Any) -> GenerationTask:
    """Create a queued task through the real service (hold included)."""
    values: dict[str, Any] = {
        "prompt": "a calm seaside sunrise with gentle camera dolly movement",
        "resolution": "480p",
        "duration": 4,
        "sound": False,
        "aspect_ratio": "16:9",
    }
    values.update(params)
    [task] = create_generations(owner=owner, variants=[GenerationParams(**values)])
    return task
