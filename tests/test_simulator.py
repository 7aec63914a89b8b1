"""The Apixo simulator over real HTTP: contract, errors, states, webhooks, faults."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import pytest
import requests

from generations.apixo.contract import BALANCE_PATH, GENERATE_PATH, STATUS_PATH
from generations.apixo.simulator import (
    FaultSettings,
    RunningSimulator,
    SimulatorConfig,
    start_simulator,
)
from generations.apixo.simulator.config import ConfigError
from generations.apixo.simulator.results import parse_range
from tests.simulator_helpers import (
    KEY,
    Api,
    LocalServer,
    local_server,
    solid_image,
    text_body,
    wait_for,
)

SPEED = 1000.0

TEXT_EXAMPLE: dict[str, Any] = {
    "request_type": "async",
    "provider": "value",
    "input": {
        "mode": "text-to-video",
        "prompt": "a calm seaside sunrise with gentle camera dolly movement",
        "resolution": "720p",
        "duration": 8,
        "sound": True,
        "aspect_ratio": "16:9",
        "fixed_lens": False,
    },
}


def image_example(callback_url: str, head: str, tail: str) -> dict[str, Any]:
    """The contract's second curl example, pointed at local servers."""
    return {
        "request_type": "callback",
        "callback_url": callback_url,
        "provider": "official",
        "input": {
            "mode": "image-to-video",
            "prompt": "animate this landscape with moving clouds and wind",
            "resolution": "480p",
            "duration": 4,
            "sound": False,
            "image_urls": [head, tail],
            "aspect_ratio": "1:1",
        },
    }


def start(tmp: Path, **overrides: Any) -> RunningSimulator:
    options: dict[str, Any] = {
        "api_key": KEY,
        "port": 0,
        "speed": SPEED,
        "data_dir": tmp,
        "seed": 1,
        "eager_synthesis": False,
    }
    options.update(overrides)
    return start_simulator(SimulatorConfig(**options))


@pytest.fixture(scope="module")
def shared_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    running = start(tmp_path_factory.mktemp("simulator"))
    yield running
    running.stop()


@pytest.fixture
def sim(shared_sim: RunningSimulator) -> RunningSimulator:
    shared_sim.reset()
    return shared_sim


@pytest.fixture
def api(sim: RunningSimulator) -> Api:
    return Api(sim)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


# The contract's examples


def test_it_accepts_the_text_to_video_curl_example(api: Api) -> None:
    response = api.generate(TEXT_EXAMPLE)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == 200
    assert body["message"] == "success"
    assert set(body["data"]) == {"taskId"}
    assert body["data"]["taskId"].startswith("task_")


def test_it_runs_the_image_to_video_webhook_example(
    api: Api, server: LocalServer
) -> None:
    server.files["/head.jpg"] = (
        solid_image((200, 0, 0), "JPEG", (64, 64)),
        "image/jpeg",
    )
    server.files["/tail.jpg"] = (
        solid_image((0, 0, 200), "JPEG", (64, 64)),
        "image/jpeg",
    )
    body = image_example(
        server.base_url + "/callback",
        server.base_url + "/head.jpg",
        server.base_url + "/tail.jpg",
    )
    task_id = api.create(body)
    final = api.wait_final(task_id)
    assert final["data"]["state"] == "success"
    wait_for(lambda: len(server.posts()) == 1)
    assert server.posts()[0].path == "/callback"
    assert server.json_posts()[0] == final


