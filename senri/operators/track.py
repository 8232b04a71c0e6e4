"""`vision.track`: give detections stable track ids across frames of a stream.

Greedy IoU matching (centre distance as a fallback for small fast objects) between the live
tracks of a stream and the new detections. A track gets its id once it has been seen in
`min_hits` frames and has moved `min_travel` pixels, so flicker and ghosts of objects that left
never count as objects; it ends after `max_age` frames unseen.

With ``high > 0`` association runs in two passes, as ByteTrack does: detections scoring at least
`high` are matched first and may start tracks; those below are then matched only to the tracks
still unmatched, so a dip in confidence keeps a track alive, and they never start tracks
themselves. The default (``high = 0``) makes every detection a high one: a single pass.

State per stream is a small JSON-able dict (`snapshot`/`restore`), so a distributed worker
can resume it.

Every detection carries `first_seen`, the time of its track's first detection (its own frame's
for one that starts a track), so the archive knows when a thing came into view even though
its id, and so its first tracked event, comes `min_hits - 1` frames later.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from senri.boxes import iou_matrix
from senri.engine.operator import BatchPolicy, Operator, register
from senri.records import FrameDetections


@dataclass
class _Track:
    box: list[float]
    start: list[float]
    hits: int = 1
    misses: int = 0
    id: int = -1
    first_seen: float | None = None
    """When the track's first detection was made (the frame's `ts`): a track gets its id only
    `min_hits` frames later, but the thing was in view from here."""


def _centre(box: list[float] | np.ndarray) -> tuple[float, float]:
    return (float(box[0] + box[2]) / 2, float(box[1] + box[3]) / 2)


@register
class Tracker(Operator[FrameDetections, FrameDetections]):
    """Fill `tracker_id`: -1 for detections not (yet) part of a confirmed, moving track."""

    name = "vision.track"
    input_type = FrameDetections
    output_type = FrameDetections
    batch = BatchPolicy(max_size=16, max_wait_ms=10)

    def __init__(
        self,
        iou: float = 0.2,
        max_distance: float = 40.0,
        max_age: int = 5,
        min_hits: int = 3,
        min_travel: float = 8.0,
        high: float = 0.0,
    ) -> None:
        self.iou = iou
        self.max_distance = max_distance
        self.max_age = max_age
        self.min_hits = min_hits
        self.min_travel = min_travel
        self.high = high
        self._streams: dict[str, dict[str, Any]] = {}

    def _state(self, stream_id: str) -> dict[str, Any]:
        return self._streams.setdefault(stream_id, {"next_id": 1, "tracks": []})

    def snapshot(self, stream_id: str) -> dict[str, Any]:
        state = self._state(stream_id)
        return {"next_id": state["next_id"], "tracks": [asdict(t) for t in state["tracks"]]}

    def restore(self, stream_id: str, state: dict[str, Any]) -> None:
        if not state:
            self._streams.pop(stream_id, None)
            return
        self._streams[stream_id] = {
            "next_id": int(state["next_id"]),
            "tracks": [_Track(**t) for t in state["tracks"]],
        }

    def process(self, items: list[FrameDetections]) -> list[FrameDetections]:
        return [self._update(fd) for fd in items]

    def _match(self, tracks: list[_Track], boxes: np.ndarray) -> dict[int, int]:
        """Greedy assignment detection index → track index by IoU, then by centre distance."""
        pairs: dict[int, int] = {}
        if not tracks or len(boxes) == 0:
            return pairs
        existing = np.array([t.box for t in tracks], np.float32)
        ious = iou_matrix(boxes, existing)
        centres_d = np.array([_centre(b) for b in boxes])
        centres_t = np.array([_centre(t.box) for t in tracks])
        dist = np.linalg.norm(centres_d[:, None, :] - centres_t[None, :, :], axis=2)
        candidates = [
            (-ious[i, j], dist[i, j], i, j) for i in range(len(boxes)) for j in range(len(tracks))
        ]
        used_t: set[int] = set()
        for neg_iou, d, i, j in sorted(candidates):
            if i in pairs or j in used_t:
                continue
            if -neg_iou >= self.iou or d <= self.max_distance:
                pairs[i] = j
                used_t.add(j)
        return pairs

    def _associate(self, tracks: list[_Track], fd: FrameDetections) -> dict[int, int]:
        """Detection index → track index: high-score detections first, then low ones to the rest.

        Low-score detections (below `high`) only continue tracks the high ones left unmatched.
        """
        boxes = fd.detections.xyxy
        if self.high <= 0:
            return self._match(tracks, boxes)
        high = np.flatnonzero(fd.detections.confidence >= self.high)
        low = np.flatnonzero(fd.detections.confidence < self.high)
        pairs = {int(high[i]): j for i, j in self._match(tracks, boxes[high]).items()}
        taken = set(pairs.values())
        rest = [j for j in range(len(tracks)) if j not in taken]
        if len(low) and rest:
            second = self._match([tracks[j] for j in rest], boxes[low])
            pairs.update({int(low[i]): rest[j] for i, j in second.items()})
        return pairs

    def _update(self, fd: FrameDetections) -> FrameDetections:
        state = self._state(fd.stream_id)
        tracks: list[_Track] = state["tracks"]
        boxes = fd.detections.xyxy
        pairs = self._associate(tracks, fd)
        ids = np.full(len(boxes), -1, np.int64)
        first_seen = np.full(len(boxes), fd.frame.ts, np.float64)
        matched: set[int] = set()
        for i, j in pairs.items():
            track = tracks[j]
            if track.first_seen is not None:
                first_seen[i] = track.first_seen
            track.box = [float(v) for v in boxes[i]]
            track.hits += 1
            track.misses = 0
            matched.add(j)
            if track.id < 0 and track.hits >= self.min_hits:
                sx, sy = _centre(track.start)
                cx, cy = _centre(track.box)
                if np.hypot(cx - sx, cy - sy) >= self.min_travel:
                    track.id = state["next_id"]
                    state["next_id"] += 1
            ids[i] = track.id
        for j, track in enumerate(tracks):
            if j not in matched:
                track.misses += 1
        kept = [t for t in tracks if t.misses <= self.max_age]
        starts = fd.detections.confidence >= self.high
        for i in range(len(boxes)):
            if i not in pairs and starts[i]:
                box = [float(v) for v in boxes[i]]
                kept.append(_Track(box=box, start=list(box), first_seen=fd.frame.ts))
        state["tracks"] = kept
        detections = replace(fd.detections, tracker_id=ids).with_columns(first_seen=first_seen)
        return replace(fd, detections=detections)
