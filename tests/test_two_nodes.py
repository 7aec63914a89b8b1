"""Two nodes with no shared disk (issue #17, point 2).

PostgreSQL, Redis and an S3 server (moto_server) are shared; everything else is
per node: node A and node B each run a web server and a worker cluster from a
working directory and a MEDIA_ROOT of their own. A generation submitted to node
A is downloaded by whichever cluster takes the job, into the bucket; both web
nodes then play it (Range, a seek to the middle), and a share link works on both.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import av
import pytest
import requests
from django.db import connection

from generations.api import tokens
from generations.models import GenerationTask, State
from tests.factories import share
from tests.processes import Stack, free_port, wait_until
from tests.s3 import BUCKET, S3Server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHARED_SECRET = "two-nodes-share-one-secret-key-for-sessions-and-links"


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "two nodes share PostgreSQL and Redis: run with DATABASE_URL=postgres://"
            " and REDIS_URL (make test runs it in the PostgreSQL + Redis pass)"
        )


def log_in(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=10).text
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "no CSRF token on the login page"
    done = session.post(
        f"{base}/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": match.group(1),
        },
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 302, done.status_code
    return session


def ranged(session: requests.Session, url: str, first: int, last: int) -> bytes:
    answer = session.get(url, headers={"Range": f"bytes={first}-{last}"}, timeout=10)
    assert answer.status_code == 206, (url, answer.status_code)
    assert answer.headers["Content-Range"].startswith(f"bytes {first}-{last}/")
    assert len(answer.content) == last - first + 1
    return answer.content


def files_under(folder: Path, suffix: str) -> list[Path]:
    return [p for p in folder.rglob(f"*{suffix}") if p.is_file()]


def test_a_video_made_on_one_node_plays_and_shares_from_the_other(
    stack: Stack, s3_server: S3Server, alice: Any, tmp_path: Path
) -> None:
    prefix = f"nodes-{uuid.uuid4().hex[:8]}"
    # One configuration for every process, as a deployment would have it.
    stack.env.update(s3_server.env(prefix))
    stack.env["SECRET_KEY"] = SHARED_SECRET
    nodes: dict[str, dict[str, Any]] = {}
    for node in ("a", "b"):
        home = tmp_path / f"node-{node}"
        (home / "media").mkdir(parents=True)
        nodes[node] = {
            "home": home,
            "env": {"MEDIA_ROOT": str(home / "media"), "VAR_DIR": str(home / "var")},
        }
    assert nodes["a"]["home"] != nodes["b"]["home"]
    stack.start_simulator()
    stack.start_dispatcher()
    for node, spec in nodes.items():
        stack.start_workers(f"worker-{node}", env=spec["env"], cwd=spec["home"])
    web = {
        node: stack.start_web(
            f"web-{node}",
            port=stack.web_port if node == "a" else free_port(),
            env=spec["env"],
            cwd=spec["home"],
        )
        for node, spec in nodes.items()
    }

    # Submitted through node A's API.
    secret = tokens.create_token(
        owner=alice, name="nodes", scopes=["read", "generate"], expires_in_days=1
    ).secret
    created = requests.post(
        f"{web['a']}/api/v1/generations",
        json={
            "prompt": "a lighthouse at dusk, waves below",
            "resolution": "480p",
            "duration": 4,
        },
        headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "n-1"},
        timeout=20,
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["tasks"][0]["id"]
    wait_until(
        lambda: GenerationTask.objects.filter(
            pk=task_id, state__in=[State.SUCCEEDED, State.FAILED]
        ).exists(),
        120,
        "the video downloaded into the bucket",
    )
    task = GenerationTask.objects.select_related("video").get(pk=task_id)
    assert task.state == State.SUCCEEDED, task.last_error
    video = task.video

    # The bytes live in the bucket only: no node kept a copy on its disk.
    keys = s3_server.keys(f"{prefix}/videos/")
    assert f"{prefix}/{video.file.name}" in keys
    assert f"{prefix}/{video.poster.name}" in keys
    stored = (
        s3_server.client()
        .get_object(Bucket=BUCKET, Key=f"{prefix}/{video.file.name}")["Body"]
        .read()
    )
    assert len(stored) == video.size_bytes
    # Scratch copies go when their job ends (a second run of the download, after a
    # lease ran out, may still be finishing its spare copy).
    wait_until(
        lambda: not any(files_under(spec["home"], ".mp4") for spec in nodes.values()),
        30,
        "the nodes' scratch copies removed",
    )

    # Which node's cluster stored the video (the download logs it).
    downloaders = [
        node
        for node in nodes
        if f"task {task_id}: video stored" in stack.log(f"worker-{node}")
    ]
    assert downloaders, "no worker log says it stored the video"
    other = "b" if downloaders[0] == "a" else "a"

    # Logged in on node A; the same session plays on the other node first, then on
    # both (Range, a seek to the middle).
    session = log_in(web["a"], "alice", "alice-password")
    middle = len(stored) // 2
    for node in (other, "a", "b"):
        url = f"{web[node]}/media/videos/{task_id}.mp4"
        assert ranged(session, url, 0, 99) == stored[:100]
        assert (
            ranged(session, url, middle, middle + 4095)
            == stored[middle : middle + 4096]
        )
        whole = session.get(url, timeout=20)
        assert whole.status_code == 200 and whole.content == stored
        poster = session.get(f"{web[node]}/media/posters/{task_id}.jpg", timeout=10)
        assert poster.status_code == 200
        assert poster.headers["Content-Type"] == "image/jpeg"
    played = tmp_path / "played.mp4"
    played.write_bytes(stored)
    with av.open(str(played)) as container:
        assert container.duration and container.duration / av.time_base > 3

    # A share link opens, plays and seeks on both nodes, logged out.
    token = share(alice, video=video)
    for node in ("a", "b"):
        visitor = requests.Session()
        page = visitor.get(f"{web[node]}/s/{token}/", timeout=10)
        assert page.status_code == 200, (node, page.status_code)
        [source] = re.findall(r'<source src="(/s/[^"]+\.mp4)"', page.text)
        assert (
            ranged(visitor, web[node] + source, middle, middle + 999)
            == stored[middle : middle + 1000]
        )
        saved = visitor.get(web[node] + source + "?download=1", timeout=10)
        assert saved.status_code == 200 and saved.content == stored
        assert saved.headers["Content-Disposition"] == (
            'attachment; filename="seedance-video.mp4"'
        )
    for spec in nodes.values():
        assert files_under(spec["home"], ".mp4") == []
