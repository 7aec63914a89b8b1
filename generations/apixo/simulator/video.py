"""Synthesis of the simulator's MP4 results with PyAV and Pillow (no numpy needed).

The files look like what Seedance returns in the ways that matter to the studio:
H.264 (yuv420p) at 24 fps, exactly the published frame size, the requested duration,
and an AAC track exactly when sound was asked. Text-to-video draws an animated
gradient with drifting soft shapes whose palette derives from a hash of the prompt;
image-to-video starts on the first image and cross-fades to the second one (with
one image: a slow zoom), both fitted ("cover") to the frame.
"""

from __future__ import annotations

import colorsys
import contextlib
import functools
import hashlib
import json
import math
import os
import random
import tempfile
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from generations.apixo.contract import frame_size

FPS = 24
AUDIO_RATE = 44_100
AUDIO_FRAME_SAMPLES = 1024
# Frequencies are whole hertz and the tremolo period is 2 s, so a 2-second buffer
# loops without a click and the per-sample maths runs only once per video.
AUDIO_LOOP_SECONDS = 2
CRF = 26
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class VideoSpec:
    """Everything that determines the pixels and samples of one result file."""

    width: int
    height: int
    seconds: float
    sound: bool
    prompt: str = ""
    images: tuple[Path, ...] = field(default=())
    fixed_lens: bool = False
    fps: int = FPS

    @classmethod
    def for_task(
        cls,
        *,
        resolution: str,
        aspect_ratio: str,
        duration: int,
        sound: bool,
        prompt: str,
        images: Sequence[Path] = (),
        fixed_lens: bool = False,
    ) -> VideoSpec:
        width, height = frame_size(resolution, aspect_ratio)
        return cls(
            width=width,
            height=height,
            seconds=float(duration),
            sound=sound,
            prompt=prompt,
            images=tuple(images),
            fixed_lens=fixed_lens,
        )

    @property
    def frame_count(self) -> int:
        return max(1, round(self.seconds * self.fps))

    def cache_key(self) -> str:
        """A stable name for the file: parameters, prompt hash and image hashes."""
        parts = {
            "v": 1,
            "size": [self.width, self.height],
            "seconds": self.seconds,
            "sound": self.sound,
            "fixed_lens": self.fixed_lens,
            "fps": self.fps,
            "prompt": hashlib.sha256(self.prompt.encode()).hexdigest(),
            "images": [file_digest(path) for path in self.images],
        }
        blob = json.dumps(parts, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:32]