def test_it_answers_status_like_the_documented_success_example(api: Api) -> None:
    task_id = api.create(TEXT_EXAMPLE)
    answer = api.wait_final(task_id)
    assert answer["code"] == 200
    assert answer["message"] == "success"
    data = answer["data"]
    assert set(data) == {
        "taskId",
        "state",
        "resultJson",
        "createTime",
        "completeTime",
        "costTime",
    }
    assert data["taskId"] == task_id
    assert data["state"] == "success"
    assert isinstance(data["resultJson"], str)
    urls = json.loads(data["resultJson"])["resultUrls"]
    assert len(urls) == 1
    assert urls[0].startswith(api.base + f"/results/{task_id}.mp4?")
    assert data["costTime"] == data["completeTime"] - data["createTime"]
    # At speed 1000 an 8 s video takes 60-90 ms.
    assert 55 <= data["costTime"] <= 95
    assert abs(data["createTime"] / 1000 - time.time()) < 10


def test_it_answers_status_like_the_documented_failed_example(api: Api) -> None:
    task_id = api.create(text_body(prompt="something forbidden here"))
    answer = api.wait_final(task_id)
    assert answer["code"] == 200
    assert answer["data"]["state"] == "failed"
    assert answer["data"]["failCode"] == "CONTENT_VIOLATION"
    assert answer["data"]["failMsg"] == "Content does not meet safety guidelines"
    assert "resultJson" not in answer["data"]
    assert {"taskId", "createTime", "completeTime", "costTime"} <= set(answer["data"])


def test_it_moves_from_pending_through_processing_to_success(api: Api) -> None:
    # [sim:time=2000] at speed 1000: two real seconds, 100-300 ms of it queued.
    task_id = api.create(text_body(prompt="slow one [sim:time=2000]"))
    states: list[str] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        data = api.status(task_id).json()["data"]
        if not states or states[-1] != data["state"]:
            states.append(data["state"])
        if data["state"] == "success":
            break
        assert "resultJson" not in data
        assert "completeTime" not in data
        time.sleep(0.005)
    assert states == ["pending", "processing", "success"]
    assert 1990 <= data["costTime"] <= 2010


def test_it_draws_generation_times_from_the_documented_ranges(api: Api) -> None:
    costs = {}
    for duration in (4, 8, 12):
        task_id = api.create(text_body(duration=duration))
        costs[duration] = api.wait_final(task_id)["data"]["costTime"]
    assert 40 <= costs[4] <= 61
    assert 60 <= costs[8] <= 91
    assert 90 <= costs[12] <= 121


# Authentication and errors


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", GENERATE_PATH), ("GET", STATUS_PATH), ("GET", BALANCE_PATH)],
)
@pytest.mark.parametrize("header", [None, "Bearer wrong-key", "Basic dGVzdA=="])
def test_it_refuses_a_missing_or_wrong_key(
    sim: RunningSimulator, method: str, path: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.request(
        method,
        sim.base_url + path,
        params={"taskId": "task_1"},
        json=TEXT_EXAMPLE if method == "POST" else None,
        headers=headers,
        timeout=5,
    )
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == 401
    assert body["data"] is None
    assert body["message"]
    assert sim.stats().get("tasks_created", 0) == 0


def test_it_answers_404_for_an_unknown_task(api: Api) -> None:
    response = api.status("task_doesnotexist")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Task not found", "data": None}


def test_it_answers_400_without_a_task_id(api: Api) -> None:
    response = api.session.get(api.base + STATUS_PATH, timeout=5)
    assert response.status_code == 400
    assert response.json()["data"] == {"error": "Missing required field: taskId"}


def test_it_answers_404_json_for_an_unknown_path(api: Api) -> None:
    response = api.session.get(api.base + "/api/v1/generateTask/other-model", timeout=5)
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Not found", "data": None}


def test_it_answers_405_for_a_wrong_method(api: Api) -> None:
    response = api.session.get(api.base + GENERATE_PATH, timeout=5)
    assert response.status_code == 405
    assert response.json()["code"] == 405


def test_it_answers_the_documented_missing_prompt_body(api: Api) -> None:
    body = text_body()
    del body["input"]["prompt"]
    response = api.generate(body)
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "message": "Invalid request",
        "data": {"error": "Missing required field: input.prompt"},
    }


def _without(name: str) -> dict[str, Any]:
    body = text_body()
    del body["input"][name]
    return body


