"""Small builders shared by tests: queued tasks, real finished videos, links."""

from __future__ import annotations

import datetime as dt
import http.server
import io
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from django.db import connection, connections
from django.utils import timezone
from PIL import Image

from generations import media_store, sharing
from generations.models import GenerationTask, State, VideoAsset
from generations.services import GenerationParams, create_generations


def queue_task(owner: Any, **params: Any) -> GenerationTask:
    """Create a queued task through the real service (hold included)."""
    values: dict[str, Any] = {
        "prompt": "a calm seaside sunrise with gentle camera dolly movement",
        "resolution": "480p",
        "duration": 4,
        "sound": False,
        "aspect_ratio": "16:9",
    }
    values.update(params)
    [task] = create_generations(owner=owner, variants=[GenerationParams(**values)])
    return task


def make_mp4(
    path: Path, *, size: int = 64, seconds: float = 1.0, fps: int = 24
) -> None:
    """A small real H.264 MP4 (a moving gradient), written with PyAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = size
        stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for index in range(round(seconds * fps)):
            shade = int(255 * index / max(1, seconds * fps))
            image = Image.new("RGB", (size, size), (shade, 80, 255 - shade))
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def make_finished_task(owner: Any, **fields: Any) -> GenerationTask:
    """A succeeded task with a real MP4 and JPEG poster in MEDIA_ROOT."""
    now = timezone.now()
    defaults: dict[str, Any] = {
        "prompt": "A lighthouse in a storm, waves crashing",
        "cost": 16,
        "state": State.SUCCEEDED,
        "created_at": now - dt.timedelta(minutes=3),
        "submitted_at": now - dt.timedelta(minutes=2),
        "finished_at": now,
        "provider_cost_ms": 61000,
    }
    defaults.update(fields)
    task = GenerationTask.objects.create(owner=owner, **defaults)
    attach_video(task)
    return task


def attach_video(task: GenerationTask) -> VideoAsset:
    """A real MP4 and JPEG poster in media storage, recorded as the task's video."""
    name = f"videos/test/task-{task.pk}.mp4"
    poster = f"videos/test/task-{task.pk}.jpg"
    work = media_store.scratch_dir() / f"factory-{task.pk}.mp4"
    make_mp4(work)
    size = work.stat().st_size
    put_media(name, work)
    image = Path(str(work) + ".jpg")
    Image.new("RGB", (64, 64), (40, 90, 200)).save(image, "JPEG")
    put_media(poster, image)
    return VideoAsset.objects.create(
        task=task,
        file=name,
        poster=poster,
        width=64,
        height=64,
        duration_seconds=1.0,
        has_audio=False,
        size_bytes=size,
        sha256="0" * 64,
    )


def put_media(name: str, source: Path | bytes) -> None:
    """Store a file or bytes as the media file ``name`` (disk or bucket)."""
    if isinstance(source, bytes):
        work = media_store.scratch_dir() / f"put-{time.monotonic_ns()}"
        work.write_bytes(source)
        source = work
    try:
        media_store.store(source, name, content_type="application/octet-stream")
    finally:
        source.unlink(missing_ok=True)


def png_bytes(size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size)).save(out, "PNG")
    return out.getvalue()


def media_names(folder: str) -> list[str]:
    """Every stored name under ``folder``, sorted (disk or bucket)."""
    from django.core.files.storage import default_storage

    dirs, files = default_storage.listdir(folder)
    names = [f"{folder}/{name}" for name in files]
    for sub in dirs:
        names += media_names(f"{folder}/{sub}")
    return sorted(names)


def media_bytes(name: str) -> bytes:
    """What storage holds under ``name``."""
    with media_store.open_stream(name) as handle:
        return handle.read()


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def video_bytes(task: GenerationTask) -> bytes:
    return media_bytes(task.video.file.name or "")


def make_video_row(owner: Any, prompt: str = "A fox in the snow", **fields: Any) -> Any:
    """A finished task with a video row (no file: the gallery never opens it)."""
    now = timezone.now()
    values: dict[str, Any] = {
        "prompt": prompt,
        "cost": 16,
        "state": State.SUCCEEDED,
        "finished_at": now,
    }
    values.update(fields)
    task = GenerationTask.objects.create(owner=owner, **values)
    VideoAsset.objects.create(
        task=task,
        file=f"videos/t/{task.pk}.mp4",
        poster=f"videos/t/{task.pk}.jpg",
        width=1280,
        height=720,
        duration_seconds=8,
        has_audio=task.sound,
        size_bytes=1,
        sha256="0" * 64,
    )
    return task


def share(owner: Any, **kwargs: Any) -> str:
    """A new link through the service; returns its token."""
    return sharing.create_link(owner=owner, **kwargs).token


def collection_of(owner: Any, *tasks: GenerationTask, title: str = "Review") -> Any:
    collection = sharing.create_collection(owner=owner, title=title)
    sharing.add_to_collection(
        owner=owner, collection=collection, videos=[t.video for t in tasks]
    )
    return collection


def html(response: Any) -> str:
    return response.content.decode()


def run_in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released at once; exceptions returned."""
    barrier = threading.Barrier(count, timeout=60)
    results: list[Any] = [None] * count

    def runner(index: int) -> None:
        try:
            connection.ensure_connection()  # connect before the start line
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def make_task(owner: Any, state: str, created_at: dt.datetime, **fields: Any) -> Any:
    fields.setdefault("cost", 16)
    fields.setdefault("duration", 4)
    return GenerationTask.objects.create(
        owner=owner,
        state=state,
        prompt="a quiet harbour at dawn",
        created_at=created_at,
        **fields,
    )


def queue_short(
    owner: Any, prompt: str = "A fox in the snow", **fields: Any
) -> GenerationTask:
    """A 4 s 480p task queued through the real service, then given ``fields``."""
    params = GenerationParams(prompt=prompt, duration=4, resolution="480p")
    [task] = create_generations(owner=owner, variants=[params])
    if fields:
        GenerationTask.objects.filter(pk=task.pk).update(**fields)
        task.refresh_from_db()
    return task


@dataclass
class Receiver:
    """Answers with the queued statuses (then 204), after ``delay`` seconds."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@contextmanager
def serve_receiver() -> Iterator[Receiver]:
    """A real HTTP webhook receiver on loopback (set WEBHOOKS_ALLOW_LOCAL)."""
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(
                ({k.lower(): v for k, v in self.headers.items()}, body)
            )
            time.sleep(state.delay)
            status = state.statuses.pop(0) if state.statuses else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
