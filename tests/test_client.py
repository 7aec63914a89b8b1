"""The provider client against the simulator over real HTTP."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from generations.apixo import client as api
from generations.apixo.simulator.running import RunningSimulator
from tests.sim import API_KEY

TEXT_INPUT = {
    "mode": "text-to-video",
    "prompt": "a calm seaside sunrise with gentle camera dolly movement",
    "resolution": "720p",
    "duration": 8,
    "sound": True,
    "aspect_ratio": "16:9",
    "fixed_lens": False,
}


def make_client(sim: RunningSimulator, **kwargs: Any) -> api.ApixoClient:
    options: dict[str, Any] = {"base_url": sim.base_url, "api_key": API_KEY}
    options.update(kwargs)
    return api.ApixoClient(**options)


def wait_for(client: api.ApixoClient, task_id: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get_status(task_id)
        if status.is_terminal or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_it_creates_a_task_and_reads_it_to_success(sim: RunningSimulator) -> None:
    client = make_client(sim)
    task_id = client.create_task(input=TEXT_INPUT, provider="value")
    assert task_id
    first = client.get_status(task_id)
    assert first.state in ("pending", "processing", "success")
    status = wait_for(client, task_id)
    assert status.state == "success"
    assert status.result_urls and status.result_urls[0].startswith(sim.base_url)
    assert status.create_time_ms and status.complete_time_ms and status.cost_time_ms


def test_it_reports_a_failed_task_with_its_code(sim: RunningSimulator) -> None:
    client = make_client(sim)
    body = dict(TEXT_INPUT, prompt="something forbidden on a beach")
    status = wait_for(client, client.create_task(input=body))
    assert status.state == "failed"
    assert status.fail_code == "CONTENT_VIOLATION"
    assert status.fail_message


def test_it_reads_the_account_balance(sim: RunningSimulator) -> None:
    assert make_client(sim).get_balance() > 0


def test_it_types_a_wrong_key_as_auth_error(sim: RunningSimulator) -> None:
    with pytest.raises(api.AuthError) as info:
        make_client(sim, api_key="wrong-key").create_task(input=TEXT_INPUT)
    assert info.value.status == 401 and info.value.maybe_sent is False
    assert "wrong-key" not in str(info.value)


def test_it_types_a_validation_error_with_its_detail(sim: RunningSimulator) -> None:
    body = dict(TEXT_INPUT, duration=5)
    with pytest.raises(api.BadRequest) as info:
        make_client(sim).create_task(input=body)
    assert info.value.status == 400 and info.value.maybe_sent is False
    assert "duration" in str(info.value)


def test_it_types_an_unknown_task_as_not_found(sim: RunningSimulator) -> None:
    with pytest.raises(api.NotFound):
        make_client(sim).get_status("task_does_not_exist")


def test_it_types_429_with_retry_after(sim: RunningSimulator) -> None:
    sim.set_faults({"rate_429": 1.0})
    with pytest.raises(api.RateLimited) as info:
        make_client(sim).create_task(input=TEXT_INPUT)
    assert info.value.retry_after is not None
    assert info.value.maybe_sent is False and info.value.retryable


@pytest.mark.parametrize("fault,status", [("rate_500", 500), ("rate_503", 503)])
def test_it_types_server_errors_as_maybe_sent(
    sim: RunningSimulator, fault: str, status: int
) -> None:
    sim.set_faults({fault: 1.0})
    with pytest.raises(api.ServerError) as info:
        make_client(sim).create_task(input=TEXT_INPUT)
    assert info.value.status == status
    assert info.value.maybe_sent and info.value.retryable


def test_it_types_a_broken_body_as_malformed(sim: RunningSimulator) -> None:
    sim.set_faults({"malformed_json_rate": 1.0})
    with pytest.raises(api.MalformedResponse):
        make_client(sim).create_task(input=TEXT_INPUT)


def test_it_types_a_malformed_result_json(sim: RunningSimulator) -> None:
    sim.set_faults({"malformed_result_json_rate": 1.0})
    client = make_client(sim)
    task_id = client.create_task(input=TEXT_INPUT)
    deadline = time.monotonic() + 10
    with pytest.raises(api.MalformedResponse) as info:
        while time.monotonic() < deadline:
            client.get_status(task_id)
            time.sleep(0.05)
    assert "resultJson" in str(info.value)


def test_it_types_a_timeout_after_sending_as_maybe_sent(sim: RunningSimulator) -> None:
    sim.set_faults({"slow_seconds": 2.0, "slow_rate": 1.0})
    with pytest.raises(api.TransportError) as info:
        make_client(sim, timeout=0.3).create_task(input=TEXT_INPUT)
    assert info.value.maybe_sent is True


def test_it_types_a_dropped_connection_as_maybe_sent(sim: RunningSimulator) -> None:
    sim.set_faults({"drop_connection_rate": 1.0, "drop_after_create": True})
    with pytest.raises(api.TransportError) as info:
        make_client(sim).create_task(input=TEXT_INPUT)
    assert info.value.maybe_sent is True


def test_it_types_a_refused_connection_as_not_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = api.ApixoClient(base_url=f"http://127.0.0.1:{port}", api_key="k")
    with pytest.raises(api.TransportError) as info:
        client.create_task(input=TEXT_INPUT)
    assert info.value.maybe_sent is False and info.value.retryable


def test_it_never_shows_the_key(sim: RunningSimulator) -> None:
    client = make_client(sim, api_key="secret-key-123")
    assert "secret-key-123" not in repr(client)
    with pytest.raises(api.ProviderError) as info:
        client.get_balance()
    assert "secret-key-123" not in str(info.value) + repr(info.value)


def test_it_types_a_connect_timeout_as_not_sent() -> None:
    """A timeout while connecting proves the request never left us."""
    from unittest import mock

    import requests

    client = api.ApixoClient(base_url="https://api.apixo.ai", api_key="k")
    with (
        mock.patch.object(
            client.session, "request", side_effect=requests.ConnectTimeout("slow")
        ),
        pytest.raises(api.TransportError) as info,
    ):
        client.create_task(input=TEXT_INPUT)
    assert info.value.maybe_sent is False and info.value.retryable


def test_it_types_a_read_timeout_as_maybe_sent() -> None:
    from unittest import mock

    import requests

    client = api.ApixoClient(base_url="https://api.apixo.ai", api_key="k")
    with (
        mock.patch.object(
            client.session, "request", side_effect=requests.ReadTimeout("slow")
        ),
        pytest.raises(api.TransportError) as info,
    ):
        client.create_task(input=TEXT_INPUT)
    assert info.value.maybe_sent is True
