"""Validation of generateTask bodies, answering with the provider's 400 wording.

Where the contract gives no default (mode, prompt, resolution, duration) the field is
required: a studio bug then shows up locally instead of at the provider. ``sound``
and ``fixed_lens`` default to false, ``aspect_ratio`` to 1:1, ``request_type`` to
async and ``provider`` to auto. Unknown fields are ignored. ``image_urls`` may be
absent, null or empty for text-to-video; a non-empty list there is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from generations.apixo.contract import (
    ASPECT_RATIOS,
    DEFAULT_ASPECT_RATIO,
    DURATIONS,
    MAX_IMAGES,
    MODES,
    PROMPT_MAX,
    PROMPT_MIN,
    PROVIDERS,
    REQUEST_TYPES,
    RESOLUTIONS,
)


class InvalidRequest(Exception):
    """The body breaks the contract; ``str(error)`` is the provider's error text."""


@dataclass(frozen=True)
class GenerateRequest:
    request_type: str
    callback_url: str | None
    provider: str
    mode: str
    prompt: str
    resolution: str
    duration: int
    sound: bool
    aspect_ratio: str
    fixed_lens: bool
    image_urls: tuple[str, ...]


def parse_generate_body(raw: bytes) -> GenerateRequest:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidRequest("Malformed JSON body") from None
    if not isinstance(body, dict):
        raise InvalidRequest("Request body must be a JSON object")
    return validate_generate_body(body)


def validate_generate_body(body: dict[str, Any]) -> GenerateRequest:
    request_type = _choice(body, "request_type", REQUEST_TYPES, default="async")
    callback_url = body.get("callback_url")
    if request_type == "callback":
        if callback_url in (None, ""):
            raise InvalidRequest("Missing required field: callback_url")
        callback_url = _url(callback_url, "callback_url")
    elif callback_url is not None:
        callback_url = _url(callback_url, "callback_url")
    provider = _choice(body, "provider", PROVIDERS, default="auto")
    if "input" not in body or body["input"] is None:
        raise InvalidRequest("Missing required field: input")
    params = body["input"]
    if not isinstance(params, dict):
        raise InvalidRequest("Invalid field: input must be an object")
    mode = _choice(params, "mode", MODES, prefix="input.")
    return GenerateRequest(
        request_type=request_type,
        callback_url=callback_url,
        provider=provider,
        mode=mode,
        prompt=_prompt(params),
        resolution=_choice(params, "resolution", RESOLUTIONS, prefix="input."),
        duration=_duration(params),
        sound=_boolean(params, "sound"),
        aspect_ratio=_choice(
            params,
            "aspect_ratio",
            ASPECT_RATIOS,
            prefix="input.",
            default=DEFAULT_ASPECT_RATIO,
        ),
        fixed_lens=_boolean(params, "fixed_lens"),
        image_urls=_image_urls(params, mode),
    )


def _choice(
    data: dict[str, Any],
    name: str,
    allowed: tuple[str, ...],
    *,
    prefix: str = "",
    default: str | None = None,
) -> str:
    value = data.get(name)
    if value is None:
        if default is None:
            raise InvalidRequest(f"Missing required field: {prefix}{name}")
        return default
    if value not in allowed:
        raise InvalidRequest(
            f"Invalid field: {prefix}{name} must be one of {', '.join(allowed)}"
        )
    return str(value)


def _prompt(params: dict[str, Any]) -> str:
    prompt = params.get("prompt")
    if prompt is None or prompt == "":
        raise InvalidRequest("Missing required field: input.prompt")
    if not isinstance(prompt, str):
        raise InvalidRequest("Invalid field: input.prompt must be a string")
    if not PROMPT_MIN <= len(prompt) <= PROMPT_MAX:
        raise InvalidRequest(
            f"Invalid field: input.prompt must be {PROMPT_MIN} to {PROMPT_MAX} "
            "characters"
        )
    return prompt


def _duration(params: dict[str, Any]) -> int:
    value = params.get("duration")
    if value is None:
        raise InvalidRequest("Missing required field: input.duration")
    # bool is an int in Python; JSON true is not a duration.
    if isinstance(value, bool) or not isinstance(value, int) or value not in DURATIONS:
        allowed = ", ".join(str(item) for item in DURATIONS)
        raise InvalidRequest(f"Invalid field: input.duration must be one of {allowed}")
    return value


def _boolean(params: dict[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise InvalidRequest(f"Invalid field: input.{name} must be a boolean")
    return value


def _image_urls(params: dict[str, Any], mode: str) -> tuple[str, ...]:
    value = params.get("image_urls")
    if mode == "text-to-video":
        if value not in (None, []):
            raise InvalidRequest(
                "Invalid field: input.image_urls is only allowed for image-to-video"
            )
        return ()
    if value is None or value == []:
        raise InvalidRequest("Missing required field: input.image_urls")
    if not isinstance(value, list):
        raise InvalidRequest("Invalid field: input.image_urls must be an array")
    if len(value) > MAX_IMAGES:
        raise InvalidRequest(
            f"Invalid field: input.image_urls takes at most {MAX_IMAGES} images"
        )
    return tuple(_url(item, "input.image_urls") for item in value)


def _url(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"Invalid field: {name} must be a URL string")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequest(f"Invalid field: {name} must be an http(s) URL")
    return value
