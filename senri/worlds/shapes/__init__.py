"""The sample world: a short camera video and microphone track with known contents.

`generate` writes, deterministically from a seed, ``camera.mp4`` (solid saturated shapes moving
in straight lines over a static grey background), ``audio.wav`` (espeak-ng phrases and synthetic
sounds over near silence) and ``truth.json`` (what is where, when). `senri demo` runs its graph
over the first two and the e2e tests compare the demo's summary with the third. The same seed
gives the same truth.json and the same WAV bytes (the MP4 may differ in container metadata;
the WAV only across machines with the same espeak-ng version).

Truth times are seconds from the start of the stream (pts). Per object: `enter`/`exit` bound
when any part of it is inside the frame, `fully_inside` when all of it is, `path` holds
[t, x_centre, y_centre] points to interpolate linearly (see `position_at`; the object exists
only between the first and last). `still` lists spans of >= 1 s with nothing visible. Audio
events carry `rms_dbfs` and `max_gap`, the longest silence inside one (what a loudness
detector must bridge). `palette` maps the colour names used to their RGB.

Example:
    >>> world = generate(Path("/tmp/world"), seed=7)  # doctest: +SKIP
    >>> load_truth(world.truth)["summary"]["objects"]  # doctest: +SKIP
    10
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from senri.worlds import is_current, load_truth, replace_atomically, require
from senri.worlds.shapes import scene, sound, video
from senri.worlds.shapes.scene import PALETTE, MovingObject
from senri.worlds.shapes.sound import SpeechSynthError

__all__ = [
    "PALETTE",
    "VERSION",
    "SpeechSynthError",
    "World",
    "exists",
    "generate",
    "load_truth",
    "position_at",
    "replace_atomically",
    "validate",
]

VERSION = 4
"""Bump when the world's contents or truth layout change, so cached worlds are regenerated."""

VIDEO_NAME, AUDIO_NAME, TRUTH_NAME = "camera.mp4", "audio.wav", "truth.json"
STREAM_IDS = {"video": "cam1", "audio": "mic1"}


@dataclass(frozen=True)
class World:
    """Where a generated world was written."""

    root: Path
    video: Path
    audio: Path
    truth: Path


