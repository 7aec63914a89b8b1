"""Abuse controls: login throttling, the client's address, upload caps, public IPs.

Login throttling counts per (username, address) pair and per address, never per
username alone: a stranger guessing a member's password locks out only their own
address, never the member. An attempt takes its slots (database rows) *before*
the password is checked, so parallel guesses cannot all slip past a limit; a
success gives its slots back, so a whole team behind one NAT can log in at once.
Windows slide (an attempt counts for 15 minutes after it was made).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import math
import socket
import time
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import idna
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template import loader
from django.utils.translation import ngettext

from generations.apixo import contract
from generations.models import LoginSlot

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


# --- The client's address ---------------------------------------------------------


def client_address(request: HttpRequest) -> str:
    """The address a request came from, trusting only our own proxies.

    Behind ``TRUSTED_PROXY_COUNT`` proxies that each append to X-Forwarded-For,
    the client is the entry that many places from the right; anything further
    left was written by the client and may be forged.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    hops = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    if hops <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if part.strip()
    ]
    if len(forwarded) < hops:
        return remote
    return forwarded[-hops]


def address_group(address: str) -> str:
    """What one client controls: an IPv4 address, or an IPv6 /64."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address[:64] or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed)


# --- Login throttling --------------------------------------------------------------

WINDOW_SECONDS = 15 * 60


def pair_limit() -> int:
    return int(getattr(settings, "LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS", 5))


def address_limit() -> int:
    return int(getattr(settings, "LOGIN_FAILURES_PER_ADDRESS", 30))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class LoginAttempt:
    """The counter slots (LoginSlot rows) one login attempt took."""

    slot_ids: tuple[int, ...]
    address_slot_id: int

    def succeeded(self) -> None:
        # The member is who they say: this attempt counts against nothing, and
        # the pair's earlier failures are forgotten.
        pair_key = (
            LoginSlot.objects.filter(pk__in=self.slot_ids)
            .exclude(pk=self.address_slot_id)
            .values_list("key", flat=True)
            .first()
        )
        LoginSlot.objects.filter(pk__in=self.slot_ids).delete()
        if pair_key:
            LoginSlot.objects.filter(key=pair_key).delete()

    def failed(self) -> None:
        """The slots stay taken until they slide out of the window."""


class LoginThrottled(Exception):
    def __init__(self, seconds_left: float) -> None:
        super().__init__("too many login attempts")
        self.seconds_left = seconds_left

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.seconds_left / 60))
        return ngettext(
            "Too many failed log-ins from your network. For your security, "
            "log-in is paused here for %(minutes)s minute; try again then. "
            "Forgotten your password? Ask your team's admin to reset it.",
            "Too many failed log-ins from your network. For your security, "
            "log-in is paused here for %(minutes)s minutes; try again then. "
            "Forgotten your password? Ask your team's admin to reset it.",
            minutes,
        ) % {"minutes": minutes}


def _reserve(key: str, limit: int, now: float) -> tuple[int, float | None]:
    """Take a slot of ``key``; returns its id and, if over the limit, the seconds
    until the oldest slot in the window slides out (the slot is then given back).

    The INSERT comes first and the COUNT second, so of any number of parallel
    attempts at most ``limit`` can see themselves within it (a database
    reservation, never a read-then-write cache counter).
    """
    since = now - WINDOW_SECONDS
    # Slots that slid out of every window, of any key: the table holds only the
    # last 15 minutes of attempts.
    LoginSlot.objects.filter(at__lte=since).delete()
    slot = LoginSlot.objects.create(key=key, at=now)
    window = LoginSlot.objects.filter(key=key, at__gt=since)
    if window.count() <= limit:
        return slot.pk, None
    slot.delete()  # refused unchecked: it does not extend the pause
    oldest = window.order_by("at").values_list("at", flat=True).first()
    return slot.pk, max(1.0, (oldest if oldest is not None else now) - since)


def begin_login(
    request: HttpRequest, username: str, now: float | None = None
) -> LoginAttempt:
    """Take one attempt's slots, or raise LoginThrottled without checking anything.

    Windows slide: an attempt counts for ``WINDOW_SECONDS`` after it was made, so
    no boundary lets twice the limit through. The address counts attempts being
    checked and failures; a success gives its slot back, so a team behind one NAT
    may all log in at nine o'clock.
    """
    now = time.time() if now is None else now
    group = address_group(client_address(request))
    who = username.strip().lower()[:150]
    pair_key = f"pair:{_digest(who, group)}"
    address_key = f"address:{_digest(group)}"
    pair_id, pair_wait = _reserve(pair_key, pair_limit(), now)
    if pair_wait is not None:
        raise LoginThrottled(pair_wait)
    address_id, address_wait = _reserve(address_key, address_limit(), now)
    if address_wait is not None:
        LoginSlot.objects.filter(pk=pair_id).delete()
        raise LoginThrottled(address_wait)
    return LoginAttempt(slot_ids=(pair_id, address_id), address_slot_id=address_id)


class ThrottledLoginMixin(AuthenticationForm):
    """Takes the attempt's slots before the password is checked."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "%(message)s",
    }
    throttled = False
    retry_after = WINDOW_SECONDS

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password or self.request is None:
            return super().clean()
        try:
            attempt = begin_login(self.request, str(username))
        except LoginThrottled as exc:
            self.throttled = True
            self.retry_after = max(1, math.ceil(exc.seconds_left))
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"message": exc.message},
            ) from None
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            attempt.failed()
            raise
        attempt.succeeded()
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's own log-in page, throttled the same way."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": "%(message)s",
    }


class ThrottledLoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if getattr(form, "throttled", False):
            response.status_code = 429
            response["Retry-After"] = str(getattr(form, "retry_after", WINDOW_SECONDS))
        return response


login_view = ThrottledLoginView.as_view()


# --- Uploads -------------------------------------------------------------------------


class OversizedUpload(UploadedFile):  # type: ignore[type-arg]
    """Stands in for a file that passed the cap: its size says so, its body is
    empty, so the form answers "too large" and nothing more was kept."""

    def __init__(self, name: str, content_type: str | None, size: int) -> None:
        import io

        super().__init__(io.BytesIO(b""), name, content_type, size)


class CappedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: stops keeping a file once it passes the cap.

    Django would otherwise copy an upload of any size to a temporary file before
    a form could refuse it; past the cap, chunks are dropped (not handed on).
    """

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0
        self.cap = int(getattr(settings, "MAX_UPLOAD_FILE_BYTES", 0)) or (
            contract.MAX_IMAGE_BYTES
        )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        return None if self.received > self.cap else raw_data

    def file_complete(self, file_size: int) -> UploadedFile[bytes] | None:
        if self.received > self.cap:
            return OversizedUpload(
                self.file_name or "upload", self.content_type, self.received
            )
        return None


def max_files_per_request() -> int:
    return int(getattr(settings, "DATA_UPLOAD_MAX_NUMBER_FILES", 100) or 100)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 400 page: Django refuses a request with more files than
    ``DATA_UPLOAD_MAX_NUMBER_FILES`` (or fields) before any is read."""
    page = loader.get_template("400.html").render(
        {"max_files": max_files_per_request()}
    )
    return HttpResponseBadRequest(page)


# --- Public addresses ---------------------------------------------------------------

