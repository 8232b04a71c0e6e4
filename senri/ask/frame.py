"""What is in one frame, as the events a pipeline would store for it, and pictures of frames.

Per-frame question answering ("what colour is the car?", "what does the sign say?") works on
a list of `Event`s describing one frame. Two places give them:

- `FramePerception.describe` runs senri's own vision operators on an uploaded image, as a
  graph through the engine, with the settings the pipelines use: ``vision.detect`` ->
  ``vision.person_attributes`` -> ``vision.vehicle_attributes`` (kind ``object``),
  ``vision.read_text`` (kind ``text``, one event per line, its words in
  ``attributes["text"]``; the whole-frame form of ``vision.ocr``) and ``vision.faces`` (kind
  ``face``). There is no tracker on one picture, so ``track_id`` is None.
- `frame_events` reads back what a store holds for the archived frame nearest a time.

`MediaIndex` knows where each stream's video lives and cuts a JPEG of the frame at an archive
time (`thumbnail`), for the evidence of an answer.

Example:
    >>> perception = FramePerception.load()                      # doctest: +SKIP
    >>> events = perception.describe(rgb, stream_id="upload", time=0.0)  # doctest: +SKIP
    >>> [(e.label, e.attributes.get("upper_colour")) for e in events]    # doctest: +SKIP
    [('person', 'blue'), ('motorcycle', None)]
    >>> media = MediaIndex.from_pipeline("street/street.yaml")  # doctest: +SKIP
    >>> jpeg = media.thumbnail("street1", 1767261602.4, bbox=events[0].bbox)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import threading
import time as clock
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from senri.engine.operator import Device
from senri.engine.session import GraphSession
from senri.errors import DecodeError, SenriError
from senri.indexes.events.query import MAX_LIMIT, And, Eq, Filter, Or, Query, Range
from senri.operators.faces import MAX_PIXELS
from senri.operators.ocr import TextReader
from senri.records import Event, Frame, FrameDetections

MIN_SCORE = 0.4
"""The detector score a picture's objects need. Chosen on scikit-image's labelled photos
(tests/unit/test_describe.py): every true object scored 0.41-0.61 (person 0.59 and 0.61, horse
0.55, motorcycle 0.48, cup 0.46, dining table 0.41), while the false ones scored under 0.37: a
whole-frame "person" on a page of text (0.34) and a 39x9 px "clock" on a rocket (0.36). The
pipelines keep `vision.detect`'s 0.3, where a track's many frames vote."""
FRAME_KINDS = ("object", "text", "face")
"""The event kinds that describe what is in a frame, in the order results list them."""


class FrameNotFoundError(SenriError, LookupError):
    """No frame to show: the time lies outside the stream's video (the API answers 404)."""