def generate(
    root: Path,
    *,
    seed: int = 7,
    duration: float = 20.0,
    fps: int = 10,
    size: tuple[int, int] = (320, 240),
    start_time: float = 1_767_261_600.0,
    progress: Callable[[float], None] | None = None,
) -> World:
    """Write a sample world into `root` (created if missing) and return its paths.

    `size` is (width, height); `start_time` is the wall-clock time (Unix seconds) of pts 0;
    `progress` receives the fraction done, from 0.0 to 1.0. Files are written under temporary
    names and renamed, truth last, so `exists` never sees a half-written world.
    """
    if duration <= 0 or fps <= 0 or min(size) <= 0:
        raise ValueError(f"duration, fps and size must be positive; got {duration}, {fps}, {size}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    world = World(root, root / VIDEO_NAME, root / AUDIO_NAME, root / TRUTH_NAME)
    report = progress or (lambda _: None)
    report(0.0)
    world.truth.unlink(missing_ok=True)

    # independent streams: changing how one medium is drawn leaves the other unchanged
    video_rng, audio_rng, texture_rng = (np.random.default_rng([seed, k]) for k in (1, 2, 3))

    clips = sound.make_clips(audio_rng, duration)
    pcm, spans = sound.mix(audio_rng, clips, duration)
    replace_atomically(
        world.audio, lambda tmp: sf.write(tmp, pcm, sound.SAMPLE_RATE, "PCM_16", format="WAV")
    )
    # A WAV carries no capture time; sources fall back to the file's modification time, so the
    # recording is dated when it "started" (`senri ingest audio` then agrees with the truth).
    os.utime(world.audio, (start_time, start_time))
    report(0.15)

    objects = scene.plan_objects(video_rng, duration, fps, size)
    truth = _truth(seed, start_time, duration, fps, size, objects, spans)
    validate(truth)
    frames = round(duration * fps)
    replace_atomically(
        world.video,
        lambda tmp: video.encode(
            tmp,
            video.background(texture_rng, size),
            objects,
            fps=fps,
            frames=frames,
            start_time=start_time,
            progress=lambda done: report(0.15 + 0.8 * done / frames),
        ),
    )

    text = json.dumps(truth, indent=2) + "\n"
    replace_atomically(world.truth, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    report(1.0)
    return world


def exists(root: Path) -> bool:
    """True if `root` holds a complete world written by this version of the generator."""
    return is_current(root, (VIDEO_NAME, AUDIO_NAME), TRUTH_NAME, "shapes", VERSION)


def position_at(obj: Mapping[str, Any], t: float) -> tuple[float, float] | None:
    """Centre (x, y) of a truth object at pts `t`, or None when it does not exist then."""
    path = obj["path"]
    if not path[0][0] <= t <= path[-1][0]:
        return None
    for (ta, xa, ya), (tb, xb, yb) in itertools.pairwise(path):
        if ta <= t <= tb:
            f = 0.0 if tb == ta else (t - ta) / (tb - ta)
            return (xa + f * (xb - xa), ya + f * (yb - ya))
    return None


def validate(truth: Mapping[str, Any]) -> None:
    """Check the promises a truth makes; raise ValueError naming the first one broken."""
    fps, duration, objects = truth["fps"], truth["duration"], truth["objects"]
    for t in np.arange(round(duration * fps * 4) + 1) / (fps * 4.0):
        boxes = [(o["id"], position_at(o, float(t)), o["size"]) for o in objects]
        alive = [(i, p, s) for i, p, s in boxes if p is not None]
        _require(len(alive) <= scene.MAX_ON_SCREEN, f"{len(alive)} objects at t={t:.3f}")
        for k, (ia, (xa, ya), (wa, ha)) in enumerate(alive):
            for ib, (xb, yb), (wb, hb) in alive[k + 1 :]:
                apart = abs(xa - xb) >= (wa + wb) / 2 or abs(ya - yb) >= (ha + hb) / 2
                _require(apart, f"objects {ia} and {ib} overlap at t={t:.3f}")
    for obj in objects:
        _require(obj["exit"] - obj["enter"] >= 1.5, f"object {obj['id']} visible under 1.5 s")
        _require(0 <= obj["enter"] <= obj["exit"] <= duration, f"object {obj['id']} out of time")
    spans = sorted(truth["speech"] + truth["sounds"], key=lambda s: s["start"])
    for a, b in itertools.pairwise(spans):
        _require(b["start"] - a["end"] >= 0.8, f"audio events closer than 0.8 s: {a} {b}")
    _require(all(0 <= s["start"] < s["end"] <= duration for s in spans), "audio event out of time")


def _require(ok: bool, problem: str) -> None:
    require("shapes", ok, problem)


def _truth(
    seed: int,
    start_time: float,
    duration: float,
    fps: int,
    size: tuple[int, int],
    objects: list[MovingObject],
    spans: list[dict[str, Any]],
) -> dict[str, Any]:
    records = [o.to_truth(size) for o in objects]
    speech = [{k: v for k, v in s.items() if k != "kind"} for s in spans if s["kind"] == "speech"]
    sounds = [{k: v for k, v in s.items() if k != "kind"} for s in spans if s["kind"] == "sound"]
    colours = Counter(o.colour for o in objects)
    return {
        "world": "shapes",
        "version": VERSION,
        "seed": seed,
        "start_time": start_time,
        "duration": duration,
        "fps": fps,
        "size": list(size),
        "stream_ids": dict(STREAM_IDS),
        "sample_rate": sound.SAMPLE_RATE,
        "palette": {name: list(rgb) for name, rgb in PALETTE.items()},
        "objects": records,
        "still": scene.still_spans(objects, duration, fps, size),
        "speech": speech,
        "sounds": sounds,
        "summary": {
            "objects": len(records),
            "objects_by_colour": dict(sorted(colours.items())),
            "speech_segments": len(speech),
            "sound_segments": len(sounds),
        },
    }
