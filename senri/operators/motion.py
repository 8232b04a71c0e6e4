"""`vision.motion`: moving regions found against a temporal-median background.

The background of each stream is the per-pixel median of frames sampled every `sample_every`
seconds over the last `history` samples, so anything that moves is foreground and anything
that stays long enough fades into the background. Until `warmup` samples are in, nothing is
reported: a stream needs about ``warmup * sample_every`` seconds to learn its scene.

A picture wider than `max_width` (default 640 px) is looked at shrunk to that width, and the
boxes are scaled back: moving regions do not need every pixel of a 1080p camera, and the
median over its full-size samples cost 165 ms of CPU per frame (a whole core at 5 frames/s)
against 13 ms shrunk. `min_area` stays in the camera's own pixels.

The samples are the operator's state (`snapshot` keeps them PNG-compressed, lossless), so a
worker that takes over a camera carries on with the same background instead of relearning it
and missing the objects that move meanwhile. Their size grows with the picture: about 40 KB
per sample for the demo's 320x240 camera; lower `history` on large cameras.
"""

from __future__ import annotations

import base64
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from senri.engine.operator import BatchPolicy, Emits, Operator, register
from senri.records import Detections, Frame, FrameDetections


@dataclass
class _Scene:
    samples: deque[np.ndarray]
    encoded: deque[str | None]
    """Each sample's PNG (base64) once a snapshot made it: a sample is encoded once, not at
    every commit (a snapshot is taken per batch, for the changelog and for retries)."""
    background: np.ndarray | None = None
    last_sample: float = float("-inf")
    kernel: np.ndarray = field(default_factory=lambda: np.ones((3, 3), np.uint8))


@register
class MotionDetector(Operator[Frame, FrameDetections]):
    """Boxes around regions that differ from the learned background by more than `threshold`."""

    name = "vision.motion"
    emits = (Emits("motion", "video", "objects"),)
    input_type = Frame
    output_type = FrameDetections
    batch = BatchPolicy(max_size=8, max_wait_ms=20)

    def __init__(
        self,
        threshold: int = 30,
        min_area: int = 80,
        history: int = 15,
        sample_every: float = 0.5,
        warmup: int = 2,
        max_width: int = 640,
    ) -> None:
        if history < 1 or warmup < 1 or warmup > history:
            raise ValueError("need 1 <= warmup <= history")
        if max_width < 0:
            raise ValueError(f"max_width must be >= 0 (0: full size); got {max_width}")
        self.max_width = max_width
        self.threshold = threshold
        self.min_area = min_area
        self.history = history
        self.sample_every = sample_every
        self.warmup = warmup
        self._scenes: dict[str, _Scene] = {}

    def process(self, items: list[Frame]) -> list[FrameDetections]:
        return [self._detect(frame) for frame in items]

    def snapshot(self, stream_id: str) -> dict[str, Any]:
        scene = self._scenes.get(stream_id)
        if scene is None:
            return {}
        samples = []
        for i, image in enumerate(scene.samples):
            data = scene.encoded[i]
            if data is None:
                ok, png = cv2.imencode(".png", image)
                if not ok:
                    raise ValueError("cannot PNG-encode a background sample")
                data = scene.encoded[i] = base64.b64encode(png.tobytes()).decode()
            samples.append(data)
        return {"samples": samples, "last_sample": scene.last_sample}

    def restore(self, stream_id: str, state: dict[str, Any]) -> None:
        if not state:
            self._scenes.pop(stream_id, None)
            return
        scene = self._new_scene()
        scene.last_sample = float(state["last_sample"])
        for data in state["samples"]:
            image = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), -1)
            if image is None:
                raise ValueError("a background sample in the snapshot is not a PNG")
            scene.samples.append(image)
            scene.encoded.append(data)
        if scene.samples:
            scene.background = np.median(np.stack(scene.samples), axis=0).astype(np.int16)
        self._scenes[stream_id] = scene

    def _new_scene(self) -> _Scene:
        return _Scene(deque(maxlen=self.history), deque(maxlen=self.history))

    def _shrunk(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        """The picture as motion is looked for in it, and its scale to the original."""
        height, width = image.shape[:2]
        if not self.max_width or width <= self.max_width:
            return image, 1.0
        scale = self.max_width / width
        size = (self.max_width, max(1, round(height * scale)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale

    def _learn(self, scene: _Scene, frame: Frame, image: np.ndarray) -> None:
        if frame.pts - scene.last_sample < self.sample_every and scene.background is not None:
            return
        scene.samples.append(image)
        scene.encoded.append(None)
        scene.last_sample = frame.pts
        scene.background = np.median(np.stack(scene.samples), axis=0).astype(np.int16)

    def _detect(self, frame: Frame) -> FrameDetections:
        scene = self._scenes.get(frame.stream_id)
        if scene is None:
            scene = self._scenes[frame.stream_id] = self._new_scene()
        image, scale = self._shrunk(frame.image)
        if scene.background is not None and scene.background.shape != image.shape:
            scene.samples.clear()  # resolution changed: relearn
            scene.encoded.clear()
            scene.background = None
        self._learn(scene, frame, image)
        if len(scene.samples) < self.warmup or scene.background is None:
            return FrameDetections(frame, Detections.empty(), kind="motion")
        diff = np.abs(image.astype(np.int16) - scene.background).max(axis=2)
        mask = (diff > self.threshold).astype(np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, scene.kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, scene.kernel, iterations=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        boxes, scores = [], []
        min_area = self.min_area * scale * scale  # in the camera's pixels
        for i in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[i])
            if area < min_area:
                continue
            boxes.append((x / scale, y / scale, (x + w) / scale, (y + h) / scale))
            scores.append(area / float(w * h))
        dets = Detections.create(
            np.array(boxes, np.float32).reshape(-1, 4),
            confidence=scores,
            data={"label": np.array(["object"] * len(boxes), dtype=object)},
        )
        return FrameDetections(frame, dets, kind="motion")
