"""Stitch clips into one H.264 + AAC MP4 with PyAV.

- Video: stream copy when every clip shares its codec parameters with the
  others and with the film (size, frame rate) and every cut is hard; otherwise
  each frame is decoded, scaled to the film's size and re-encoded, with the
  crossfades blended.
- Audio: always rebuilt (cheap): each clip's sound (silence for a silent clip)
  placed on the film's timeline, faded in and out at every cut so there is no
  click (``HARD_CUT_FADE`` at a hard cut, the crossfade's length at a crossfade,
  where the two sounds overlap), then encoded to AAC.
- The file is written under a temporary name beside the target and renamed at
  the end: a reader never sees half a film, a killed worker leaves only a
  ``.part`` file that the next attempt removes.
"""

from __future__ import annotations

import contextlib
import math
import os
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

AUDIO_RATE = 44_100
LAYOUTS = {1: "mono", 2: "stereo"}
AUDIO_FRAME = 1024
# The fade at a hard cut, each side: long enough to remove the click, far too
# short to hear as a fade.
HARD_CUT_FADE = 0.012
CRF = 20

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Clip:
    path: Path
    # How the film enters this clip from the one before (ignored for the first).
    cut: str = "hard"
    crossfade: float = 0.0


@dataclass(frozen=True)
class StitchResult:
    duration: float
    stream_copy: bool
    cuts: int


@dataclass(frozen=True)
class _Probe:
    signature: tuple[object, ...]
    frames: int
    has_audio: bool
    channels: int


@dataclass(frozen=True)
class _Track:
    """The film's sound: interleaved float samples of ``channels`` channels."""

    samples: array[float]
    channels: int


def part_name(target: Path) -> str:
    return f".{target.name}.part"


def stitch(
    clips: list[Clip],
    target: Path,
    *,
    width: int,
    height: int,
    fps: int,
    progress: Progress | None = None,
) -> StitchResult:
    if not clips:
        raise ValueError("Nothing to stitch.")
    report = progress or (lambda _fraction: None)
    probes = [_probe(c.path) for c in clips]
    overlaps = [0] + [
        round(c.crossfade * fps) if c.cut == "crossfade" else 0 for c in clips[1:]
    ]
    overlaps = [
        min(o, probes[i].frames, probes[i - 1].frames) for i, o in enumerate(overlaps)
    ]
    film_sig = ("h264", width, height, "yuv420p", Fraction(fps))
    copy = not any(overlaps) and all(
        p.signature[:5] == film_sig and p.signature == probes[0].signature
        for p in probes
    )
    starts = []
    frame = 0
    for probe, overlap in zip(probes, overlaps, strict=True):
        frame -= overlap
        starts.append(frame)
        frame += probe.frames
    total_frames = frame
    # Mono unless some take has stereo sound: half the (slow) AAC encoding.
    channels = 2 if any(p.channels > 1 for p in probes) else 1
    audio = _Track(
        _timeline(clips, probes, (starts, overlaps), fps, total_frames, channels),
        channels,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / part_name(target)
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        with av.open(
            str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}
        ) as out:
            if copy:
                _copy_video(out, clips, audio, fps, total_frames, report)
            else:
                _encode_video(
                    out, clips, probes, overlaps, audio, (width, height, fps), report
                )
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    report(1.0)
    return StitchResult(
        duration=total_frames / fps, stream_copy=copy, cuts=len(clips) - 1
    )


def _probe(path: Path) -> _Probe:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or 24
        signature = (
            ctx.name,
            ctx.width,
            ctx.height,
            ctx.pix_fmt,
            Fraction(str(rate)),
            bytes(ctx.extradata or b""),
            stream.time_base,
        )
        frames = sum(1 for p in container.demux(stream) if p.size)
        audio = container.streams.audio
        channels = audio[0].codec_context.channels if audio else 0
    return _Probe(
        signature=signature, frames=frames, has_audio=bool(audio), channels=channels
    )