NAT64 = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
)
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64, Teredo...)."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if any(address in net for net in NAT64) or address in IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: Address) -> bool:
    """True only for globally routable unicast addresses, looking through IPv6
    forms that embed an IPv4 address (``::ffff:127.0.0.1`` is loopback)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None and not is_public_address(inner):
            return False
    return address.is_global and not address.is_multicast


class HostRefused(Exception):
    """A host we will not connect to; ``unresolved`` when it did not resolve
    (worth trying again later), else it resolves to a private address."""

    def __init__(self, message: str, *, unresolved: bool) -> None:
        super().__init__(message)
        self.unresolved = unresolved


def resolve_public(host: str, port: int) -> list[Address]:
    """The addresses ``host`` resolves to, if every one of them is public.

    The one check made just before we connect to an address a member (a webhook
    endpoint) or the provider (a result URL) gave us: a name that passed the text
    checks may still resolve to a private or loopback address.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise HostRefused(f"{host} does not resolve", unresolved=True) from None
    # A scoped IPv6 address ("fe80::1%eth0") parses with its zone dropped.
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not found or not all(is_public_address(address) for address in found):
        raise HostRefused(f"{host} resolves to a private address", unresolved=False)
    return found


# Full stops a resolver (or IDNA) reads as ".": ideographic, full-width, halfwidth.
FULL_STOPS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def normalise_host(host: str) -> str:
    """The host a resolver would look up: percent-decoded, IDNA UTS46-mapped
    (full-width and circled digits, ideographic full stops), lower case, without
    trailing dots. ``①②⑦。0。0。1`` and ``127.0.0.1%2e`` become ``127.0.0.1``.

    Raises ValueError for a host no resolver would accept.
    """
    decoded = unquote(host, errors="strict")
    if "%" in decoded and not decoded.startswith(("fe80:", "[")):
        raise ValueError("a host name cannot contain %")
    mapped = unicodedata.normalize("NFKC", decoded.translate(FULL_STOPS))
    try:
        mapped = idna.uts46_remap(mapped, std3_rules=False, transitional=False)
    except idna.IDNAError as exc:
        raise ValueError(str(exc)) from None
    return mapped.translate(FULL_STOPS).lower().rstrip(".")


def is_canonical_ip_host(host: str, address: Address) -> bool:
    """True if ``host`` (as urlsplit gives it: lower case, no brackets) is the
    address spelled the one usual way (``127.0.0.1``, ``2001:db8::1``)."""
    return host == str(address)


def parse_ip_host(host: str) -> Address | None:
    """The address a URL's host names literally, in any form a resolver accepts
    (``127.1``, ``2130706433``, ``0x7f.1``...), or None for a real host name."""
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


# --- Bounded parsing of dates and JSON --------------------------------------------

# Every date or moment a request may name lies in this range (gallery filters,
# exports, the live refresh); outside it Python's datetime arithmetic (a time
# zone, a day added) overflows into a 500.
EARLIEST_DAY = dt.date(1970, 1, 1)
LATEST_DAY = dt.date(2999, 12, 31)
MAX_JSON_DEPTH = 32


class UnboundedInput(ValueError):
    """A date or JSON document outside what we agree to parse."""


def bounded_day(day: dt.date) -> dt.date:
    """``day`` if it lies in [EARLIEST_DAY, LATEST_DAY]; raises UnboundedInput."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise UnboundedInput(f"Dates must lie between {EARLIEST_DAY} and {LATEST_DAY}.")
    return day


def bounded_moment(moment: dt.datetime) -> dt.datetime:
    """``moment`` (naive means UTC) in UTC, if its day is within bounds; raises
    UnboundedInput (``0001-01-01T00:00+23:59`` is a day before year 1 in UTC)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        in_utc = moment.astimezone(dt.UTC)
    except OverflowError:
        raise UnboundedInput("The time is out of range.") from None
    bounded_day(in_utc.date())
    return in_utc


def json_depth_within(body: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if no array or object in ``body`` nests deeper than ``limit``.

    A scan without recursion (strings and their escapes skipped), so a deep
    document is refused before ``json.loads`` would recurse into it.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def load_json(body: bytes | str, limit: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` of a document no deeper than ``limit``; raises ValueError
    (UnboundedInput for a too-deep one, json's own error for malformed ones)."""
    if not json_depth_within(body, limit):
        raise UnboundedInput("The JSON document is nested too deeply.")
    return json.loads(body)
