"""Render the planned scene and encode it as H.264 (yuv420p) MP4 with pyav.

The background is a fixed low-saturation grey gradient with a faint smooth texture and no
per-frame noise, so frame differencing sees exactly the moving shapes and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from senri.worlds.shapes.scene import MovingObject

Image = npt.NDArray[np.uint8]


def background(rng: np.random.Generator, size: tuple[int, int]) -> Image:
    """A mid-grey diagonal gradient (about 95..155) with a slight tint and ±4 smooth texture."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = 95.0 + 60.0 * (0.6 * xx / max(w - 1, 1) + 0.4 * yy / max(h - 1, 1))
    noise = rng.normal(0.0, 1.0, (h, w)).astype(np.float32)
    blurred = np.asarray(cv2.GaussianBlur(noise, (0, 0), sigmaX=6.0), dtype=np.float32)
    texture = blurred * (4.0 / max(float(np.abs(blurred).max()), 1e-6))
    tint = np.array([3.0, 0.0, -4.0], dtype=np.float32)  # a hint of warmth, far from saturated
    img = (ramp + texture)[:, :, None] + tint
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def render(base: Image, objects: list[MovingObject], t: float) -> Image:
    """The frame at time `t`: every object alive at `t` drawn solid over the background."""
    img = base.copy()
    now = np.array([t])
    for obj in objects:
        xs, ys, alive = obj.centres(now)
        if not alive[0]:
            continue
        cx, cy = round(float(xs[0])), round(float(ys[0]))
        w, h = obj.size
        colour = tuple(int(c) for c in obj.rgb)
        if obj.shape == "rect":
            x0, y0 = cx - w // 2, cy - h // 2
            cv2.rectangle(img, (x0, y0), (x0 + w - 1, y0 + h - 1), colour, thickness=-1)
        else:
            cv2.ellipse(img, (cx, cy), (w // 2, h // 2), 0, 0, 360, colour, thickness=-1)
    return img


def encode(
    path: Path,
    base: Image,
    objects: list[MovingObject],
    *,
    fps: int,
    frames: int,
    start_time: float,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write `frames` frames at `fps` as H.264; pts i/fps is the time the scene was rendered at."""
    h, w = base.shape[:2]
    with av.open(str(path), mode="w", format="mp4") as container:
        created = dt.datetime.fromtimestamp(start_time, tz=dt.UTC)
        container.metadata["creation_time"] = created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = Fraction(1, fps)
        # high quality and a short GOP: colours stay true and the static background stays static
        stream.options = {"crf": "16", "preset": "veryfast", "g": str(2 * fps)}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(render(base, objects, i / fps), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
            if progress is not None:
                progress(i + 1)
        container.mux(stream.encode(None))