class UnknownStreamError(FrameNotFoundError, KeyError):
    """A stream id the `MediaIndex` has no video for."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


# -- describing an image --------------------------------------------------------------------


def check_image(image: Any) -> npt.NDArray[np.uint8]:
    """`image` if it is an RGB uint8 (H, W, 3) array of sane size, else `DecodeError` saying why."""
    if not isinstance(image, np.ndarray):
        raise DecodeError(f"image must be a numpy array; got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise DecodeError(f"image must be uint8 RGB; got dtype {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise DecodeError(f"image must be RGB of shape (H, W, 3); got {image.shape}")
    h, w = image.shape[:2]
    if h < 8 or w < 8:
        raise DecodeError(f"image of {w}x{h} px is too small to look at (8 px a side at least)")
    if h * w > MAX_PIXELS:
        raise DecodeError(f"image of {w}x{h} exceeds the {MAX_PIXELS}-pixel limit; downscale it")
    return np.ascontiguousarray(image)


class FramePerception:
    """The frame-describing graph, set up once and shared (one request at a time).

    ``faces=False`` leaves out ``vision.faces``; ``ocr=False`` leaves out the OCR models
    altogether: no ``text`` events and no ``plate`` attribute on vehicles (``vehicle_type`` and
    ``colour`` stay). The nodes run through the engine (`GraphSession`), as in a pipeline.

        >>> perception = FramePerception.load(faces=False)  # doctest: +SKIP
        >>> perception.describe(image)                       # doctest: +SKIP
    """

    def __init__(self, session: GraphSession) -> None:
        self.session = session

    @staticmethod
    def nodes(*, faces: bool = True, ocr: bool = True) -> dict[str, dict[str, Any]]:
        """The graph: objects with their attributes, and (optionally) text lines and faces."""
        nodes: dict[str, dict[str, Any]] = {
            "detect": {"op": "vision.detect", "from": "frames", "min_score": MIN_SCORE},
            "people": {"op": "vision.person_attributes", "from": "detect"},
            "vehicles": {"op": "vision.vehicle_attributes", "from": "people", "plates": ocr},
        }
        if ocr:
            nodes["text"] = {"op": "vision.read_text", "from": "frames"}
        if faces:
            nodes["faces"] = {"op": "vision.faces", "from": "frames"}
        return nodes

    @classmethod
    def load(
        cls, *, faces: bool = True, ocr: bool = True, device: Device | None = None
    ) -> FramePerception:
        """Build and set up the graph now, so a missing model fails here, not per call.

        Raises `ModelUnavailableError` for a model not in the cache (``senri models fetch``)
        and `MissingDependencyError` without ONNX Runtime, as the operators do.
        """
        nodes = cls.nodes(faces=faces, ocr=ocr)
        outputs = {"objects": ["vehicles"]}
        outputs.update({name: [name] for name in ("text", "faces") if name in nodes})
        session = GraphSession.of(nodes, inputs={"frames": Frame}, outputs=outputs, device=device)
        if ocr:  # one OCR model pair for plates and frame text; setup() keeps what is there
            reader = TextReader.load(device or Device("cpu"))
            for name in ("vehicles", "text"):
                session.operator(name).reader = reader  # type: ignore[attr-defined]
        return cls(session.setup())

    def describe(
        self, image: np.ndarray, *, stream_id: str = "upload", time: float = 0.0, seq: int = 0
    ) -> list[Event]:
        """Events for what `image` (RGB uint8) shows: objects, then text lines, then faces.

        `stream_id`, `time` and `seq` name the frame the way a pipeline's source would, so the
        event ids match those a pipeline stores for the same frame and detections. A frame a
        model fails on raises `SenriError` with the reason.
        """
        rgb = check_image(image)
        if not math.isfinite(time):
            raise ValueError(f"time must be a finite number of epoch seconds; got {time}")
        frame = Frame(stream_id, seq, float(time), 0.0, rgb)
        step = self.session.run(frames=[frame])
        if step.dead:
            raise SenriError(step.dead[0].reason)
        results: list[FrameDetections] = [
            fd for name in ("objects", "text", "faces") for fd in step.outputs.get(name, [])
        ]
        return [event for fd in results for event in fd.to_events()]


# -- reading a frame back from a store ------------------------------------------------------


def frame_events(store: Any, stream_id: str, time: float, tolerance: float = 0.5) -> list[Event]:
    """The object/text/face events `store` holds for the frame of `stream_id` nearest `time`.

    Only frames within `tolerance` seconds count; ``[]`` when there is none. Every event of
    one frame carries the frame's capture time, so the frame is the single nearest timestamp
    (ties go to the earlier frame). Results are ordered by kind, then by confidence.
    """
    if not (math.isfinite(time) and tolerance >= 0):
        raise ValueError(f"time must be finite and tolerance >= 0; got {time}, {tolerance}")
    kinds: Filter = Or(*(Eq("kind", kind) for kind in FRAME_KINDS))
    base = And(Eq("stream_id", stream_id), kinds)

    def first(window: Range, descending: bool) -> list[Event]:
        q = Query(And(base, window), sort="time", descending=descending, limit=1)
        return list(store.search(q))

    near = first(Range("time", gte=time - tolerance, lte=time), True)
    near += first(Range("time", gt=time, lte=time + tolerance), False)
    if not near:
        return []
    at = min(near, key=lambda e: (abs(e.time - time), e.time)).time
    # a store may keep times to the millisecond: fetch a hair around and keep that frame's
    eps = 5e-4
    hits = store.search(
        Query(And(base, Range("time", gte=at - eps, lte=at + eps)), limit=MAX_LIMIT)
    )
    same = [e for e in hits if abs(e.time - at) <= eps]
    return sorted(same, key=lambda e: (FRAME_KINDS.index(e.kind), -e.confidence, e.id))


# -- pictures of archived frames ------------------------------------------------------------


@dataclass(frozen=True)
class Media:
    """One stream's video file and the epoch time of its first frame (None: from the file)."""

    path: Path
    start_time: float | None = None