# ---------- audio ----------


def _decode_audio(path: Path, channels: int) -> array[float]:
    samples: array[float] = array("f")
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return samples
        resampler = av.AudioResampler(
            format="flt", layout=LAYOUTS[channels], rate=AUDIO_RATE
        )
        for frame in container.decode(container.streams.audio[0]):
            for out in resampler.resample(frame):
                samples.frombytes(bytes(out.planes[0])[: out.samples * 4 * channels])
        for out in resampler.resample(None):
            samples.frombytes(bytes(out.planes[0])[: out.samples * 4 * channels])
    return samples


def _timeline(
    clips: list[Clip],
    probes: list[_Probe],
    placing: tuple[list[int], list[int]],
    fps: int,
    total_frames: int,
    ch: int,
) -> array[float]:
    """The film's interleaved samples, every clip faded at its cuts."""
    starts, overlaps = placing
    total = _samples(total_frames, fps)
    timeline = array("f", bytes(4 * ch * total))
    hard = round(HARD_CUT_FADE * AUDIO_RATE)
    for index, (clip, probe) in enumerate(zip(clips, probes, strict=True)):
        length = _samples(probe.frames, fps)
        sound = _decode_audio(clip.path, ch) if probe.has_audio else array("f")
        # Exactly the clip's video length: cut or padded with silence.
        del sound[length * ch :]
        missing = length * ch - len(sound)
        if missing > 0:
            sound.frombytes(bytes(4 * missing))
        fade_in = _samples(overlaps[index], fps) if overlaps[index] else hard
        after = overlaps[index + 1] if index + 1 < len(clips) else 0
        fade_out = _samples(after, fps) if after else hard
        if index > 0:
            _ramp(sound, ch, 0, fade_in, rising=True)
        if index + 1 < len(clips):
            _ramp(sound, ch, length - fade_out, fade_out, rising=False)
        offset = _samples(starts[index], fps)
        mixed = _samples(overlaps[index], fps)  # the part laid over the previous
        for i in range(mixed * ch):
            timeline[offset * ch + i] += sound[i]
        end = min(total, offset + length)
        timeline[(offset + mixed) * ch : end * ch] = sound[
            mixed * ch : (end - offset) * ch
        ]
    return timeline


def _samples(frames: int, fps: int) -> int:
    return round(frames * AUDIO_RATE / fps)


def _ramp(
    sound: array[float], ch: int, start: int, count: int, *, rising: bool
) -> None:
    """An equal-power fade over ``count`` stereo samples from ``start``."""
    for n in range(max(0, count)):
        t = (n + 0.5) / count
        gain = math.sin(t * math.pi / 2) if rising else math.cos(t * math.pi / 2)
        base = (start + n) * ch
        for c in range(ch):
            if 0 <= base + c < len(sound):
                sound[base + c] *= gain


def _audio_stream(out: av.container.OutputContainer, ch: int) -> av.AudioStream:
    stream = out.add_stream("aac", rate=AUDIO_RATE, layout=LAYOUTS[ch])
    # FFmpeg's default "twoloop" coder costs ~5 s per film minute here; "fast"
    # is several times quicker and plenty for the simulator's (and most) sound.
    stream.codec_context.options = {"aac_coder": "fast"}
    stream.bit_rate = 96_000 * ch
    return stream


def _audio_frames(track: _Track) -> Iterator[av.AudioFrame]:
    timeline, ch = track.samples, track.channels
    total = len(timeline) // ch
    raw = memoryview(timeline.tobytes())
    for pts in range(0, total, AUDIO_FRAME):
        n = min(AUDIO_FRAME, total - pts)
        frame = av.AudioFrame(format="flt", layout=LAYOUTS[ch], samples=n)
        frame.planes[0].update(bytes(raw[pts * ch * 4 : (pts + n) * ch * 4]))
        frame.sample_rate = AUDIO_RATE
        frame.pts = pts
        frame.time_base = Fraction(1, AUDIO_RATE)
        yield frame


