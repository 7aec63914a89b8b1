"""Login throttling: per (username, address) and per address, never per username
alone, so a stranger cannot lock a member out."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.signals import user_login_failed
from django.test import RequestFactory

from generations import security
from generations.models import LoginSlot

pytestmark = pytest.mark.django_db

STRANGER = "203.0.113.9"
MEMBER_HOME = "198.51.100.7"


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Mid-window, so no test straddles the 15-minute boundary by chance."""
    now = [1_000_000 * security.WINDOW_SECONDS + 10.0]
    monkeypatch.setattr(security.time, "time", lambda: now[0])
    return now


def log_in(
    client: Any, username: str, password: str, address: str, **extra: Any
) -> Any:
    return client.post(
        "/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **extra,
    )


def fail(client: Any, username: str, address: str, times: int) -> None:
    for _ in range(times):
        assert log_in(client, username, "wrong", address).status_code in (200, 429)


def test_it_pauses_an_address_guessing_one_account(client: Any, alice: Any) -> None:
    fail(client, "alice", STRANGER, 5)
    response = log_in(client, "alice", "alice-password", STRANGER)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed log-ins from your network" in page
    assert "paused here for 15 minutes;" in page
    assert response["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session


def test_it_never_locks_the_member_out_from_elsewhere(client: Any, alice: Any) -> None:
    fail(client, "alice", STRANGER, 12)  # the last 7 are refused unchecked
    response = log_in(client, "alice", "alice-password", MEMBER_HOME)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_pauses_an_address_spraying_many_accounts(
    client: Any, alice: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = 8
    for n in range(8):
        fail(client, f"user{n}", STRANGER, 1)
    assert log_in(client, "alice", "alice-password", STRANGER).status_code == 429
    assert log_in(client, "alice", "alice-password", MEMBER_HOME).status_code == 302


def test_it_forgets_failures_after_a_success(client: Any, alice: Any) -> None:
    fail(client, "alice", MEMBER_HOME, 4)
    assert log_in(client, "alice", "alice-password", MEMBER_HOME).status_code == 302
    client.logout()
    fail(client, "alice", MEMBER_HOME, 4)
    assert log_in(client, "alice", "alice-password", MEMBER_HOME).status_code == 302


def test_it_does_not_check_the_password_while_paused(client: Any, alice: Any) -> None:
    fail(client, "alice", STRANGER, 5)
    seen: list[Any] = []
    user_login_failed.connect(
        lambda **kw: seen.append(kw), weak=False, dispatch_uid="t"
    )
    try:
        assert log_in(client, "alice", "wrong", STRANGER).status_code == 429
    finally:
        user_login_failed.disconnect(dispatch_uid="t")
    assert seen == []  # no password oracle while paused


def test_it_ignores_case_and_spaces_in_the_username(client: Any, alice: Any) -> None:
    for name in ("alice", "ALICE", " Alice ", "aLiCe", "alice "):
        fail(client, name, STRANGER, 1)
    assert log_in(client, "alice", "alice-password", STRANGER).status_code == 429


def test_it_lets_the_address_try_again_in_the_next_window(
    client: Any, alice: Any, clock: list[float]
) -> None:
    fail(client, "alice", STRANGER, 5)
    assert log_in(client, "alice", "alice-password", STRANGER).status_code == 429
    clock[0] += security.WINDOW_SECONDS
    assert log_in(client, "alice", "alice-password", STRANGER).status_code == 302


def test_it_counts_an_attempt_before_the_password_is_checked(alice: Any) -> None:
    """Parallel guesses cannot all pass: each takes its slot up front."""
    request = RequestFactory().post("/login/", REMOTE_ADDR=STRANGER)
    for _ in range(5):
        security.begin_login(request, "alice")
    with pytest.raises(security.LoginThrottled) as caught:
        security.begin_login(request, "alice")
    assert "try again" in caught.value.message


def test_it_lets_a_whole_team_behind_one_address_log_in(settings: Any) -> None:
    """Successes give their address slot back: fifty members behind one office
    NAT log in one after another at nine o'clock (only attempts being checked
    at the same instant, and failures, count against the address)."""
    settings.LOGIN_FAILURES_PER_ADDRESS = 30
    request = RequestFactory().post("/login/", REMOTE_ADDR=MEMBER_HOME)
    for n in range(50):
        security.begin_login(request, f"member{n}").succeeded()
    attempt = security.begin_login(request, "member51")  # not LoginThrottled
    # Only the attempt being checked holds a slot of the address.
    address_key = LoginSlot.objects.get(pk=attempt.address_slot_id).key
    assert LoginSlot.objects.filter(key=address_key).count() == 1


def test_it_slides_the_window_so_no_boundary_doubles_the_limit(
    client: Any, alice: Any, clock: list[float]
) -> None:
    """Five failures just before a fixed window would end still count a minute
    later: a fixed window let ten guesses through across its boundary."""
    boundary = (clock[0] // security.WINDOW_SECONDS + 1) * security.WINDOW_SECONDS
    clock[0] = boundary - 30
    fail(client, "alice", STRANGER, 5)
    clock[0] = boundary + 30
    response = log_in(client, "alice", "alice-password", STRANGER)
    assert response.status_code == 429
    assert response["Retry-After"] == str(security.WINDOW_SECONDS - 60)
    clock[0] = boundary - 30 + security.WINDOW_SECONDS + 1
    assert log_in(client, "alice", "alice-password", STRANGER).status_code == 302


def test_it_ignores_forwarded_for_unless_behind_our_proxy(
    client: Any, alice: Any, settings: Any
) -> None:
    for n in range(5):
        response = log_in(
            client, "alice", "wrong", STRANGER, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}"
        )
        assert response.status_code == 200
    # Rotating a forged header does not give a stranger new addresses.
    forged = log_in(client, "alice", "x", STRANGER, HTTP_X_FORWARDED_FOR="10.9.9.99")
    assert forged.status_code == 429
    settings.TRUSTED_PROXY_COUNT = 1
    behind_proxy = log_in(
        client,
        "alice",
        "alice-password",
        "127.0.0.1",
        HTTP_X_FORWARDED_FOR=f"1.2.3.4, {MEMBER_HOME}",
    )
    assert behind_proxy.status_code == 302


@pytest.mark.parametrize(
    ("remote", "forwarded", "hops", "expected"),
    [
        ("127.0.0.1", "", 0, "127.0.0.1"),
        ("127.0.0.1", "9.9.9.9", 0, "127.0.0.1"),
        ("127.0.0.1", "6.6.6.6, 9.9.9.9", 1, "9.9.9.9"),
        ("127.0.0.1", "6.6.6.6, 9.9.9.9, 10.0.0.2", 2, "9.9.9.9"),
        ("127.0.0.1", "9.9.9.9", 2, "127.0.0.1"),  # fewer hops than proxies
    ],
)
def test_it_finds_the_client_address(
    settings: Any, remote: str, forwarded: str, hops: int, expected: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = hops
    request = RequestFactory().get(
        "/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded
    )
    assert security.client_address(request) == expected


def test_it_groups_ipv6_clients_by_64() -> None:
    assert security.address_group("2001:db8:1:2:aaaa::1") == security.address_group(
        "2001:db8:1:2:bbbb::9"
    )
    assert security.address_group("2001:db8:1:3::1") != security.address_group(
        "2001:db8:1:2::1"
    )
    assert security.address_group("::ffff:192.0.2.1") == "192.0.2.1"
    assert security.address_group("not an address") == "not an address"


def test_it_throttles_the_admin_log_in_too(client: Any, staff: Any) -> None:
    for _ in range(5):
        client.post(
            "/admin/login/",
            {"username": "sam", "password": "wrong"},
            REMOTE_ADDR=STRANGER,
        )
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "sam", "password": "sam-password"},
        REMOTE_ADDR=STRANGER,
    )
    assert response.status_code == 200
    assert "Too many failed log-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    ok = client.post(
        "/admin/login/?next=/admin/",
        {"username": "sam", "password": "sam-password"},
        REMOTE_ADDR=MEMBER_HOME,
    )
    assert ok.status_code == 302