def file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def render_mp4(spec: VideoSpec, path: Path) -> None:
    """Encode the video for ``spec`` to ``path`` atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".render-", suffix=".mp4")
    os.close(fd)
    try:
        _encode(spec, tmp_name)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _encode(spec: VideoSpec, filename: str) -> None:
    with av.open(
        filename, mode="w", format="mp4", options={"movflags": "+faststart"}
    ) as container:
        video = container.add_stream("libx264", rate=spec.fps)
        video.width = spec.width
        video.height = spec.height
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast", "crf": str(CRF), "g": str(spec.fps)}
        audio = None
        pending_audio: Iterator[av.AudioFrame] = iter(())
        if spec.sound:
            audio = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
            pending_audio = audio_frames(spec)
        audio_pts = 0
        for index, image in enumerate(frames(spec)):
            frame = to_video_frame(image)
            frame.pts = index
            container.mux(video.encode(frame))
            # Interleave: keep the audio up to the video's clock, so the muxer never
            # has to buffer one whole stream.
            while audio is not None and audio_pts * spec.fps <= index * AUDIO_RATE:
                audio_frame = next(pending_audio, None)
                if audio_frame is None:
                    break
                audio_pts += audio_frame.samples
                container.mux(audio.encode(audio_frame))
        container.mux(video.encode(None))
        if audio is not None:
            for audio_frame in pending_audio:
                container.mux(audio.encode(audio_frame))
            container.mux(audio.encode(None))


def to_video_frame(image: Image.Image) -> av.VideoFrame:
    # PyAV's stubs leave from_image untyped.
    frame: av.VideoFrame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
    return frame.reformat(format="yuv420p")


def frames(spec: VideoSpec) -> Iterator[Image.Image]:
    """The RGB frames of the video, one per 1/fps second."""
    if spec.images:
        pictures = [load_cover(path, (spec.width, spec.height)) for path in spec.images]
        if len(pictures) == 1:
            return single_image_frames(pictures[0], spec)
        return two_image_frames(pictures[0], pictures[1], spec)
    return text_frames(spec)


def load_cover(path: Path, size: tuple[int, int]) -> Image.Image:
    """Open an image and fit it to ``size`` by covering it and cropping the excess."""
    with Image.open(path) as opened:
        upright = ImageOps.exif_transpose(opened).convert("RGB")
    return ImageOps.fit(upright, size, Image.Resampling.LANCZOS)


def zoomed(image: Image.Image, scale: float, drift: tuple[float, float]) -> Image.Image:
    """``image`` magnified by ``scale`` around its centre shifted by ``drift`` px."""
    if scale <= 1.0001 and drift == (0.0, 0.0):
        return image
    width, height = image.size
    inverse = 1.0 / scale
    left = (width - width * inverse) / 2 + drift[0]
    top = (height - height * inverse) / 2 + drift[1]
    data = (inverse, 0.0, left, 0.0, inverse, top)
    return image.transform(
        image.size, Image.Transform.AFFINE, data, Image.Resampling.BILINEAR
    )


def single_image_frames(picture: Image.Image, spec: VideoSpec) -> Iterator[Image.Image]:
    count = spec.frame_count
    brighter = ImageEnhance.Brightness(picture).enhance(1.08)
    for index in range(count):
        progress = index / max(1, count - 1)
        if spec.fixed_lens:
            # A static camera: only the light breathes a little.
            yield Image.blend(picture, brighter, 0.5 - 0.5 * math.cos(progress * 6.0))
            continue
        scale = 1.0 + 0.12 * smoothstep(progress)
        drift = (spec.width * 0.03 * progress, -spec.height * 0.02 * progress)
        yield zoomed(picture, scale, drift)


def two_image_frames(
    start: Image.Image, end: Image.Image, spec: VideoSpec
) -> Iterator[Image.Image]:
    count = spec.frame_count
    for index in range(count):
        progress = index / max(1, count - 1)
        # Hold the start frame, cross-fade through the middle, land on the end frame.
        mix = smoothstep((progress - 0.2) / 0.6)
        if mix <= 0.0:
            blended = start
        elif mix >= 1.0:
            blended = end
        else:
            blended = Image.blend(start, end, mix)
        if spec.fixed_lens:
            yield blended
        else:
            yield zoomed(blended, 1.0 + 0.06 * math.sin(math.pi * progress), (0.0, 0.0))


def smoothstep(value: float) -> float:
    clamped = min(1.0, max(0.0, value))
    return clamped * clamped * (3.0 - 2.0 * clamped)


@dataclass(frozen=True)
class Palette:
    first: RGB
    second: RGB
    third: RGB
    accent: RGB
    angle: float
    seed: int


def palette_for(prompt: str) -> Palette:
    """Colours and motion derived from the prompt, so prompts look different."""
    digest = hashlib.sha256(prompt.encode()).digest()
    hue = digest[0] / 255.0
    spread = 0.08 + digest[1] / 255.0 * 0.25

    def colour(h: float, s: float, v: float) -> RGB:
        r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
        return (round(r * 255), round(g * 255), round(b * 255))

    return Palette(
        first=colour(hue, 0.55 + digest[2] / 255.0 * 0.3, 0.85),
        second=colour(hue + spread, 0.6, 0.45 + digest[3] / 255.0 * 0.3),
        third=colour(hue - spread, 0.5, 0.9),
        accent=colour(hue + 0.5, 0.35, 1.0),
        angle=digest[4] / 255.0 * 360.0,
        seed=int.from_bytes(digest[5:13], "big"),
    )


def gradient(size: tuple[int, int], start: RGB, end: RGB, angle: float) -> Image.Image:
    side = math.ceil(math.hypot(*size))
    mask = Image.linear_gradient("L").resize((side, side)).rotate(angle)
    left = (side - size[0]) // 2
    top = (side - size[1]) // 2
    mask = mask.crop((left, top, left + size[0], top + size[1]))
    return Image.composite(
        Image.new("RGB", size, end), Image.new("RGB", size, start), mask
    )


def soft_blob(radius: int, colour: RGB, opacity: int) -> Image.Image:
    """A blurred disc (RGBA) to paste as a glowing shape."""
    side = radius * 4
    mask = Image.new("L", (side, side), 0)
    disc = Image.new("L", (radius * 2, radius * 2), opacity)
    circle = Image.new("L", (radius * 2, radius * 2), 0)
    ImageDraw.Draw(circle).ellipse((0, 0, radius * 2 - 1, radius * 2 - 1), fill=255)
    mask.paste(disc, (radius, radius), circle)
    mask = mask.filter(ImageFilter.GaussianBlur(radius / 2.5))
    blob = Image.new("RGBA", (side, side), colour)
    blob.putalpha(mask)
    return blob


def text_frames(spec: VideoSpec) -> Iterator[Image.Image]:
    palette = palette_for(spec.prompt)
    rng = random.Random(palette.seed)
    width, height = spec.width, spec.height
    margin = 0.0 if spec.fixed_lens else 0.12
    canvas = (round(width * (1 + margin)), round(height * (1 + margin)))
    warm = gradient(canvas, palette.first, palette.second, palette.angle)
    cool = gradient(canvas, palette.third, palette.second, palette.angle + 120.0)
    unit = min(width, height)
    blobs = []
    for colour in (palette.accent, palette.third, palette.first, palette.accent):
        radius = max(4, round(unit * rng.uniform(0.08, 0.18)))
        sprite = soft_blob(radius, colour, rng.randint(110, 190))
        phases = (rng.uniform(0, math.tau), rng.uniform(0, math.tau))
        speeds = (rng.uniform(0.3, 1.0), rng.uniform(0.3, 1.0))
        blobs.append((sprite, phases, speeds))
    count = spec.frame_count
    for index in range(count):
        seconds = index / spec.fps
        mix = 0.5 - 0.5 * math.cos(seconds * 0.7)
        pan_x = (canvas[0] - width) * (0.5 + 0.5 * math.sin(seconds * 0.4))
        pan_y = (canvas[1] - height) * (0.5 + 0.5 * math.cos(seconds * 0.3))
        box = (round(pan_x), round(pan_y), round(pan_x) + width, round(pan_y) + height)
        frame = Image.blend(warm.crop(box), cool.crop(box), mix)
        for sprite, phases, speeds in blobs:
            x = width * (0.5 + 0.38 * math.sin(seconds * speeds[0] + phases[0]))
            y = height * (0.5 + 0.38 * math.sin(seconds * speeds[1] + phases[1]))
            half = sprite.size[0] // 2
            frame.paste(sprite, (round(x) - half, round(y) - half), sprite)
        yield frame


def audio_frames(spec: VideoSpec) -> Iterator[av.AudioFrame]:
    """A soft chord with a little filtered noise, faded in and out (mono float)."""
    total = round(spec.seconds * AUDIO_RATE)
    loop = audio_loop(hashlib.sha256(spec.prompt.encode()).digest()[0] % 48)
    fade_in = int(AUDIO_RATE * 0.3)
    fade_out = int(AUDIO_RATE * 0.5)
    for start in range(0, total, AUDIO_FRAME_SAMPLES):
        count = min(AUDIO_FRAME_SAMPLES, total - start)
        samples = array("f", (loop[(start + i) % len(loop)] for i in range(count)))
        if start < fade_in or start + count > total - fade_out:
            for i in range(count):
                position = start + i
                gain = min(1.0, position / fade_in, (total - position) / fade_out)
                samples[i] *= max(0.0, gain)
        frame = av.AudioFrame(format="fltp", layout="mono", samples=count)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        yield frame


@functools.lru_cache(maxsize=8)
def audio_loop(variant: int) -> array[float]:
    """Two seconds of sound; ``variant`` (a prompt-hash byte) picks the chord."""
    root = 110 + 2 * variant
    chord = (root, round(root * 1.5), round(root * 2.5))
    rng = random.Random(variant)
    count = AUDIO_LOOP_SECONDS * AUDIO_RATE
    samples = array("f", bytes(4 * count))
    noise = 0.0
    for i in range(count):
        t = i / AUDIO_RATE
        tremolo = 0.75 + 0.25 * math.sin(math.pi * t)
        tone = sum(math.sin(math.tau * f * t) for f in chord) / len(chord)
        noise = noise * 0.97 + rng.uniform(-1.0, 1.0) * 0.03
        samples[i] = 0.18 * tremolo * tone + 0.25 * noise
    return samples
