"""`vision.colour`: name the dominant colour of each detection.

The colour is the per-channel median of the central half of the box (which stays inside the
object for boxes, ellipses and most real objects), named by hue, saturation and value bins in
HSV. Adds a ``colour`` column that `where` predicates and the event store can use.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from senri.engine.operator import BatchPolicy, Operator, Stateless, register
from senri.records import FrameDetections

# Upper hue bounds (OpenCV hue, 0..180) of each named colour band, in order.
HUE_NAMES = (
    (8, "red"),
    (20, "orange"),
    (34, "yellow"),
    (85, "green"),
    (100, "cyan"),
    (130, "blue"),
    (150, "purple"),
    (170, "pink"),
    (181, "red"),
)
COLOURS = ("black", "white", "grey", *dict.fromkeys(name for _, name in HUE_NAMES))


def colour_name(rgb: np.ndarray) -> str:
    """Name an RGB colour: black/white/grey by value and saturation, otherwise by hue."""
    pixel = np.asarray(rgb, np.uint8).reshape(1, 1, 3)
    h, s, v = (int(x) for x in cv2.cvtColor(pixel, cv2.COLOR_RGB2HSV)[0, 0])
    if v < 50:
        return "black"
    if s < 50:
        return "white" if v > 190 else "grey"
    return next(name for bound, name in HUE_NAMES if h < bound)


@register
class DominantColour(Stateless, Operator[FrameDetections, FrameDetections]):
    """Add ``colour`` (a name from `COLOURS`) and ``rgb`` ("#rrggbb") to every detection."""

    name = "vision.colour"
    input_type = FrameDetections
    output_type = FrameDetections
    batch = BatchPolicy(max_size=16, max_wait_ms=10)
    fields = ("colour", "rgb")

    def __init__(self, inner: float = 0.5) -> None:
        if not 0 < inner <= 1:
            raise ValueError("inner must be within (0, 1]")
        self.inner = inner

    def process(self, items: list[FrameDetections]) -> list[FrameDetections]:
        return [self._name(fd) for fd in items]

    def _name(self, fd: FrameDetections) -> FrameDetections:
        image = fd.frame.image
        names, hexes = [], []
        for x1, y1, x2, y2 in fd.detections.xyxy:
            mx, my = (x2 - x1) * (1 - self.inner) / 2, (y2 - y1) * (1 - self.inner) / 2
            patch = image[
                int(y1 + my) : max(int(y2 - my), int(y1 + my) + 1),
                int(x1 + mx) : max(int(x2 - mx), int(x1 + mx) + 1),
            ]
            rgb = np.median(patch.reshape(-1, 3), axis=0) if patch.size else np.zeros(3)
            names.append(colour_name(rgb))
            hexes.append("#" + "".join(f"{int(c):02x}" for c in rgb))
        dets = fd.detections.with_columns(
            colour=np.array(names, dtype=object), rgb=np.array(hexes, dtype=object)
        )
        return replace(fd, detections=dets)