def _image_body(urls: Any) -> dict[str, Any]:
    return text_body(mode="image-to-video", image_urls=urls)


INVALID_BODIES: list[tuple[str, Any, str]] = [
    ("array body", [1, 2], "must be a JSON object"),
    ("bad request_type", {**text_body(), "request_type": "sync"}, "request_type"),
    (
        "callback without url",
        {**text_body(), "request_type": "callback"},
        "Missing required field: callback_url",
    ),
    (
        "callback url not a url",
        {**text_body(), "request_type": "callback", "callback_url": "ftp://x"},
        "callback_url",
    ),
    ("bad provider", {**text_body(), "provider": "cheapest"}, "provider"),
    ("missing input", {"request_type": "async"}, "Missing required field: input"),
    ("input not object", {"input": "text-to-video"}, "input must be an object"),
    ("missing mode", _without("mode"), "Missing required field: input.mode"),
    ("bad mode", text_body(mode="video-to-video"), "input.mode"),
    ("short prompt", text_body(prompt="ab"), "input.prompt"),
    ("long prompt", text_body(prompt="x" * 2501), "input.prompt"),
    ("prompt not string", text_body(prompt=123), "input.prompt"),
    ("missing resolution", _without("resolution"), "input.resolution"),
    ("bad resolution", text_body(resolution="1080p"), "input.resolution"),
    ("missing duration", _without("duration"), "input.duration"),
    ("bad duration", text_body(duration=5), "input.duration"),
    ("string duration", text_body(duration="8"), "input.duration"),
    ("float duration", text_body(duration=8.0), "input.duration"),
    ("boolean duration", text_body(duration=True), "input.duration"),
    ("bad aspect ratio", text_body(aspect_ratio="2:1"), "input.aspect_ratio"),
    ("sound not boolean", text_body(sound="yes"), "input.sound"),
    ("fixed_lens not boolean", text_body(fixed_lens=1), "input.fixed_lens"),
    ("i2v without images", _image_body(None), "input.image_urls"),
    ("i2v with no images", _image_body([]), "input.image_urls"),
    ("i2v with three images", _image_body(["http://a/1.png"] * 3), "at most 2"),
    ("i2v images not a list", _image_body("http://a/1.png"), "input.image_urls"),
    ("i2v image not a url", _image_body(["not a url"]), "input.image_urls"),
    ("t2v with images", text_body(image_urls=["http://a/1.png"]), "image-to-video"),
]


