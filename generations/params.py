"""The nine generation parameters, listed once.

Every place that names them (the task's columns, the provider's ``input``, a
retry, a remix link, a preset, the CSV export) goes through ``GenerationParams``;
adding a parameter means adding one field here (and the task column).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generations import credits
from generations.apixo import contract
from generations.models import Delivery, GenerationTask, Mode, Routing

# Marks a field the provider's ``input`` object does not carry (it goes elsewhere
# in the request: the routing as ``provider``, the delivery as a callback URL).
NOT_PROVIDER_INPUT = {"provider_input": False}


@dataclass(kw_only=True)
class GenerationParams:
    mode: str = Mode.TEXT
    prompt: str
    resolution: str = "720p"
    duration: int = 8
    sound: bool = True
    aspect_ratio: str = contract.DEFAULT_ASPECT_RATIO
    fixed_lens: bool = False
    routing: str = field(default=Routing.AUTO, metadata=NOT_PROVIDER_INPUT)
    delivery: str = field(default=Delivery.POLLING, metadata=NOT_PROVIDER_INPUT)
    # Frames are stored as their own rows; only the provider input carries URLs.
    image_urls: list[str] = field(default_factory=list)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The nine parameters in their one order (frames not included)."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "image_urls")

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        """What a preset keeps and the CSV lists beside the prompt: all but it."""
        return tuple(name for name in cls.names() if name != "prompt")

    @classmethod
    def yes_no_names(cls) -> tuple[str, ...]:
        """The parameters that are a yes or a no (1/0 in a URL or a CSV)."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.type == "bool")

    @classmethod
    def from_task(cls, task: GenerationTask) -> GenerationParams:
        values = {name: getattr(task, name) for name in cls.names()}
        return cls(**values, image_urls=list(task.image_urls))

    @classmethod
    def from_values(
        cls, values: Mapping[str, Any], **overrides: Any
    ) -> GenerationParams:
        """From a form's cleaned data or a stored preset (typed as the task's)."""
        picked = {name: values[name] for name in cls.names() if name in values}
        picked.update(overrides)
        picked.setdefault("prompt", "")
        for name in cls.yes_no_names():
            if name in picked:
                picked[name] = bool(picked[name])
        if "duration" in picked:
            picked["duration"] = int(picked["duration"])
        return cls(**picked)

    def as_fields(self) -> dict[str, Any]:
        """The task's columns."""
        return {name: getattr(self, name) for name in self.names()}

    def settings(self) -> dict[str, Any]:
        """JSON-safe settings (no prompt, no frames), as a preset stores them."""
        return {name: getattr(self, name) for name in self.setting_names()}

    def as_query(self) -> dict[str, str | int]:
        """Flat values for a URL or a CSV row (yes/no as 1/0)."""
        return {
            name: int(value) if isinstance(value, bool) else value
            for name, value in self.as_fields().items()
        }

    def provider_input(self) -> dict[str, Any]:
        """The ``input`` object of a generateTask request."""
        data = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.metadata.get("provider_input", True) and f.name != "image_urls"
        }
        if self.mode == Mode.IMAGE:
            data["image_urls"] = list(self.image_urls)
        return data

    def cost(self) -> int:
        return credits.cost_of(
            resolution=self.resolution,
            sound=self.sound,
            duration=self.duration,
            routing=self.routing,
        )
