"""Hypothesis throws arbitrary input at every form, the webhook and every query
parameter of the list pages: the answer may be a refusal, never a 500."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generations.apixo import contract
from generations.models import GenerationTask, State
from generations.pipeline.common import hash_token

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text that tends to break parsers: huge numbers, dates, unicode, NULs, markup.
nasty = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1e9",
            "99999999999999999999999999",
            "9223372036854775808",
            "NaN",
            "inf",
            "\x00",
            "2026-02-30",
            "0000-00-00",
            "9999-12-31T23:59:59+14:00",
            "0001-01-01T00:00:00+23:59",
            "0001-01-01 00:00:00 23:59",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01",
            "9999-12-31",
            "1970-01-01",
            "1" + "0" * 400,
            "1e308",
            "-9223372036854775809",
            "253402300800000",
            "'; DROP TABLE x; --",
            "<script>alert(1)</script>",
            "%00",
            "\u202e\u0301",
            "a" * 5000,
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.dates().map(str),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
)


def valid_or_nasty(values: list[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from([str(v) for v in values]), nasty)


CREATE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "mode": valid_or_nasty(["text-to-video", "image-to-video"]),
    "prompt": st.one_of(nasty, st.text(min_size=3, max_size=3000)),
    "resolution": valid_or_nasty(list(contract.RESOLUTIONS)),
    "duration": valid_or_nasty(list(contract.DURATIONS)),
    "aspect_ratio": valid_or_nasty(list(contract.ASPECT_RATIOS)),
    "extra_aspect_ratios": st.lists(valid_or_nasty(list(contract.ASPECT_RATIOS))),
    "extra_durations": st.lists(valid_or_nasty(list(contract.DURATIONS))),
    "sound": valid_or_nasty(["on", "1", "true"]),
    "fixed_lens": valid_or_nasty(["on"]),
    "routing": valid_or_nasty(["auto", "value", "official"]),
    "delivery": valid_or_nasty(["polling", "webhook"]),
    "start_image_url": valid_or_nasty(["https://example.com/a.png"]),
    "end_image_url": valid_or_nasty(["https://example.com/b.png"]),
    "start_image_ref": nasty,
    "end_image_ref": nasty,
    "preset": nasty,
    "preset_name": nasty,
}


def partial(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({}, optional=fields)


def no_nul(data: dict[str, Any]) -> dict[str, Any]:
    """The test client cannot encode NUL in form fields; real clients can, and
    Django answers them with 400 (covered by test_it_refuses_nul_bytes)."""

    def clean(value: Any) -> Any:
        if isinstance(value, list):
            return [clean(v) for v in value]
        return str(value).replace("\x00", "")

    return {key: clean(value) for key, value in data.items()}


@pytest.fixture
def member(client: Any, alice: Any) -> Any:
    client.force_login(alice)
    return client


@given(data=partial(CREATE_FIELDS), htmx=st.booleans())
@FUZZ
def test_it_never_fails_on_the_create_form(
    member: Any, data: dict[str, Any], htmx: bool
) -> None:
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = member.post("/tasks/", no_nul(data), **headers)
    assert response.status_code in (200, 302, 400, 409, 422), response.status_code


@given(
    data=partial({"preset_name": nasty, "preset": nasty, **CREATE_FIELDS}),
    url=st.sampled_from(["/presets/", "/presets/delete/"]),
)
@FUZZ
def test_it_never_fails_on_the_preset_forms(
    member: Any, data: dict[str, Any], url: str
) -> None:
    assert member.post(url, no_nul(data)).status_code < 500


@given(username=nasty, password=nasty, extra=partial({"next": nasty}))
@FUZZ
def test_it_never_fails_on_the_login_form(
    client: Any, username: str, password: str, extra: dict[str, Any]
) -> None:
    data = no_nul({"username": username, "password": password, **extra})
    assert client.post("/login/", data).status_code in (200, 302, 429)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def nested(depth: int) -> bytes:
    """``{"data": [[[...]]]}``: a valid document nested ``depth`` deep."""
    return b'{"data": ' + b"[" * depth + b"]" * depth + b"}"


callback_bodies = st.one_of(
    st.binary(max_size=300),
    st.integers(min_value=1, max_value=30_000).map(nested),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda task_id, state: json.dumps(
            {"code": 200, "data": {"taskId": task_id, "state": state}}
        ).encode(),
        st.one_of(st.text(max_size=200), st.integers(), st.none()),
        st.text(max_size=20),
    ),
)
TOKEN = "fuzz-callback-token"


@pytest.fixture
def unknown_task(alice: Any) -> GenerationTask:
    """A task whose submission answer was lost: callbacks may teach its id."""
    return GenerationTask.objects.create(
        owner=alice,
        prompt="a callback target",
        cost=8,
        state=State.UNKNOWN,
        callback_token_hash=hash_token(TOKEN),
    )


@given(
    body=callback_bodies,
    use_real=st.booleans(),
    task_id=st.integers(min_value=0, max_value=2**80),
    token=st.text(min_size=1, max_size=60),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "multipart/form-data; boundary=x", ""]
    ),
    method=st.sampled_from(["post", "get", "put", "delete"]),
)
@FUZZ
def test_it_never_fails_on_the_callback(
    client: Any,
    unknown_task: GenerationTask,
    body: bytes,
    use_real: bool,
    task_id: int,
    token: str,
    content_type: str,
    method: str,
) -> None:
    if use_real:
        task_id, token = unknown_task.pk, TOKEN
    path = f"/hooks/apixo/{task_id}/{quote(token, safe='')}/"
    response = client.generic(method.upper(), path, body, content_type=content_type)
    assert response.status_code in (200, 400, 404, 405, 413), response.status_code


def test_it_refuses_an_oversized_callback(client: Any, unknown_task: Any) -> None:
    path = f"/hooks/apixo/{unknown_task.pk}/{TOKEN}/"
    body = b"{" + b" " * (64 * 1024) + b"}"
    response = client.generic("POST", path, body, content_type="application/json")
    assert response.status_code == 413


LIST_PAGES: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "/gallery/": {
        "before": nasty,
        "q": nasty,
        "owner": nasty,
        "favourites": nasty,
        "mode": nasty,
        "resolution": nasty,
        "aspect_ratio": nasty,
        "duration": nasty,
        "sound": nasty,
        "since": nasty,
        "until": nasty,
    },
    "/": {
        "before": nasty,
        "preset": nasty,
        "mode": nasty,
        "prompt": nasty,
        "duration": nasty,
        "sound": nasty,
        "start_image_url": nasty,
    },
    "/tasks/refresh/": {"since": nasty, "after": nasty},
    "/credits/": {"before": nasty, "page": nasty},
    "/collections/": {"page": nasty},
    "/links/": {"page": nasty},
}
STAFF_PAGES: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "/staff/exports/tasks.csv": {"start": nasty, "end": nasty},
    "/staff/exports/ledger.csv": {"start": nasty, "end": nasty},
    "/staff/overview/": {"days": nasty, "start": nasty, "end": nasty},
}


@given(
    page=st.sampled_from(sorted(LIST_PAGES)),
    data=st.data(),
    htmx=st.booleans(),
)
@FUZZ
def test_it_never_fails_on_list_page_parameters(
    member: Any, page: str, data: st.DataObject, htmx: bool
) -> None:
    query = data.draw(partial(LIST_PAGES[page]))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = member.get(page, no_nul(query), **headers)
    assert response.status_code in (200, 400), (page, query, response.status_code)


@pytest.mark.parametrize(
    "url",
    [
        "/gallery/?before=%00",
        "/tasks/refresh/?since=%00",
        "/?prompt=%00",
    ],
)
def test_it_refuses_nul_bytes(member: Any, url: str) -> None:
    assert member.get(url).status_code in (200, 400)


@given(
    pk=st.integers(min_value=0, max_value=2**80),
    page=st.sampled_from(
        [
            "/videos/{}/",
            "/media/videos/{}.mp4",
            "/media/posters/{}.jpg",
            "/media/frames/{}/",
            "/collections/{}/",
        ]
    ),
)
@FUZZ
def test_it_never_fails_on_huge_ids(member: Any, pk: int, page: str) -> None:
    assert member.get(page.format(pk)).status_code in (404, 405)


@given(page=st.sampled_from(sorted(STAFF_PAGES)), data=st.data())
@FUZZ
def test_it_never_fails_on_staff_page_parameters(
    client: Any, staff: Any, page: str, data: st.DataObject
) -> None:
    client.force_login(staff)
    query = data.draw(partial(STAFF_PAGES[page]))
    response = client.get(page, no_nul(query))
    assert response.status_code in (200, 400), (page, query, response.status_code)


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("member", "/tasks/refresh/?since=0001-01-01T00:00:00%2B23:59"),
        ("member", "/tasks/refresh/?since=9999-12-31T23:59:59-23:59"),
        ("member", "/tasks/refresh/?since=253402300800000"),
        ("staff", "/staff/exports/tasks.csv?end=9999-12-31"),
        ("staff", "/staff/exports/ledger.csv?start=2026-01-01&end=9999-12-31"),
    ],
)
def test_it_refuses_dates_it_cannot_compute_with(
    client: Any, alice: Any, staff: Any, who: str, url: str
) -> None:
    client.force_login(alice if who == "member" else staff)
    assert client.get(url).status_code == 400


def test_it_refuses_a_deeply_nested_callback(
    client: Any, unknown_task: GenerationTask
) -> None:
    path = f"/hooks/apixo/{unknown_task.pk}/{TOKEN}/"
    body = nested(30_000)
    response = client.generic("POST", path, body, content_type="application/json")
    assert response.status_code == 200  # a hint: the status read becomes due
    unknown_task.refresh_from_db()
    assert unknown_task.provider_task_id is None