Box = tuple[float, float, float, float]


class MediaIndex:
    """Where each stream's video lives, to show the frame at an archive time.

    Times map to frames the way `senri.connectors.video.VideoSource` stamps them: the stream's
    start time plus the frame's pts from the first frame. A start time of None is read from
    the file (its ``creation_time`` tag, else its modification time), as the source does.

        >>> media = MediaIndex({"cam1": ("cam1.mp4", 1_767_261_600.0)})  # doctest: +SKIP
        >>> media.thumbnail("cam1", 1_767_261_603.2, bbox=(10, 20, 110, 220))  # doctest: +SKIP
    """

    def __init__(
        self, streams: Mapping[str, tuple[str | os.PathLike[str], float | None] | Media]
    ) -> None:
        self.streams: dict[str, Media] = {}
        for stream_id, entry in streams.items():
            media = entry if isinstance(entry, Media) else Media(Path(entry[0]), entry[1])
            start = None if media.start_time is None else float(media.start_time)
            self.streams[str(stream_id)] = Media(Path(media.path), start)
        self._starts: dict[str, float] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_pipeline(cls, path: str | os.PathLike[str]) -> MediaIndex:
        """The video inputs of a pipeline file (paths relative to its folder).

        Each ``inputs: {name: {video: file, stream: id, start_time: t}}`` entry becomes a stream
        (``stream`` defaults to the input's name); network cameras (``rtsp://``) have no archive
        to seek in and are left out, and so are audio and topic inputs.
        """
        from senri.engine import spec

        file = Path(path)
        pipeline = spec.load(file)  # PipelineError (a SenriError) names what is wrong
        streams: dict[str, Media] = {}
        for name, inp in pipeline.inputs.items():
            video = inp.settings.get(inp.kind) if inp.kind == "video" else None
            if not isinstance(video, str) or "://" in video:
                continue
            where = Path(video) if Path(video).is_absolute() else file.parent / video
            start = inp.settings.get("start_time")
            streams[str(inp.settings.get("stream", name))] = Media(
                where, None if start is None else float(start)
            )
        return cls(streams)

    def __contains__(self, stream_id: object) -> bool:
        return stream_id in self.streams

    def _media(self, stream_id: str) -> Media:
        media = self.streams.get(stream_id)
        if media is None:
            known = ", ".join(sorted(self.streams)) or "none"
            raise UnknownStreamError(f"no video for stream {stream_id!r} (known: {known})")
        if not media.path.is_file():
            raise FrameNotFoundError(f"the video of stream {stream_id!r} is gone: {media.path}")
        return media

    def start_time(self, stream_id: str) -> float:
        """Epoch seconds of the stream's first frame."""
        media = self._media(stream_id)
        if media.start_time is not None:
            return media.start_time
        with self._lock:
            if stream_id not in self._starts:
                import av

                from senri.connectors.base import default_start_time, locate

                with av.open(str(media.path)) as container:
                    where = locate(media.path, "video")
                    self._starts[stream_id] = default_start_time(
                        container.metadata, where, clock.time
                    )
            return self._starts[stream_id]

    def frame(self, stream_id: str, time: float) -> tuple[npt.NDArray[np.uint8], float]:
        """(RGB image, its archive time) of the frame nearest `time` (epoch seconds).

        Seeks to the keyframe at or before `time` and decodes forward. `UnknownStreamError`
        for an unknown stream; `FrameNotFoundError` when no frame lies within one frame's
        duration of `time` (before the start or past the end of the video).
        """
        if not math.isfinite(time):
            raise FrameNotFoundError(f"time must be finite epoch seconds; got {time}")
        import av

        media = self._media(stream_id)
        start = self.start_time(stream_id)
        offset = time - start
        try:
            with av.open(str(media.path)) as container:
                found = _nearest_frame(container, offset)
        except av.error.FFmpegError as exc:
            raise FrameNotFoundError(f"cannot decode the video of {stream_id!r}: {exc}") from exc
        except OverflowError:  # a time no container's clock can reach
            found = None
        if found is None:
            raise FrameNotFoundError(
                f"stream {stream_id!r} has no frame at {time:.6g} "
                f"({offset:+.6g} s from its start at {start:.3f})"
            )
        image, pts = found
        return image, start + pts

    def thumbnail(
        self,
        stream_id: str,
        time: float,
        *,
        max_side: int = 320,
        bbox: Sequence[float] | None = None,
        quality: int = 85,
        redact: Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.uint8]] | None = None,
    ) -> bytes:
        """A JPEG of the frame nearest `time`, at most `max_side` px on its longer side.

        `bbox` (x1, y1, x2, y2 in the video's pixels, as events carry it) is outlined;
        `redact` (e.g. `senri.api.frames.Redactor`) is applied to the whole frame first.
        Raises as `frame` does, and `ValueError` for a bad `bbox` or `max_side`.
        """
        if not 16 <= max_side <= 4096:
            raise ValueError(f"max_side must be within 16..4096; got {max_side}")
        box = None if bbox is None else _check_box(bbox)
        image, _ = self.frame(stream_id, time)
        if redact is not None:
            image = redact(image)
        h, w = image.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        if box is not None:
            x1, y1, x2, y2 = (round(v * scale) for v in box)
            thick = max(2, round(max(bgr.shape[:2]) / 200))
            cv2.rectangle(bgr, (x1, y1), (x2, y2), (0, 0, 0), thick + 2)  # dark rim, any scene
            cv2.rectangle(bgr, (x1, y1), (x2, y2), (0, 230, 255), thick)  # amber
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
            raise SenriError("JPEG encoding failed")
        return bytes(data.tobytes())