class _AudioMux:
    """Encodes the timeline lazily, keeping it just ahead of the video's clock."""

    def __init__(self, out: av.container.OutputContainer, track: _Track) -> None:
        self.out = out
        self.stream = _audio_stream(out, track.channels)
        self.frames = _audio_frames(track)
        self.done_until = 0.0

    def until(self, seconds: float) -> None:
        while self.done_until <= seconds:
            frame = next(self.frames, None)
            if frame is None:
                self.done_until = math.inf
                break
            self.done_until = ((frame.pts or 0) + frame.samples) / AUDIO_RATE
            self.out.mux(self.stream.encode(frame))

    def finish(self) -> None:
        self.until(math.inf)
        self.out.mux(self.stream.encode(None))


# ---------- video ----------


def _copy_video(
    out: av.container.OutputContainer,
    clips: list[Clip],
    timeline: _Track,
    fps: int,
    total_frames: int,
    report: Progress,
) -> None:
    sources = [av.open(str(c.path)) for c in clips]
    try:
        template = sources[0].streams.video[0]
        video = out.add_stream_from_template(template)
        audio = _AudioMux(out, timeline)
        base = template.time_base
        assert base is not None
        offset = 0
        for index, source in enumerate(sources):
            stream = source.streams.video[0]
            end = offset
            for packet in source.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                duration = packet.duration or round(1 / (fps * base))
                end = max(end, offset + packet.pts + duration)
                packet.pts += offset
                if packet.dts is not None:
                    packet.dts += offset
                packet.stream = video
                audio.until(float(packet.pts * base))
                out.mux(packet)
            offset = end
            report((index + 1) / len(sources) * 0.95)
        audio.finish()
    finally:
        for source in sources:
            source.close()


def _encode_video(
    out: av.container.OutputContainer,
    clips: list[Clip],
    probes: list[_Probe],
    overlaps: list[int],
    timeline: _Track,
    size: tuple[int, int, int],
    report: Progress,
) -> None:
    width, height, fps = size
    video = out.add_stream("libx264", rate=fps)
    video.width = width
    video.height = height
    video.pix_fmt = "yuv420p"
    video.options = {"preset": "ultrafast", "crf": str(CRF), "g": str(2 * fps)}
    audio = _AudioMux(out, timeline)
    written = 0
    held: list[av.VideoFrame] = []  # the tail of the previous clip, to blend
    total = sum(p.frames for p in probes)

    def emit(frame: av.VideoFrame) -> None:
        nonlocal written
        frame.pts = written
        frame.time_base = Fraction(1, fps)
        audio.until(written / fps)
        out.mux(video.encode(frame))
        written += 1

    seen = 0
    for index, clip in enumerate(clips):
        keep_tail = overlaps[index + 1] if index + 1 < len(clips) else 0
        count = probes[index].frames
        tail: list[av.VideoFrame] = []
        with av.open(str(clip.path)) as source:
            for n, decoded in enumerate(source.decode(source.streams.video[0])):
                frame = decoded.reformat(width=width, height=height, format="yuv420p")
                if n < overlaps[index] and held:
                    frame = _blend(held.pop(0), frame, (n + 1) / (overlaps[index] + 1))
                if n >= count - keep_tail:
                    tail.append(frame)
                else:
                    emit(frame)
                seen += 1
                if seen % 48 == 0:
                    report(0.95 * seen / total)
        for leftover in held:  # a clip shorter than its overlap (never planned)
            emit(leftover)
        held = tail
    for leftover in held:
        emit(leftover)
    out.mux(video.encode(None))
    audio.finish()


def _blend(a: av.VideoFrame, b: av.VideoFrame, mix: float) -> av.VideoFrame:
    image = Image.blend(a.to_image(), b.to_image(), mix)  # type: ignore[no-untyped-call]
    frame: av.VideoFrame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
    return frame.reformat(format="yuv420p")
