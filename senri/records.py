"""Typed records that flow through senri graphs.

Every record is a frozen dataclass. Media records (`Frame`, `AudioChunk`, `ImageItem`) carry
their stream id and sequence number so results can name the record they came from, and so ids
stay deterministic: a replay after a crash overwrites results instead of duplicating them.

Example:
    >>> import numpy as np
    >>> f = Frame("cam1", 0, ts=1.7e9, pts=0.0, image=np.zeros((4, 4, 3), np.uint8))
    >>> f.key
    'cam1:0'
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

AttrValue = str | int | float | bool
"""Values an event attribute may take (kept scalar so every store can index them)."""


def record_key(stream_id: str, seq: int) -> str:
    """The canonical key of the `seq`-th record of a stream."""
    return f"{stream_id}:{seq}"


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One video frame: RGB uint8 image of shape (H, W, 3).

    `ts` is the capture time (seconds since the Unix epoch), `pts` the offset from the start of
    the stream in seconds.
    """

    stream_id: str
    seq: int
    ts: float
    pts: float
    image: npt.NDArray[np.uint8]

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(
                f"Frame.image must be uint8 (H, W, 3); got {self.image.dtype} {self.image.shape}"
            )

    @property
    def key(self) -> str:
        return record_key(self.stream_id, self.seq)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True, slots=True, eq=False)
class VideoPacket:
    """One compressed access unit of a camera's own bitstream (H.264, H.265, ...), as demuxed.

    `seq` counts packets of the stream in decode order; `pts_raw`/`dts_raw` are in
    `time_base` ("1/90000"), `base` is the raw pts of second 0 and `origin` its epoch, so a
    decoded frame's time is ``origin + (frame.pts - base) * time_base``. A keyframe carries the
    codec's `extradata` (SPS/PPS), so a decoder can start there.
    """

    stream_id: str
    seq: int
    ts: float
    pts: float
    data: bytes
    keyframe: bool
    codec: str
    time_base: str
    pts_raw: int | None
    dts_raw: int | None
    base: int
    origin: float
    extradata: bytes = b""

    @property
    def key(self) -> str:
        return record_key(self.stream_id, self.seq)


@dataclass(frozen=True, slots=True, eq=False)
class AudioChunk:
    """A run of mono float32 samples in [-1, 1] at `sample_rate` Hz."""

    stream_id: str
    seq: int
    ts: float
    pts: float
    samples: npt.NDArray[np.float32]
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 1 or self.samples.dtype != np.float32:
            raise ValueError(
                f"AudioChunk.samples must be float32 (N,); got {self.samples.dtype} "
                f"{self.samples.shape}"
            )
        if self.sample_rate <= 0:
            raise ValueError(f"AudioChunk.sample_rate must be positive; got {self.sample_rate}")

    @property
    def key(self) -> str:
        return record_key(self.stream_id, self.seq)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True, slots=True, eq=False)
class ImageItem:
    """An image from a catalog or folder: encoded bytes, decoded lazily by `decode.image`.

    `image` is None until decoded; `metadata` holds catalog columns (category, title, ...).
    """

    collection: str
    item_id: str
    seq: int
    data: bytes
    metadata: Mapping[str, str] = field(default_factory=dict)
    image: npt.NDArray[np.uint8] | None = None

    @property
    def stream_id(self) -> str:
        return self.collection

    @property
    def key(self) -> str:
        return record_key(self.collection, self.seq)


def _check_len(name: str, arr: np.ndarray, n: int) -> None:
    if arr.ndim < 1 or arr.shape[0] != n:
        raise ValueError(f"Detections.{name} must have {n} rows; got shape {arr.shape}")


@dataclass(frozen=True, slots=True, eq=False)
class Embedding:
    """The embedding and perceptual hash of one image (an `ImageItem` or a `Frame`).

    `source_key` is the key of the record it came from; `item_id` the catalog id (or the
    frame's key); `vector` is float32 (DIM,), unit length; `phash` a 64-bit int.
    """

    stream_id: str
    seq: int
    item_id: str
    source_key: str
    vector: npt.NDArray[np.float32]
    phash: int
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.vector.ndim != 1 or self.vector.dtype != np.float32:
            raise ValueError(f"Embedding.vector must be float32 (D,); got {self.vector.shape}")

    @property
    def key(self) -> str:
        return self.source_key

    @property
    def phash_hex(self) -> str:
        return f"{self.phash:016x}"


