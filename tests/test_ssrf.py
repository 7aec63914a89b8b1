"""Server-side request forgery: member-given image URLs and result downloads never
reach loopback, link-local or private addresses, directly or through a redirect.

A listening socket stands in for the internal service: it must see no connection.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from generations import images, security
from generations.models import GenerationTask, State
from generations.pipeline import download
from generations.pipeline.download import DownloadError, check_result_url
from tests.factories import queue_task


class Listener:
    """A TCP socket that counts the connections it is offered."""

    def __init__(self, family: int = socket.AF_INET, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    running = Listener()
    yield running
    running.close()
    assert running.connections == 0


@pytest.fixture
def listener6() -> Iterator[Listener]:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        running = Listener(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    yield running
    running.close()
    assert running.connections == 0


def internal_urls(port: int, port6: int) -> list[str]:
    return [
        f"https://127.0.0.1:{port}/a.png",
        f"https://localhost:{port}/a.png",
        f"https://LOCALHOST.:{port}/a.png",
        f"https://app.localhost:{port}/a.png",
        f"https://127.1:{port}/a.png",
        f"https://2130706433:{port}/a.png",
        f"https://0x7f000001:{port}/a.png",
        f"https://017700000001:{port}/a.png",
        f"https://0:{port}/a.png",
        f"https://0.0.0.0:{port}/a.png",
        f"https://[::1]:{port6}/a.png",
        f"https://[::]:{port}/a.png",
        f"https://[::ffff:127.0.0.1]:{port}/a.png",
        f"https://[::ffff:7f00:1]:{port}/a.png",
        f"https://[64:ff9b::7f00:1]:{port}/a.png",
        f"https://[2002:7f00:1::]:{port}/a.png",
        f"https://[::127.0.0.1]:{port}/a.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fe80::1%25eth0]/a.png",
        "https://10.0.0.1/a.png",
        "https://172.16.5.4/a.png",
        "https://192.168.1.1/a.png",
        "https://100.64.0.1/a.png",
        "https://198.18.0.1/a.png",
        "https://[fc00::1]/a.png",
        "https://[fd12:3456::1]/a.png",
        "https://224.0.0.1/a.png",
        "https://255.255.255.255/a.png",
        f"http://example.com:{port}/a.png",
        f"ftp://example.com:{port}/a.png",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        f"https://user:pass@example.com:{port}/a.png",
        f"//127.0.0.1:{port}/a.png",
        "https:///a.png",
        "https://example.com:99999/a.png",
        # Unicode, percent-encoded, full-width spellings (IDNA UTS46 maps them).
        "https://\u2460\u2461\u2466.0.0.1/a.png",
        "https://127\u30020\u30020\u30021/a.png",
        "https://127.0.0.1\uff0e/a.png",
        "https://127.0.0.1%2e/a.png",
        "https://127%2e0%2e0%2e1/a.png",
        "https://\uff11\uff12\uff17.0.0.1/a.png",
        "https://127\uff610\uff610\uff611/a.png",
        "https://LOCALHOST\uff0e/a.png",
        "https://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/a.png",
        "https://10.0.0.1./a.png",
    ]


URL_CASES = internal_urls(1, 1)


@pytest.mark.parametrize("url", URL_CASES)
def test_it_refuses_image_urls_that_are_not_public_https(url: str) -> None:
    with pytest.raises(images.ImageRejected) as refused:
        images.check_public_url(url)
    assert refused.value.message  # shown to the member as is


@pytest.mark.parametrize(
    "url",
    [
        "https://images.example.com/frames/start.jpg",
        "https://8.8.8.8/a.png",
        "https://[2606:4700:4700::1111]/a.png",
        "https://cdn.example.org:8443/a.png?size=large",
    ],
)
def test_it_accepts_public_https_image_urls(url: str) -> None:
    assert images.check_public_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8./a.png",
        "https://8.8.8.8%2e/a.png",
        "https://\u2467.8.8.8/a.png",
        "https://134744072/a.png",
        "https://0x8.8.8.8/a.png",
        "https://[2606:4700:4700:0:0:0:0:1111]/a.png",
    ],
)
def test_it_refuses_public_addresses_spelled_unusually(url: str) -> None:
    with pytest.raises(images.ImageRejected) as refused:
        images.check_public_url(url)
    assert "the usual way" in refused.value.message


def test_it_accepts_international_host_names() -> None:
    url = "https://b\u00fccher.example/a.png"
    assert images.check_public_url(url) == url


@pytest.mark.django_db
def test_it_makes_no_connection_for_a_member_given_url(
    client: Any, alice: Any, listener: Listener, listener6: Listener
) -> None:
    client.force_login(alice)
    for url in internal_urls(listener.port, listener6.port):
        response = client.post(
            "/tasks/",
            {
                "mode": "image-to-video",
                "prompt": "a hummingbird hovering at a red flower",
                "resolution": "480p",
                "duration": 4,
                "aspect_ratio": "16:9",
                "routing": "auto",
                "delivery": "polling",
                "start_image_url": url,
            },
        )
        assert response.status_code == 422, url
    assert not GenerationTask.objects.exists()


# --- Result downloads ---------------------------------------------------------------


@pytest.fixture
def production_downloads(settings: Any) -> None:
    """As with the real provider: https only, its hosts only, public addresses."""
    settings.APIXO_RESULT_ALLOW_LOCAL = False
    settings.APIXO_RESULT_HOSTS = [".apixo.ai"]


def fake_dns(monkeypatch: Any, answers: dict[str, list[str]]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            family = socket.AF_INET
            return [
                (
                    socket.AF_INET6 if ":" in a else family,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port),
                )
                for a in answers[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(security.socket, "getaddrinfo", getaddrinfo)


@pytest.mark.usefixtures("production_downloads")
@pytest.mark.parametrize(
    "answer",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "100.64.1.1",
        "::1",
        "::ffff:127.0.0.1",
        "64:ff9b::a00:1",
        "fe80::1%eth0",
        "0.0.0.0",
    ],
)
def test_it_refuses_a_provider_host_that_resolves_inside(
    monkeypatch: Any, answer: str
) -> None:
    fake_dns(monkeypatch, {"cdn.apixo.ai": ["93.184.216.34", answer]})
    with pytest.raises(DownloadError, match="private address") as refused:
        check_result_url("https://cdn.apixo.ai/r/1.mp4")
    assert refused.value.permanent


@pytest.mark.usefixtures("production_downloads")
@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.apixo.ai/r/1.mp4",
        "https://127.0.0.1/r/1.mp4",
        "https://[::1]/r/1.mp4",
        "https://apixo.ai.evil.example/r/1.mp4",
        "https://evilapixo.ai/r/1.mp4",
        "https://user:pw@cdn.apixo.ai/r/1.mp4",
        "https://cdn.apixo.ai:99999/r/1.mp4",
        "ftp://cdn.apixo.ai/r/1.mp4",
        "/relative/1.mp4",
    ],
)
def test_it_refuses_result_urls_off_the_provider(url: str) -> None:
    with pytest.raises(DownloadError) as refused:
        check_result_url(url)
    assert refused.value.permanent


class Redirector(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def redirector() -> Iterator[tuple[str, type[Redirector]]]:
    handler = type("Handler", (Redirector,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def downloading_task(alice: Any, url: str) -> GenerationTask:
    task = queue_task(alice)
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.DOWNLOADING, result_urls=[url]
    )
    return task


@pytest.mark.django_db
def test_it_follows_no_redirect_to_an_internal_address(
    alice: Any,
    settings: Any,
    listener: Listener,
    listener6: Listener,
    redirector: tuple[str, type[Redirector]],
) -> None:
    """With the simulator's settings (plain http, its one host), a result that
    redirects anywhere else is refused before any connection is made."""
    base, handler = redirector
    settings.APIXO_RESULT_ALLOW_LOCAL = True
    settings.APIXO_RESULT_HOSTS = ["127.0.0.1"]
    targets = [
        f"http://localhost:{listener.port}/v.mp4",
        f"http://[::1]:{listener6.port}/v.mp4",
        f"http://[::ffff:127.0.0.1]:{listener.port}/v.mp4",
        f"http://2130706433:{listener.port}/v.mp4",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/v.mp4",
        "file:///etc/passwd",
    ]
    for target in targets:
        handler.target = target
        task = downloading_task(alice, f"{base}/result.mp4")
        download.download_result(task.pk)
        task.refresh_from_db()
        assert "refusing" in task.last_error, (target, task.last_error)
        assert task.state == State.DOWNLOADING  # retried later, never followed


@pytest.mark.django_db
@pytest.mark.usefixtures("production_downloads")
def test_it_checks_every_redirect_hop_against_the_provider_rules(
    alice: Any, monkeypatch: Any, listener: Listener
) -> None:
    """With the real provider's settings: the first hop is allowed, its redirect
    to an internal address is refused before any connection."""
    fake_dns(monkeypatch, {"cdn.apixo.ai": ["93.184.216.34"]})
    opened: list[str] = []

    class Redirect:
        is_redirect = True
        status_code = 302
        headers = {"Location": f"https://127.0.0.1:{listener.port}/v.mp4"}

        def __enter__(self) -> Redirect:
            return self

        def __exit__(self, *exc: Any) -> None:
            pass

    def fake_get(url: str, **kwargs: Any) -> Redirect:
        opened.append(url)
        assert kwargs["allow_redirects"] is False
        return Redirect()

    monkeypatch.setattr(download.requests, "get", fake_get)
    task = downloading_task(alice, "https://cdn.apixo.ai/r/1.mp4")
    download.download_result(task.pk)
    task.refresh_from_db()
    assert opened == ["https://cdn.apixo.ai/r/1.mp4"]
    assert "refusing" in task.last_error
