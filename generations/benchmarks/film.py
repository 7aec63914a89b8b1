"""The film benchmark: 10 simulator clips of 12 s at 720p with sound, stitched
with hard cuts (stream copy) and with 0.5 s crossfades (re-encode).

Each stitch runs in a fresh process so its peak RSS is its own; the clips are
rendered once (by the simulator's synthesis) into a cache directory first.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

# No model imports: the measuring processes are spawned without Django set up.
from generations.apixo.simulator.video import FPS, VideoSpec, render_mp4
from generations.benchmarks.cpu import peak_rss_mb
from generations.storyboards.stitch import Clip, stitch

SHOTS = 10
SECONDS = 12
CROSSFADE = 0.5


def clips(directory: Path) -> list[Path]:
    paths = []
    for index in range(SHOTS):
        spec = VideoSpec.for_task(
            resolution="720p",
            aspect_ratio="16:9",
            duration=SECONDS,
            sound=True,
            prompt=f"benchmark shot {index}: waves, gulls, a lighthouse",
        )
        path = directory / f"{spec.cache_key()}.mp4"
        if not path.exists():
            render_mp4(spec, path)
        paths.append(path)
    return paths


def _measure(paths: list[Path], cut: str, target: Path, out: Any) -> None:
    started = time.perf_counter()
    cpu = time.process_time()
    result = stitch(
        [Clip(p, cut=cut, crossfade=CROSSFADE) for p in paths],
        target,
        width=1280,
        height=720,
        fps=FPS,
    )
    out.put(
        {
            "wall_s": round(time.perf_counter() - started, 3),
            "cpu_s": round(time.process_time() - cpu, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "stream_copy": result.stream_copy,
            "duration": result.duration,
        }
    )


def run(cache: Path | None = None) -> dict[str, Any]:
    cache = cache or Path(tempfile.gettempdir()) / "seedance-bench-film"
    cache.mkdir(parents=True, exist_ok=True)
    paths = clips(cache)
    context = multiprocessing.get_context("spawn")
    report: dict[str, Any] = {"film_seconds": float(SHOTS * SECONDS)}
    with tempfile.TemporaryDirectory() as work:
        for name, cut in (("hard_cut", "hard"), ("crossfade", "crossfade")):
            queue = context.Queue()
            process = context.Process(
                target=_measure, args=(paths, cut, Path(work) / f"{name}.mp4", queue)
            )
            process.start()
            figures = queue.get(timeout=900)
            process.join()
            seconds = figures.pop("duration")
            figures["realtime_ratio"] = round(figures["wall_s"] / seconds, 4)
            report[name] = {
                key: figures[key]
                for key in (
                    "wall_s",
                    "cpu_s",
                    "realtime_ratio",
                    "peak_rss_mb",
                    "stream_copy",
                )
            }
    return report