@pytest.mark.parametrize(
    ("body", "error"),
    [case[1:] for case in INVALID_BODIES],
    ids=[case[0] for case in INVALID_BODIES],
)
def test_it_refuses_an_invalid_body(api: Api, body: Any, error: str) -> None:
    response = api.generate(body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == 400
    assert answer["message"] == "Invalid request"
    assert error in answer["data"]["error"]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe"])
def test_it_refuses_malformed_json(api: Api, raw: bytes) -> None:
    response = api.session.post(
        api.base + GENERATE_PATH,
        data=raw,
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["data"] == {"error": "Malformed JSON body"}


@pytest.mark.parametrize("prompt", ["abc", "y" * 2500])
def test_it_accepts_prompts_at_the_length_limits(api: Api, prompt: str) -> None:
    assert api.generate(text_body(prompt=prompt)).status_code == 200


def test_it_applies_the_documented_defaults(api: Api) -> None:
    body = {"input": text_body()["input"]}
    for name in ("sound", "aspect_ratio", "fixed_lens"):
        del body["input"][name]
    assert api.generate(body).status_code == 200


# Rate limits


def test_it_answers_429_past_the_request_rate(tmp_path: Path) -> None:
    with start(tmp_path, rate_limit_per_minute=5) as running:
        api = Api(running)
        statuses = [api.status("task_x").status_code for _ in range(5)]
        assert statuses == [404] * 5
        response = api.generate(text_body())
        assert response.status_code == 429
        assert response.json()["code"] == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert running.stats()["rate_limited"] == 1


def test_it_frees_the_request_rate_as_the_window_slides(tmp_path: Path) -> None:
    with start(tmp_path, rate_limit_per_minute=2, rate_limit_window_seconds=1) as sim:
        api = Api(sim)
        assert [api.status("task_x").status_code for _ in range(3)] == [404, 404, 429]
        time.sleep(1.05)
        assert api.status("task_x").status_code == 404


def test_it_answers_429_past_the_concurrent_task_limit(tmp_path: Path) -> None:
    with start(tmp_path, speed=1.0, concurrent_limit=2) as running:
        api = Api(running)
        api.create(text_body(prompt="quick [sim:time=0.3]"))
        api.create(text_body(prompt="long [sim:time=60]"))
        response = api.generate(text_body())
        assert response.status_code == 429
        assert response.json()["code"] == 429
        assert "Retry-After" in response.headers
        time.sleep(0.35)
        assert api.generate(text_body()).status_code == 200
        assert running.stats()["active_tasks"] == 2


def test_it_answers_insufficient_credits_when_the_balance_is_gone(
    tmp_path: Path,
) -> None:
    with start(tmp_path, initial_balance=0.05) as running:
        api = Api(running)
        api.wait_final(api.create(text_body(resolution="720p", duration=4)))
        response = api.generate(text_body())
        assert response.status_code == 400
        assert response.json() == {
            "code": 400,
            "message": "Insufficient credits",
            "data": None,
        }


# Injected faults


def test_it_injects_429_with_retry_after(api: Api, sim: RunningSimulator) -> None:
    api.faults(rate_429=1.0)
    response = api.generate(text_body())
    assert response.status_code == 429
    assert response.json()["code"] == 429
    assert response.headers["Retry-After"] == "1"
    assert sim.stats()["faults.rate_429"] == 1
    assert sim.stats().get("tasks_created", 0) == 0


@pytest.mark.parametrize("status", [500, 503])
def test_it_injects_server_errors(api: Api, sim: RunningSimulator, status: int) -> None:
    api.faults(**{f"rate_{status}": 1.0})
    for response in (api.generate(text_body()), api.status("task_x")):
        assert response.status_code == status
        assert response.json()["code"] == status
    assert sim.stats()["requests"][f"POST {GENERATE_PATH}"] == {str(status): 1}


def test_it_injects_malformed_json(api: Api, sim: RunningSimulator) -> None:
    api.faults(malformed_json_rate=1.0)
    response = api.generate(text_body())
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.text)
    # The task was created: the client just cannot read its id.
    assert sim.stats()["tasks_created"] == 1


@pytest.mark.parametrize("after_create", [True, False])
def test_it_drops_connections(
    api: Api, sim: RunningSimulator, after_create: bool
) -> None:
    api.faults(drop_connection_rate=1.0, drop_after_create=after_create)
    with pytest.raises(requests.ConnectionError):
        api.generate(text_body())
    assert sim.stats().get("tasks_created", 0) == (1 if after_create else 0)
    assert sim.stats()["generate_calls"] == 1
    assert sim.stats()["requests"][f"POST {GENERATE_PATH}"] == {"dropped": 1}


def test_it_injects_slow_answers(api: Api) -> None:
    api.faults(slow_seconds=0.3, slow_rate=1.0)
    started = time.monotonic()
    assert api.status("task_x").status_code == 404
    assert time.monotonic() - started >= 0.3


def test_it_fails_tasks_at_the_fault_rate_with_the_listed_codes(api: Api) -> None:
    api.faults(fail_rate=1.0, fail_codes=["MODEL_UNAVAILABLE", "PROCESSING_TIMEOUT"])
    body = text_body(prompt="quick [sim:time=1]")
    codes = {api.wait_final(api.create(body))["data"]["failCode"] for _ in range(8)}
    assert codes <= {"MODEL_UNAVAILABLE", "PROCESSING_TIMEOUT"}
    assert codes


def test_it_fails_a_task_named_by_its_prompt_trigger(api: Api) -> None:
    ok = api.create(text_body())
    failing = api.create(text_body(prompt="one of many [sim:fail=NSFW_DETECTED]"))
    assert api.wait_final(ok)["data"]["state"] == "success"
    data = api.wait_final(failing)["data"]
    assert data["state"] == "failed"
    assert data["failCode"] == "NSFW_DETECTED"
    assert data["failMsg"]


def test_it_uses_the_configured_content_violation_words(api: Api) -> None:
    api.faults(content_violation_words=["Volcano"])
    data = api.wait_final(api.create(text_body(prompt="a VOLCANO erupts")))["data"]
    assert data["failCode"] == "CONTENT_VIOLATION"
    ok = api.wait_final(api.create(text_body(prompt="a forbidden city")))["data"]
    assert ok["state"] == "success"


def test_it_injects_unparseable_result_json(api: Api) -> None:
    api.faults(malformed_result_json_rate=1.0)
    data = api.wait_final(api.create(text_body()))["data"]
    assert data["state"] == "success"
    assert isinstance(data["resultJson"], str)
    with pytest.raises(ValueError):
        json.loads(data["resultJson"])


def test_it_reproduces_random_outcomes_with_the_same_seed(tmp_path: Path) -> None:
    outcomes = []
    for _ in range(2):
        faults = FaultSettings(fail_rate=0.5)
        with start(
            tmp_path, seed=42, faults=faults, generation_time_override=1.0
        ) as running:
            api = Api(running)
            ids = [api.create(text_body()) for _ in range(12)]
            outcomes.append([api.wait_final(i)["data"]["state"] for i in ids])
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {"success", "failed"}


def test_it_forgets_the_oldest_settled_tasks_past_max_tasks(tmp_path: Path) -> None:
    with start(tmp_path, max_tasks=3, generation_time_override=0.0) as running:
        api = Api(running)
        ids = [api.create(text_body()) for _ in range(3)]
        for task_id in ids:
            api.wait_final(task_id)
        newest = api.create(text_body())
        assert api.status(ids[0]).status_code == 404
        assert api.status(ids[1]).status_code == 200
        assert api.status(newest).status_code == 200


# Control endpoints


def test_it_protects_the_control_endpoints(sim: RunningSimulator) -> None:
    for method, path in [("GET", "/_sim/stats"), ("POST", "/_sim/reset")]:
        response = requests.request(method, sim.base_url + path, timeout=5)
        assert response.status_code == 401
        assert response.json()["code"] == 401


def test_it_refuses_bad_fault_settings(api: Api) -> None:
    for faults in ({"nonsense": 1}, {"rate_500": 2}, {"fail_codes": "X"}):
        response = api.session.post(api.base + "/_sim/faults", json=faults, timeout=5)
        assert response.status_code == 400
        assert response.json()["code"] == 400


def test_it_reports_and_resets_state(api: Api, sim: RunningSimulator) -> None:
    task_id = api.create(text_body())
    api.faults(rate_503=0.5)
    stats = api.session.get(api.base + "/_sim/stats", timeout=5).json()["data"]
    assert stats["tasks_created"] == 1
    assert stats["generate_calls"] == 1
    assert stats["faults"]["rate_503"] == 0.5
    reset = api.session.post(api.base + "/_sim/reset", timeout=5)
    assert reset.status_code == 200
    assert api.status(task_id).status_code == 404
    assert sim.simulator.faults == sim.config.faults


def test_it_parses_faults_from_json() -> None:
    faults = FaultSettings.from_json('{"fail_codes": ["A"], "rate_429": 0.25}')
    assert faults.fail_codes == ("A",)
    assert faults.rate_429 == 0.25
    with pytest.raises(ConfigError):
        FaultSettings.from_json("[]")


# Balance


def test_it_reports_a_balance_that_drops_per_success(api: Api) -> None:
    before = api.session.get(api.base + BALANCE_PATH, timeout=5).json()
    assert before["code"] == 200
    assert before["message"] == "success"
    assert isinstance(before["data"], float)
    api.wait_final(api.create(text_body()))
    api.wait_final(api.create(text_body(prompt="x [sim:fail=GENERATION_FAILED]")))
    after = api.session.get(api.base + BALANCE_PATH, timeout=5).json()["data"]
    assert after == pytest.approx(before["data"] - 0.04)


# Webhooks


def test_it_delivers_the_status_envelope_to_the_callback_url(
    api: Api, sim: RunningSimulator, server: LocalServer
) -> None:
    body = {**text_body(), "request_type": "callback"}
    body["callback_url"] = server.base_url + "/hook?token=abc"
    task_id = api.create(body)
    wait_for(lambda: len(server.posts()) == 1)
    assert server.posts()[0].path == "/hook?token=abc"
    assert server.json_posts()[0] == api.status(task_id).json()
    time.sleep(0.1)
    assert len(server.posts()) == 1
    assert sim.stats()["webhook_deliveries"] == 1


def test_it_delivers_failures_by_webhook_too(api: Api, server: LocalServer) -> None:
    body = {**text_body(prompt="forbidden"), "request_type": "callback"}
    body["callback_url"] = server.base_url + "/hook"
    task_id = api.create(body)
    wait_for(lambda: len(server.posts()) == 1)
    posted = server.json_posts()[0]
    assert posted["code"] == 200
    assert posted["data"]["taskId"] == task_id
    assert posted["data"]["failCode"] == "CONTENT_VIOLATION"


def test_it_retries_a_failed_webhook_after_the_scaled_delays(
    api: Api, sim: RunningSimulator, server: LocalServer
) -> None:
    server.post_statuses = [500, 500]
    body = {**text_body(), "request_type": "callback"}
    body["callback_url"] = server.base_url + "/hook"
    api.create(body)
    wait_for(lambda: sim.stats().get("webhook_deliveries") == 1)
    times = [post.at for post in server.posts()]
    assert len(times) == 3
    # 30 s and 2 min at speed 1000.
    assert times[1] - times[0] >= 0.03
    assert times[2] - times[1] >= 0.12
    stats = sim.stats()
    assert stats["webhook_attempts"] == 3
    assert stats["webhook_failed_attempts"] == 2
    assert [attempt.status for attempt in sim.webhook_attempts()] == [500, 500, 200]


def test_it_drops_a_webhook_after_three_retries(
    api: Api, sim: RunningSimulator, server: LocalServer
) -> None:
    server.post_statuses = [503] * 10
    body = {**text_body(), "request_type": "callback"}
    body["callback_url"] = server.base_url + "/hook"
    api.create(body)
    wait_for(lambda: sim.stats().get("webhook_dropped") == 1, timeout=5)
    assert len(server.posts()) == 4
    assert sim.stats()["webhook_attempts"] == 4
    assert sim.stats().get("webhook_deliveries", 0) == 0


def test_it_retries_an_unreachable_callback_url(
    api: Api, sim: RunningSimulator
) -> None:
    body = {**text_body(), "request_type": "callback"}
    body["callback_url"] = "http://127.0.0.1:9/hook"
    api.create(body)
    wait_for(lambda: sim.stats().get("webhook_dropped") == 1, timeout=5)
    assert all(attempt.error for attempt in sim.webhook_attempts())


# Results


def _result_url(api: Api, **overrides: Any) -> str:
    data = api.wait_final(api.create(text_body(**overrides)))["data"]
    url: str = json.loads(data["resultJson"])["resultUrls"][0]
    return url


def test_it_serves_the_result_as_mp4_with_ranges(api: Api) -> None:
    url = _result_url(api, prompt="range test")
    full = requests.get(url, timeout=60)
    assert full.status_code == 200
    assert full.headers["Content-Type"] == "video/mp4"
    assert full.headers["Accept-Ranges"] == "bytes"
    size = int(full.headers["Content-Length"])
    assert size == len(full.content) > 1000
    assert full.content[4:8] == b"ftyp"
    part = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{size}"
    assert part.content == full.content[100:200]
    tail = requests.get(url, headers={"Range": "bytes=-10"}, timeout=10)
    assert tail.status_code == 206
    assert tail.content == full.content[-10:]
    beyond = requests.get(url, headers={"Range": f"bytes={size}-"}, timeout=10)
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{size}"
    head = requests.head(url, timeout=10)
    assert head.headers["Content-Length"] == str(size)


def test_it_expires_result_urls(tmp_path: Path) -> None:
    # 100 s at speed 1000: the URL lives 0.1 s after completion.
    with start(tmp_path, result_url_ttl_seconds=100.0) as running:
        api = Api(running)
        data = api.wait_final(api.create(text_body()))["data"]
        url = json.loads(data["resultJson"])["resultUrls"][0]
        time.sleep(0.15)
        response = requests.get(url, timeout=10)
        assert response.status_code == 403
        assert "expired" in response.text


def test_it_refuses_a_tampered_result_url(api: Api) -> None:
    url = _result_url(api)
    later = url.replace("expires=", "expires=9")
    assert requests.get(later, timeout=10).status_code == 403
    unknown = url.replace("/results/task_", "/results/task_0")
    assert requests.get(unknown, timeout=10).status_code == 403


def test_it_keeps_result_urls_stable_between_polls(api: Api) -> None:
    task_id = api.create(text_body())
    first = api.wait_final(task_id)["data"]["resultJson"]
    assert api.status(task_id).json()["data"]["resultJson"] == first


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("result_404_rate", lambda r: r.status_code == 404),
        (
            "not_mp4_result_rate",
            lambda r: r.status_code == 200 and r.content.startswith(b"<!doctype html"),
        ),
    ],
)
def test_it_injects_result_faults(api: Api, fault: str, check: Any) -> None:
    url = _result_url(api, prompt="range test")
    api.faults(**{fault: 1.0})
    assert check(requests.get(url, timeout=60))


