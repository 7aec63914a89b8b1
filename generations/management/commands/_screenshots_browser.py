"""The browser half of ``manage.py screenshots``: serve the seeded site, shoot it.

Its own module (the leading underscore keeps Django from listing it as a command).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.core.management.base import CommandError

PASSWORD = "screenshots-only"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1440, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")
# The interface languages; every page is shot in each (settings.LANGUAGES).
LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve() -> Iterator[str]:
    port = _free_port()
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    server = subprocess.Popen(
        [sys.executable, manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_for_port(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CommandError("runserver exited before it answered.")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.2)
    raise CommandError("runserver did not answer within 30 s.")


def shoot(base_url: str, out: Path, chromium: str, pages: dict[str, str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS
        )
        for language in LANGUAGES:
            folder = out / language
            folder.mkdir(parents=True, exist_ok=True)
            for device, options in DEVICES.items():
                for scheme in SCHEMES:
                    # The browser's Accept-Language picks the interface language.
                    context = browser.new_context(
                        color_scheme=scheme, locale=language, **options
                    )
                    page = context.new_page()
                    written += _shoot_pages(
                        page, base_url, folder, pages, device, scheme
                    )
                    context.close()
        browser.close()
    return written


def _shoot_pages(
    page: Any,
    base_url: str,
    folder: Path,
    pages: dict[str, str],
    device: str,
    scheme: str,
) -> list[Path]:
    options = DEVICES[device]
    written: list[Path] = []
    _log_in(page, base_url)
    for name, path in pages.items():
        page.goto(base_url + path)
        _settle(page)
        target = folder / f"{name}-{device}-{scheme}.png"
        # On a desktop the Studio's form scrolls inside its sticky
        # panel: the viewport is what a member sees.
        full = not (name == "dashboard" and device == "desktop")
        page.screenshot(path=str(target), full_page=full)
        written.append(target)
        _refuse_sideways_scroll(page, f"{folder.name}/{name}", options)
    if device == "desktop":
        written.append(_shoot_selection(page, base_url, folder, scheme))
    else:
        written.append(_shoot_menu(page, base_url, folder, scheme))
    return written


def _refuse_sideways_scroll(page: Any, name: str, options: dict[str, Any]) -> None:
    width = options["viewport"]["width"]
    scrolled = page.evaluate("document.documentElement.scrollWidth")
    if scrolled > width:
        # Name the deepest elements that reach past the edge: the culprits.
        culprits = page.evaluate(
            """(width) => [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > width
                    && ![...el.children].some(
                        (c) => c.getBoundingClientRect().right > width))
                .slice(0, 5)
                .map((el) => el.tagName.toLowerCase()
                    + (el.id ? '#' + el.id : '')
                    + (el.className ? '.' + [...el.classList].join('.') : '')
                    + ' ' + Math.round(el.getBoundingClientRect().right))""",
            width,
        )
        raise CommandError(
            f"{name} scrolls sideways at {width} px ({scrolled} px): "
            + ", ".join(culprits)
        )


def _shoot_menu(page: Any, base_url: str, out: Path, scheme: str) -> Path:
    """The phone's open menu: every entry of the main navigation reachable."""
    page.goto(f"{base_url}/")
    _settle(page)
    # Selectors by attribute, not by label: they hold in every language.
    page.locator("[data-nav-toggle]").click()
    page.wait_for_timeout(300)
    target = out / f"menu-phone-{scheme}.png"
    page.screenshot(path=str(target))
    return target


def _log_in(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.locator("input[name=username]").fill("maya")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator(".auth-form [type=submit]").click()
    page.wait_for_url(f"{base_url}/")


def _settle(page: Any) -> None:
    """Load every lazy image (full-page shots include what is below the fold)."""
    page.wait_for_load_state("load")
    images = page.locator("main img")
    for index in range(images.count()):
        image = images.nth(index)
        if image.is_visible():
            image.scroll_into_view_if_needed()
    page.mouse.wheel(0, -100_000)
    page.wait_for_load_state("networkidle")
    player = page.locator("video.player")
    if player.count():
        # Chromium's controls show a loading spinner until the first frame is
        # decoded, and fade it out for about a second after.
        deadline = time.monotonic() + 10
        while player.evaluate("video => video.readyState") < 2:
            if time.monotonic() > deadline:
                break
            page.wait_for_timeout(100)
        page.wait_for_timeout(1200)
    page.wait_for_timeout(300)


def _shoot_selection(page: Any, base_url: str, out: Path, scheme: str) -> Path:
    """The gallery with three videos ticked: the selection bar and its actions."""
    page.goto(f"{base_url}/gallery/")
    _settle(page)
    for index in range(3):
        page.locator(".tile-select").nth(index).click()
    page.wait_for_timeout(400)
    target = out / f"gallery-selecting-desktop-{scheme}.png"
    page.screenshot(path=str(target))
    return target
