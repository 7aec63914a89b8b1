"""Checking a delivered video against the order: duration, frame size, sound.

The provider is paid for whatever MP4 it returns; the member should pay for what
they got. After the download is probed, the video is compared with the task's
order and each difference is stored with the task as a *finding* (a small dict,
data the card, the detail page, the overview and the ledger read):

- ``duration``: delivered seconds differ from the ordered ones by more than one
  frame per second of video (``ordered / NOMINAL_FPS``: 0.5 s on a 12 s order);
- ``aspect``: the frame's shape is more than ``ASPECT_TOLERANCE`` off the order's;
- ``resolution``: the frame's short side is below ``SIZE_TOLERANCE`` of the
  ordered resolution's; ``tier`` names the best resolution it does reach (the
  lowest one if none), which is what the member is charged for;
- ``audio``: a sound track is missing although sound was ordered (or present
  although a silent video was ordered).

How a finding changes the charge is a price rule, so it lives with the prices
(``credits.delivered_charge``). Pure functions: no Django models imported here.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from django.utils.formats import number_format
from django.utils.translation import gettext

from generations.apixo import contract

NOMINAL_FPS = 24
ASPECT_TOLERANCE = 0.02
SIZE_TOLERANCE = 0.95

Finding = dict[str, Any]


class Order(Protocol):
    resolution: str
    aspect_ratio: str
    duration: int
    sound: bool


class Delivered(Protocol):
    width: int
    height: int
    duration_seconds: float
    has_audio: bool


def duration_tolerance(ordered_seconds: float) -> float:
    """About one frame per second of video, at the provider's 24 fps."""
    return ordered_seconds / NOMINAL_FPS


def check(order: Order, video: Delivered) -> list[Finding]:
    """Every way ``video`` differs from ``order``; empty when it matches."""
    findings: list[Finding] = []
    delivered = round(float(video.duration_seconds), 2)
    if abs(delivered - order.duration) > duration_tolerance(order.duration):
        findings.append(
            {"kind": "duration", "ordered": order.duration, "delivered": delivered}
        )
    findings.extend(_frame_findings(order, video.width, video.height))
    if bool(video.has_audio) != bool(order.sound):
        findings.append(
            {"kind": "audio", "ordered": order.sound, "delivered": video.has_audio}
        )
    return findings


def _frame_findings(order: Order, width: int, height: int) -> list[Finding]:
    ordered_w, ordered_h = contract.frame_size(order.resolution, order.aspect_ratio)
    size = {"ordered": f"{ordered_w}x{ordered_h}", "delivered": f"{width}x{height}"}
    if width <= 0 or height <= 0:
        return [{"kind": "resolution", "tier": contract.RESOLUTIONS[0], **size}]
    findings: list[Finding] = []
    wanted = ordered_w / ordered_h
    if abs(width / height - wanted) / wanted > ASPECT_TOLERANCE:
        findings.append({"kind": "aspect", "aspect_ratio": order.aspect_ratio, **size})
    tier = reached_tier(order.aspect_ratio, min(width, height))
    if contract.RESOLUTIONS.index(tier) < contract.RESOLUTIONS.index(order.resolution):
        findings.append({"kind": "resolution", "tier": tier, **size})
    return findings


def reached_tier(aspect_ratio: str, short_side: int) -> str:
    """The best resolution whose short side this frame reaches (else the lowest)."""
    best = contract.RESOLUTIONS[0]
    for resolution in contract.RESOLUTIONS:
        w, h = contract.frame_size(resolution, aspect_ratio)
        if short_side >= min(w, h) * SIZE_TOLERANCE:
            best = resolution
    return best


def billed_seconds(findings: list[Finding], ordered: int) -> int:
    """Whole seconds delivered, at most the ordered ones."""
    for finding in findings:
        if finding.get("kind") == "duration":
            delivered = float(finding.get("delivered") or 0.0)
            return max(0, min(ordered, math.floor(delivered)))
    return ordered


def describe(finding: Finding) -> str:
    """One finding in plain words, for the card, the detail page and staff."""
    kind = finding.get("kind")
    if kind == "duration":
        return gettext("Delivered %(delivered)s s of %(ordered)s s ordered") % {
            "delivered": number_format(float(finding["delivered"]), 1),
            "ordered": finding["ordered"],
        }
    if kind == "aspect":
        return gettext(
            "Delivered a %(delivered)s frame instead of %(aspect_ratio)s (%(ordered)s)"
        ) % {
            "delivered": finding["delivered"],
            "aspect_ratio": finding["aspect_ratio"],
            "ordered": finding["ordered"],
        }
    if kind == "resolution":
        return gettext(
            "Delivered %(delivered)s instead of %(ordered)s (charged as %(tier)s)"
        ) % {
            "delivered": finding["delivered"],
            "ordered": finding["ordered"],
            "tier": finding["tier"],
        }
    if kind == "audio":
        if finding.get("ordered"):
            return gettext("Delivered without the sound that was ordered")
        return gettext("Delivered with sound although a silent video was ordered")
    return gettext("Delivered video differs from the order")


def describe_all(findings: list[Finding]) -> list[str]:
    return [describe(finding) for finding in findings if isinstance(finding, dict)]