def test_it_truncates_results(api: Api) -> None:
    url = _result_url(api, prompt="range test")
    api.faults(truncated_result_rate=1.0)
    with pytest.raises(requests.RequestException):
        requests.get(url, timeout=60)


def test_it_redirects_results(api: Api) -> None:
    url = _result_url(api)
    api.faults(redirect_result_to="http://169.254.169.254/latest/meta-data/")
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert response.headers["Location"] == "http://169.254.169.254/latest/meta-data/"


# Image-to-video


def _i2v(api: Api, urls: list[str]) -> dict[str, Any]:
    body = text_body(mode="image-to-video", image_urls=urls, prompt="animate it")
    answer: dict[str, Any] = api.wait_final(api.create(body))["data"]
    return answer


def test_it_animates_fetched_images_from_start_to_end_frame(
    api: Api, server: LocalServer, tmp_path: Path
) -> None:
    server.files["/red.png"] = (solid_image((230, 10, 10), "PNG", (80, 60)), "x/y")
    server.files["/blue.webp"] = (solid_image((10, 10, 230), "WEBP", (60, 80)), "x/y")
    data = _i2v(api, [server.base_url + "/red.png", server.base_url + "/blue.webp"])
    assert data["state"] == "success"
    url = json.loads(data["resultJson"])["resultUrls"][0]
    path = tmp_path / "result.mp4"
    path.write_bytes(requests.get(url, timeout=60).content)
    with av.open(str(path)) as container:
        frames = [frame.to_image() for frame in container.decode(video=0)]  # type: ignore[no-untyped-call]
    assert frames[0].size == (640, 640)
    first = frames[0].resize((1, 1)).getpixel((0, 0))
    last = frames[-1].resize((1, 1)).getpixel((0, 0))
    assert isinstance(first, tuple) and isinstance(last, tuple)
    assert first[0] > 180 and first[2] < 60
    assert last[2] > 180 and last[0] < 60