@dataclass(frozen=True, slots=True, eq=False)
class Detections:
    """Per-frame detections as parallel arrays, checked for shape on construction.

    Indexing with an int, slice, index array or boolean mask returns `Detections`:
        >>> d = Detections.empty()
        >>> len(d[d.confidence > 0.5])
        0
    `data` holds extra per-detection columns (e.g. ``colour``), each with one row per detection.
    `index` is each detection's position among those its operator first found in the frame,
    kept through filtering and subsetting: event ids are made from it, never from a box.
    """

    xyxy: npt.NDArray[np.float32]
    confidence: npt.NDArray[np.float32]
    class_id: npt.NDArray[np.int64]
    tracker_id: npt.NDArray[np.int64]
    data: Mapping[str, np.ndarray] = field(default_factory=dict)
    index: npt.NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        if self.xyxy.ndim != 2 or self.xyxy.shape[1] != 4:
            raise ValueError(f"Detections.xyxy must be (N, 4); got {self.xyxy.shape}")
        n = self.xyxy.shape[0]
        _check_len("confidence", self.confidence, n)
        _check_len("class_id", self.class_id, n)
        _check_len("tracker_id", self.tracker_id, n)
        for key, column in self.data.items():
            _check_len(f"data[{key!r}]", column, n)
        if self.index is None:
            object.__setattr__(self, "index", np.arange(n, dtype=np.int64))
        else:
            _check_len("index", self.index, n)

    @classmethod
    def empty(cls) -> Detections:
        return cls.create(np.zeros((0, 4), np.float32))

    @classmethod
    def create(
        cls,
        xyxy: npt.ArrayLike,
        confidence: npt.ArrayLike | None = None,
        class_id: npt.ArrayLike | None = None,
        tracker_id: npt.ArrayLike | None = None,
        data: Mapping[str, npt.ArrayLike] | None = None,
    ) -> Detections:
        """Build from array-likes; missing columns default to 1.0 / 0 / -1 (untracked)."""
        boxes = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        n = boxes.shape[0]
        return cls(
            xyxy=boxes,
            confidence=np.ones(n, np.float32)
            if confidence is None
            else np.asarray(confidence, np.float32),
            class_id=np.zeros(n, np.int64) if class_id is None else np.asarray(class_id, np.int64),
            tracker_id=np.full(n, -1, np.int64)
            if tracker_id is None
            else np.asarray(tracker_id, np.int64),
            data={k: np.asarray(v) for k, v in (data or {}).items()},
        )

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self)))

    def __getitem__(self, index: int | slice | Sequence[int] | np.ndarray) -> Detections:
        if isinstance(index, int | np.integer):
            index = [int(index)]
        assert self.index is not None
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            tracker_id=self.tracker_id[index],
            data={k: v[index] for k, v in self.data.items()},
            index=self.index[index],
        )

    def with_columns(self, **columns: npt.ArrayLike) -> Detections:
        """A copy with extra or replaced `data` columns."""
        data = dict(self.data)
        data.update({k: np.asarray(v) for k, v in columns.items()})
        return replace(self, data=data)

    @property
    def area(self) -> npt.NDArray[np.float32]:
        w = self.xyxy[:, 2] - self.xyxy[:, 0]
        h = self.xyxy[:, 3] - self.xyxy[:, 1]
        return (w * h).astype(np.float32)


@runtime_checkable
class HasEvents(Protocol):
    """A result that can be written to an event store."""

    def to_events(self) -> list[Event]: ...


