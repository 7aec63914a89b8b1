"""The simulator's MP4 synthesis, probed with PyAV."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

from generations.apixo.contract import DURATIONS, FRAME_SIZES
from generations.apixo.simulator import results, video
from generations.apixo.simulator.results import VideoCache
from generations.apixo.simulator.video import VideoSpec, load_cover, render_mp4


def probe(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_image() for frame in container.decode(video=0)]  # type: ignore[no-untyped-call]
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "size": (stream.width, stream.height),
            "rate": stream.average_rate,
            "duration": (container.duration or 0) / av.time_base,
            "audio": [audio.codec_context.name for audio in container.streams.audio],
            "frames": frames,
        }


def mean_colour(image: Image.Image) -> tuple[int, int, int]:
    pixel = image.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return (int(pixel[0]), int(pixel[1]), int(pixel[2]))


def save_solid(path: Path, colour: tuple[int, int, int], size: tuple[int, int]) -> Path:
    Image.new("RGB", size, colour).save(path)
    return path


@pytest.mark.parametrize(("resolution", "aspect_ratio"), sorted(FRAME_SIZES))
def test_it_encodes_the_published_frame_size(
    tmp_path: Path, resolution: str, aspect_ratio: str
) -> None:
    spec = VideoSpec.for_task(
        resolution=resolution,
        aspect_ratio=aspect_ratio,
        duration=4,
        sound=False,
        prompt="size check",
    )
    # The size does not depend on the length: a quarter second keeps this quick.
    path = tmp_path / "out.mp4"
    render_mp4(dataclasses.replace(spec, seconds=0.25), path)
    info = probe(path)
    assert info["size"] == FRAME_SIZES[(resolution, aspect_ratio)]
    assert info["frames"][0].size == info["size"]
    assert info["codec"] == "h264"
    assert info["pix_fmt"] == "yuv420p"


@pytest.mark.parametrize("duration", DURATIONS)
@pytest.mark.parametrize("sound", [True, False])
def test_it_encodes_the_requested_duration_and_sound(
    tmp_path: Path, duration: int, sound: bool
) -> None:
    spec = VideoSpec(width=96, height=64, seconds=float(duration), sound=sound)
    path = tmp_path / "out.mp4"
    render_mp4(spec, path)
    info = probe(path)
    assert info["duration"] == pytest.approx(duration, abs=0.2)
    assert len(info["frames"]) == 24 * duration
    assert info["rate"] == 24
    assert info["audio"] == (["aac"] if sound else [])


def test_it_encodes_a_full_size_task_with_sound(tmp_path: Path) -> None:
    spec = VideoSpec.for_task(
        resolution="480p",
        aspect_ratio="16:9",
        duration=4,
        sound=True,
        prompt="ocean waves and bird sounds",
    )
    path = tmp_path / "out.mp4"
    render_mp4(spec, path)
    info = probe(path)
    assert info["size"] == (864, 480)
    assert info["duration"] == pytest.approx(4, abs=0.2)
    assert info["audio"] == ["aac"]
    assert path.read_bytes()[4:8] == b"ftyp"


@pytest.mark.parametrize("fixed_lens", [False, True])
def test_it_cross_fades_from_the_first_image_to_the_second(
    tmp_path: Path, fixed_lens: bool
) -> None:
    red = save_solid(tmp_path / "red.png", (220, 20, 20), (300, 200))
    blue = save_solid(tmp_path / "blue.jpg", (20, 20, 220), (200, 300))
    spec = VideoSpec(
        width=128,
        height=96,
        seconds=2.0,
        sound=False,
        images=(red, blue),
        fixed_lens=fixed_lens,
    )
    path = tmp_path / "out.mp4"
    render_mp4(spec, path)
    frames = probe(path)["frames"]
    first, middle, last = (mean_colour(f) for f in (frames[0], frames[24], frames[-1]))
    assert first[0] > 190 and first[2] < 50
    assert last[2] > 190 and last[0] < 50
    assert 60 < middle[0] < 180 and 60 < middle[2] < 180


def test_it_slowly_zooms_into_a_single_image(tmp_path: Path) -> None:
    picture = Image.new("RGB", (160, 120), (0, 200, 0))
    picture.paste((250, 250, 250), (0, 0, 40, 120))  # a white band on the left
    picture.save(tmp_path / "one.png")
    spec = VideoSpec(
        width=160, height=120, seconds=1.0, sound=False, images=(tmp_path / "one.png",)
    )
    path = tmp_path / "out.mp4"
    render_mp4(spec, path)
    frames = probe(path)["frames"]
    assert mean_colour(frames[0])[1] > 150
    # The camera moves: the white band shrinks out of the frame.
    assert mean_colour(frames[-1])[0] < mean_colour(frames[0])[0] - 10


def test_it_fits_images_to_cover_the_frame(tmp_path: Path) -> None:
    wide = Image.new("RGB", (400, 100), (0, 0, 255))
    wide.paste((255, 0, 0), (150, 0, 250, 100))  # red centre, blue sides
    wide.save(tmp_path / "wide.png")
    fitted = load_cover(tmp_path / "wide.png", (100, 100))
    assert fitted.size == (100, 100)
    assert mean_colour(fitted)[0] > 200


def test_it_colours_text_videos_by_prompt(tmp_path: Path) -> None:
    colours = []
    for prompt in ("a red desert at noon", "deep blue ocean at night"):
        spec = VideoSpec(width=64, height=64, seconds=0.1, sound=False, prompt=prompt)
        colours.append(mean_colour(next(video.frames(spec))))
    assert colours[0] != colours[1]
    frames = list(video.frames(VideoSpec(width=64, height=64, seconds=1, sound=False)))
    assert frames[0].tobytes() != frames[-1].tobytes()


def test_it_names_cache_files_by_every_parameter(tmp_path: Path) -> None:
    base = VideoSpec(width=64, height=64, seconds=4.0, sound=False, prompt="p1")
    red = save_solid(tmp_path / "a.png", (255, 0, 0), (8, 8))
    blue = save_solid(tmp_path / "b.png", (0, 0, 255), (8, 8))
    variants = [
        base,
        dataclasses.replace(base, prompt="p2"),
        dataclasses.replace(base, sound=True),
        dataclasses.replace(base, seconds=8.0),
        dataclasses.replace(base, width=96),
        dataclasses.replace(base, fixed_lens=True),
        dataclasses.replace(base, images=(red,)),
        dataclasses.replace(base, images=(blue,)),
    ]
    keys = [spec.cache_key() for spec in variants]
    assert len(set(keys)) == len(keys)
    assert base.cache_key() == dataclasses.replace(base).cache_key()


def test_it_writes_atomically_into_a_new_directory(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "dir" / "out.mp4"
    render_mp4(VideoSpec(width=32, height=32, seconds=0.2, sound=True), target)
    assert [p.name for p in target.parent.iterdir()] == ["out.mp4"]


def test_it_leaves_no_file_when_encoding_fails(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    spec = VideoSpec(width=32, height=32, seconds=0.2, sound=False, images=(missing,))
    with pytest.raises(FileNotFoundError):
        render_mp4(spec, tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == []


def test_it_encodes_each_cached_video_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    gate = threading.Event()

    def slow_render(spec: VideoSpec, path: Path) -> None:
        calls.append(spec)
        gate.wait(5)
        path.write_bytes(b"fake mp4")

    monkeypatch.setattr(results, "render_mp4", slow_render)
    cache = VideoCache(tmp_path, workers=2)
    spec = VideoSpec(width=32, height=32, seconds=1.0, sound=False)
    key = spec.cache_key()
    cache.request(key, spec)
    cache.request(key, spec)
    threading.Timer(0.1, gate.set).start()
    assert cache.wait(key, spec, timeout=5).read_bytes() == b"fake mp4"
    assert cache.wait(key, spec, timeout=5) == tmp_path / f"{key}.mp4"
    assert len(calls) == 1
    cache.close()


def test_it_times_out_waiting_for_a_slow_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    monkeypatch.setattr(results, "render_mp4", lambda spec, path: gate.wait(5))
    cache = VideoCache(tmp_path, workers=1)
    spec = VideoSpec(width=32, height=32, seconds=1.0, sound=False)
    with pytest.raises(TimeoutError):
        cache.wait(spec.cache_key(), spec, timeout=0.1)
    gate.set()
    cache.close()