@pytest.mark.parametrize(
    ("path", "content", "code"),
    [
        ("/missing.png", None, "INVALID_IMAGE_URL"),
        ("/page.png", b"<html>not an image</html>", "UNSUPPORTED_FORMAT"),
        ("/anim.gif", solid_image((1, 2, 3), "GIF", (8, 8)), "UNSUPPORTED_FORMAT"),
        ("/huge.png", b"\x89PNG" + b"\0" * (10 * 1024 * 1024), "IMAGE_TOO_LARGE"),
    ],
)
def test_it_fails_tasks_with_bad_images(
    api: Api, server: LocalServer, path: str, content: bytes | None, code: str
) -> None:
    if content is not None:
        server.files[path] = (content, "image/png")
    response = api.generate(
        text_body(mode="image-to-video", image_urls=[server.base_url + path])
    )
    # Accepted first, failed in the background, like the provider.
    assert response.status_code == 200
    data = api.wait_final(response.json()["data"]["taskId"])["data"]
    assert data["state"] == "failed"
    assert data["failCode"] == code


def test_it_fails_an_unreachable_image_url(api: Api) -> None:
    data = _i2v(api, ["http://127.0.0.1:9/start.png"])
    assert data["state"] == "failed"
    assert data["failCode"] == "INVALID_IMAGE_URL"
    assert data["failMsg"]