def _check_box(bbox: Sequence[float]) -> Box:
    values = tuple(float(v) for v in bbox)
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"bbox must be 4 finite numbers x1, y1, x2, y2; got {bbox!r}")
    x1, y1, x2, y2 = values
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"bbox must have x2 > x1 and y2 > y1; got {bbox!r}")
    return x1, y1, x2, y2


def _nearest_frame(container: Any, offset: float) -> tuple[npt.NDArray[np.uint8], float] | None:
    """(RGB, seconds from the first frame) of the decoded frame nearest `offset`, or None."""
    if not container.streams.video:
        return None
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90_000)
    rate = stream.average_rate or stream.guessed_rate
    step = float(1 / Fraction(rate)) if rate else 0.1
    if offset < -step:
        return None
    if container.duration is not None and offset > container.duration / 1e6 + step:
        return None  # past the end (and no seek target can overflow)
    base = stream.start_time  # VideoSource counts pts from here (None: from the first frame)
    if offset > step:  # near the start, decoding from the top is as quick as seeking
        base = base or 0
        target = base + int(Fraction(offset).limit_denominator(1_000_000) / time_base)
        container.seek(target, stream=stream, backward=True, any_frame=False)
    best: tuple[float, Any] | None = None
    for frame in container.decode(stream):
        if frame.pts is None:
            continue
        if base is None:
            base = frame.pts
        at = float((frame.pts - base) * time_base)
        if best is None or abs(at - offset) < abs(best[0] - offset):
            best = (at, frame)
        if at >= offset:
            break
    if best is None or abs(best[0] - offset) > step:
        return None
    image = np.asarray(best[1].to_ndarray(format="rgb24"), dtype=np.uint8)
    return image, best[0]
