"""Configuration of the simulator: start-up settings and the injectable faults."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generations.apixo.contract import (
    CONCURRENT_TASK_LIMIT,
    RATE_LIMIT_PER_MINUTE,
    RESULT_URL_TTL_SECONDS,
)

# Either fixed seconds or a function of the task's requested duration (4, 8 or 12).
GenerationTime = float | Callable[[int], float]


class ConfigError(ValueError):
    """A fault or configuration value that does not make sense."""


@dataclass(frozen=True)
class FaultSettings:
    """What goes wrong, and how often. Rates are fractions between 0 and 1.

    Request faults hit the three API endpoints after authentication and the real
    rate limit, never the ``/_sim/*`` control endpoints or result downloads:

    - ``rate_429`` (with ``Retry-After: 1``), ``rate_500``, ``rate_503``: answered
      before the request takes effect (no task is created).
    - ``slow_seconds`` with ``slow_rate``: sleep before answering.
    - ``drop_connection_rate``: close the socket without answering. For
      generateTask, ``drop_after_create`` creates the task first (it exists, the
      client never learns its id); otherwise nothing is created.
    - ``malformed_json_rate``: a 200 answer's body cut in half (the request took
      effect: a generateTask created its task).
    - ``stall_after_create_seconds``: generateTask creates the task, then waits
      this long before answering (or dropping, with ``drop_after_create``): the
      task runs, and its webhook may arrive, while the client still waits.
    - ``undocumented_state``: status reads of a task still running answer this
      state (e.g. ``queued``), which the contract does not document.

    Task faults are decided when a task is created:

    - ``fail_rate``: the task ends ``failed`` with a code drawn from ``fail_codes``.
    - ``content_violation_words``: a prompt containing one (any case) fails with
      CONTENT_VIOLATION at the end of its queue time.
    - ``malformed_result_json_rate``: success whose ``resultJson`` does not parse.
    - Deliveries that differ from the order: ``short_result_rate`` (a 2 s video
      whatever the duration), ``low_resolution_result_rate`` (half the width and
      height), ``silent_result_rate`` (no sound track although sound was asked).
    - Prompt triggers, always on: ``[sim:fail=CODE]`` and ``[sim:time=SECONDS]``.

    Result faults hit result downloads:

    - ``result_404_rate``: 404.
    - ``truncated_result_rate``: full Content-Length, half the bytes, hang up.
    - ``not_mp4_result_rate``: 200 with an HTML page labelled ``video/mp4``.
    - ``redirect_result_to``: 302 to that URL (for SSRF tests).
    - ``slow_result_seconds``: wait before serving (keeps a download in flight).
    """

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    slow_seconds: float = 0.0
    slow_rate: float = 0.0
    drop_connection_rate: float = 0.0
    # For generateTask: create the task, then drop (the client never learns its id).
    drop_after_create: bool = False
    malformed_json_rate: float = 0.0
    stall_after_create_seconds: float = 0.0
    undocumented_state: str | None = None
    short_result_rate: float = 0.0
    low_resolution_result_rate: float = 0.0
    silent_result_rate: float = 0.0
    malformed_result_json_rate: float = 0.0
    fail_rate: float = 0.0
    fail_codes: tuple[str, ...] = ("GENERATION_FAILED",)
    content_violation_words: tuple[str, ...] = ("forbidden",)
    result_404_rate: float = 0.0
    truncated_result_rate: float = 0.0
    not_mp4_result_rate: float = 0.0
    redirect_result_to: str | None = None
    slow_result_seconds: float = 0.0

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            if item.name.endswith("_rate") or item.name.startswith("rate_"):
                value = getattr(self, item.name)
                if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                    raise ConfigError(f"{item.name} must be a fraction between 0 and 1")
        if (
            min(
                self.slow_seconds,
                self.slow_result_seconds,
                self.stall_after_create_seconds,
            )
            < 0
        ):
            raise ConfigError("slow_seconds must not be negative")
        if not self.fail_codes:
            raise ConfigError("fail_codes must name at least one failCode")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FaultSettings:
        """Build from JSON-like data; unknown names are errors, lists become tuples."""
        known = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown fault settings: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in {"fail_codes", "content_violation_words"}:
                if not isinstance(value, list | tuple) or not all(
                    isinstance(item, str) for item in value
                ):
                    raise ConfigError(f"{name} must be a list of strings")
                value = tuple(value)
            elif name in {"redirect_result_to", "undocumented_state"}:
                if value is not None and not isinstance(value, str):
                    raise ConfigError(f"{name} must be a string or null")
            elif name == "drop_after_create":
                if not isinstance(value, bool):
                    raise ConfigError("drop_after_create must be true or false")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{name} must be a number")
            values[name] = value
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> FaultSettings:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"faults are not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise ConfigError("faults must be a JSON object")
        return cls.from_mapping(data)

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["fail_codes"] = list(self.fail_codes)
        data["content_violation_words"] = list(self.content_violation_words)
        return data


@dataclass
class SimulatorConfig:
    """Start-up settings. ``speed`` divides every provider delay (generation time,
    webhook retry delays, result URL lifetime); rate limits stay in real time."""

    api_key: str = "sim-key"
    host: str = "127.0.0.1"
    port: int = 0
    speed: float = 1.0
    # Base of result URLs; default: http://<bound host>:<bound port>.
    public_base_url: str | None = None
    data_dir: Path = Path("var/simulator")
    faults: FaultSettings = field(default_factory=FaultSettings)
    seed: int | None = None
    rate_limit_per_minute: int = RATE_LIMIT_PER_MINUTE
    rate_limit_window_seconds: float = 60.0
    concurrent_limit: int = CONCURRENT_TASK_LIMIT
    # Replaces the draw from GENERATION_SECONDS (seconds before speed scaling).
    generation_time_override: GenerationTime | None = None
    # Result URL lifetime in seconds before speed scaling.
    result_url_ttl_seconds: float = float(RESULT_URL_TTL_SECONDS)
    # Webhook response timeout in real seconds; default max(5, 30 / speed).
    webhook_timeout_seconds: float | None = None
    image_fetch_timeout_seconds: float = 10.0
    # How long a result download waits for its file to finish encoding.
    result_wait_seconds: float = 120.0
    initial_balance: float = 500.0
    # USD charged per second of successful video, by resolution.
    price_per_second: Mapping[str, float] = field(
        default_factory=lambda: {"480p": 0.01, "720p": 0.02}
    )
    # Settled tasks kept for status reads (oldest forgotten first).
    max_tasks: int = 200_000
    video_workers: int = 2
    image_workers: int = 8
    webhook_workers: int = 8
    # Start encoding when a task is created (else only when its result is fetched).
    eager_synthesis: bool = True
    # False: one shared video per parameter set, whatever the prompt or images
    # (for load tests that should not spend their CPU on encoding).
    prompt_specific_videos: bool = True

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if self.speed <= 0:
            raise ConfigError("speed must be positive")
        if not self.api_key:
            raise ConfigError("api_key must not be empty")
        if self.rate_limit_per_minute < 1 or self.concurrent_limit < 1:
            raise ConfigError("rate limits must be at least 1")

    def scaled(self, seconds: float) -> float:
        """A provider delay in real seconds at this speed."""
        return seconds / self.speed

    @property
    def webhook_timeout(self) -> float:
        if self.webhook_timeout_seconds is not None:
            return self.webhook_timeout_seconds
        return max(5.0, self.scaled(30.0))