# Load, logging, helpers


def test_it_keeps_up_with_many_concurrent_clients(
    api: Api, sim: RunningSimulator
) -> None:
    local = threading.local()

    def create(n: int) -> int:
        if not hasattr(local, "api"):
            local.api = Api(sim)
        response = local.api.generate(text_body(prompt=f"load test {n}"))
        return int(response.status_code)

    started = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(create, range(400)))
    elapsed = time.monotonic() - started
    assert statuses == [200] * 400
    assert sim.stats()["tasks_created"] == 400
    assert elapsed < 10


def test_it_never_logs_the_api_key(
    api: Api, sim: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="generations.apixo.simulator")
    api.create(text_body())
    requests.get(
        sim.base_url + BALANCE_PATH,
        headers={"Authorization": "Bearer other-secret"},
        timeout=5,
    )
    assert caplog.records
    assert KEY not in caplog.text
    assert "other-secret" not in caplog.text


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-4", 10, (0, 4)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=8-20", 10, (8, 9)),
        ("bytes=0-1,3-4", 10, None),
        ("items=0-1", 10, None),
        ("bytes=abc-5", 10, None),
    ],
)
def test_it_parses_range_headers(
    header: str | None, size: int, expected: tuple[int, int] | None
) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=5-2", "bytes=-0"])
def test_it_refuses_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(ValueError):
        parse_range(header, 10)


@pytest.mark.slow
def test_it_runs_as_a_management_command(tmp_path: Path) -> None:
    manage = Path(__file__).resolve().parent.parent / "manage.py"
    process = subprocess.Popen(
        [sys.executable, str(manage), "run_simulator", "--port", "0"]
        + ["--speed", "500", "--api-key", "cmd-key", "--data-dir", str(tmp_path)]
        + ["--faults", '{"rate_503": 0.0}'],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        base = line.split("listening on ")[1].split()[0]
        response = requests.get(
            base + BALANCE_PATH, headers={"Authorization": "Bearer cmd-key"}, timeout=5
        )
        assert response.json()["code"] == 200
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert "stopped" in out
        assert "cmd-key" not in out + err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_it_refuses_a_nonsense_config() -> None:
    with pytest.raises(ConfigError):
        SimulatorConfig(speed=0)