@dataclass(frozen=True, slots=True)
class Event:
    """One fact for the archive: what (`kind`, `label`), where (`stream_id`, `bbox`), when.

    `time` is epoch seconds; `end_time` is set for spans (speech, sounds). The `id` is derived
    from where the event came from, so writing it twice overwrites rather than duplicates.
    """

    id: str
    stream_id: str
    time: float
    kind: str
    label: str
    confidence: float = 1.0
    end_time: float | None = None
    track_id: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    text: str | None = None
    attributes: Mapping[str, AttrValue] = field(default_factory=dict)
    source: str | None = None

    @staticmethod
    def make_id(*parts: object) -> str:
        """A short deterministic id from the parts that identify an event."""
        digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=12)
        return digest.hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stream_id": self.stream_id,
            "time": self.time,
            "kind": self.kind,
            "label": self.label,
            "confidence": self.confidence,
            "end_time": self.end_time,
            "track_id": self.track_id,
            "bbox": list(self.bbox) if self.bbox is not None else None,
            "text": self.text,
            "attributes": dict(self.attributes),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Event:
        bbox = d.get("bbox")
        return cls(
            id=str(d["id"]),
            stream_id=str(d["stream_id"]),
            time=float(d["time"]),
            kind=str(d["kind"]),
            label=str(d["label"]),
            confidence=float(d.get("confidence", 1.0)),
            end_time=None if d.get("end_time") is None else float(d["end_time"]),
            track_id=None if d.get("track_id") is None else int(d["track_id"]),
            bbox=None
            if bbox is None
            else (float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])),
            text=d.get("text"),
            attributes=dict(d.get("attributes") or {}),
            source=d.get("source"),
        )

    def to_events(self) -> list[Event]:
        return [self]


@dataclass(frozen=True, slots=True, eq=False)
class FrameDetections:
    """A frame together with what was found in it.

    `node` is the graph node that made it (the engine stamps it): an event's id is the node,
    the stream, the frame's sequence number and the detection's `index`, so two nodes never
    share an id and a replay (or the same media on another runtime) gives the same ids.
    """

    frame: Frame
    detections: Detections
    kind: str = "object"
    node: str = ""

    @property
    def key(self) -> str:
        return self.frame.key

    @property
    def stream_id(self) -> str:
        return self.frame.stream_id

    def to_events(self) -> list[Event]:
        d = self.detections
        labels = d.data.get("label")
        index = d.index if d.index is not None else np.arange(len(d))
        events = []
        for i in range(len(d)):
            attrs: dict[str, AttrValue] = {}
            for name, column in d.data.items():
                if name == "label" or column.ndim != 1:
                    continue  # vectors (face embeddings) go to vector indexes, not events
                value = column[i].item() if isinstance(column[i], np.generic) else column[i]
                if isinstance(value, str | int | float | bool):
                    attrs[name] = value
            track = int(d.tracker_id[i])
            events.append(
                Event(
                    # positions, never measurements: a codec that moves a box by a pixel
                    # changes no id
                    id=Event.make_id(
                        self.node, self.frame.stream_id, self.frame.seq, self.kind, int(index[i])
                    ),
                    stream_id=self.frame.stream_id,
                    time=self.frame.ts,
                    kind=self.kind,
                    label=str(labels[i]) if labels is not None else str(int(d.class_id[i])),
                    confidence=float(d.confidence[i]),
                    track_id=track if track >= 0 else None,
                    bbox=(
                        float(d.xyxy[i, 0]),
                        float(d.xyxy[i, 1]),
                        float(d.xyxy[i, 2]),
                        float(d.xyxy[i, 3]),
                    ),
                    attributes=attrs,
                    source=self.frame.key,
                )
            )
        return events


@dataclass(frozen=True, slots=True)
class EventBatch:
    """Zero or more events made from one input record (e.g. the speech a chunk closed).

    Operators give each event an id from its stream and position (a span's first sample);
    `node`, stamped by the engine, is folded into the ids `to_events` gives, so two nodes of the
    same kind on one stream (speech with two models) never overwrite each other.
    """

    stream_id: str
    key: str
    events: tuple[Event, ...] = ()
    node: str = ""

    def to_events(self) -> list[Event]:
        if not self.node:
            return list(self.events)
        return [replace(e, id=Event.make_id(self.node, e.id)) for e in self.events]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An input that could not be decoded or processed, with why and where.

    Sources yield it for a corrupt item (then go on) or a broken stream (then stop); the
    runtime makes one when an operator raises. It goes to the dead-letter sink, never back up.
    """

    stream_id: str
    key: str
    stage: str
    reason: str
    error: str = ""
    payload: bytes | None = None
    time: float = 0.0
