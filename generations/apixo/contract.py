"""The Apixo Seedance 1.5 Pro contract as data (see ../shared/apixo-seedance-api.md).

Shared by the client, the simulator, the forms and the pipeline so that every part
agrees on the same values. No Django imports here: the simulator runs without Django.
"""

from __future__ import annotations

from typing import Final

MODEL: Final = "seedance-1-5-pro"
GENERATE_PATH: Final = f"/api/v1/generateTask/{MODEL}"
STATUS_PATH: Final = f"/api/v1/statusTask/{MODEL}"
BALANCE_PATH: Final = "/api/v1/apikeys/current-balance"

MODES: Final = ("text-to-video", "image-to-video")
RESOLUTIONS: Final = ("480p", "720p")
DURATIONS: Final = (4, 8, 12)
# The Seedance page lists 1:1, 16:9, 9:16, 21:9; its newer edition adds 4:3 and 3:4.
ASPECT_RATIOS: Final = ("1:1", "16:9", "9:16", "21:9", "4:3", "3:4")
DEFAULT_ASPECT_RATIO: Final = "1:1"
PROVIDERS: Final = ("auto", "value", "official")
REQUEST_TYPES: Final = ("async", "callback")
PROMPT_MIN: Final = 3
PROMPT_MAX: Final = 2500
MAX_IMAGES: Final = 2
MAX_IMAGE_BYTES: Final = 10 * 1024 * 1024
IMAGE_FORMATS: Final = ("JPEG", "PNG", "WEBP")

# Provider task states.
PENDING: Final = "pending"
PROCESSING: Final = "processing"
SUCCESS: Final = "success"
FAILED: Final = "failed"
STATES: Final = (PENDING, PROCESSING, SUCCESS, FAILED)

# Output frame sizes per resolution and aspect ratio (Seedance's published sizes).
# All even, as H.264 with 4:2:0 chroma requires.
FRAME_SIZES: Final[dict[tuple[str, str], tuple[int, int]]] = {
    ("480p", "1:1"): (640, 640),
    ("480p", "16:9"): (864, 480),
    ("480p", "9:16"): (480, 864),
    ("480p", "21:9"): (960, 416),
    ("480p", "4:3"): (736, 544),
    ("480p", "3:4"): (544, 736),
    ("720p", "1:1"): (960, 960),
    ("720p", "16:9"): (1280, 720),
    ("720p", "9:16"): (720, 1280),
    ("720p", "21:9"): (1470, 630),
    ("720p", "4:3"): (1112, 834),
    ("720p", "3:4"): (834, 1112),
}

# Documented generation time per video duration, in seconds (min, max).
GENERATION_SECONDS: Final[dict[int, tuple[float, float]]] = {
    4: (40.0, 60.0),
    8: (60.0, 90.0),
    12: (90.0, 120.0),
}

RESULT_URL_TTL_SECONDS: Final = 15 * 24 * 3600
# Webhook delivery retries after a failed delivery (30 s, 2 min, 10 min), then dropped.
WEBHOOK_RETRY_DELAYS: Final = (30.0, 120.0, 600.0)

RATE_LIMIT_PER_MINUTE: Final = 10_000
CONCURRENT_TASK_LIMIT: Final = 1_000


def gettext_noop(message: str) -> str:
    """Marks a sentence for the translation catalog (Django's, without Django).

    Members read these sentences translated: ``describe_failure`` in the models
    looks them up in the active language.
    """
    return message


# failCode -> plain words for members, and whether resubmitting may succeed.
FAIL_CODES: Final[dict[str, tuple[str, bool]]] = {
    "CONTENT_VIOLATION": (
        gettext_noop("The prompt or images break the provider's safety rules."),
        False,
    ),
    "NSFW_DETECTED": (gettext_noop("The provider detected adult content."), False),
    "INVALID_IMAGE_URL": (
        gettext_noop("The provider could not fetch an image URL."),
        True,
    ),
    "IMAGE_DOWNLOAD_FAILED": (
        gettext_noop("The provider could not download an image."),
        True,
    ),
    "IMAGE_TOO_LARGE": (
        gettext_noop("An image is larger than the provider accepts."),
        False,
    ),
    "UNSUPPORTED_FORMAT": (
        gettext_noop("The provider does not accept an image's format."),
        False,
    ),
    "PROMPT_TOO_LONG": (
        gettext_noop("The prompt is too long for the provider."),
        False,
    ),
    "INVALID_PROMPT": (gettext_noop("The provider rejected the prompt."), False),
    "PROCESSING_TIMEOUT": (
        gettext_noop("The provider timed out while generating; retry."),
        True,
    ),
    "MODEL_UNAVAILABLE": (
        gettext_noop("The model was temporarily unavailable; retry later."),
        True,
    ),
    "GENERATION_FAILED": (
        gettext_noop("The provider failed to generate the video."),
        True,
    ),
    "INSUFFICIENT_CREDITS": (
        gettext_noop("The provider account has run out of credits."),
        True,
    ),
}


def frame_size(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """Width and height of the video the provider returns for these parameters."""
    return FRAME_SIZES[(resolution, aspect_ratio)]


def describe_fail_code(code: str) -> str:
    """A member-readable sentence for a provider failCode (unknown codes included)."""
    if code in FAIL_CODES:
        return FAIL_CODES[code][0]
    return gettext_noop("The provider reported a failure it did not explain.")
