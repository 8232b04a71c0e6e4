"""The versioned wire envelope for records on Kafka (and anywhere bytes cross a process).

Layout (big-endian)::

    b"SNR" | envelope version u8 | name length u8 | schema name | schema version u16
          | header length u32 | header (UTF-8 JSON object) | payload bytes

Frames travel as JPEG, a camera's own compressed packets as they are (`VideoPacket`), audio
as PCM16 little-endian, events as JSON: never raw arrays.
Anything that cannot be decoded raises `DecodeError` with the reason, and nothing else.

Example:
    >>> from senri.records import Event
    >>> e = Event("1", "cam1", 0.0, "object", "car")
    >>> decode(encode(e)) == e
    True
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import cv2
import numpy as np

from senri.errors import DecodeError
from senri.records import (
    AudioChunk,
    Detections,
    Event,
    Frame,
    FrameDetections,
    ImageItem,
    VideoPacket,
)

MAGIC = b"SNR"
ENVELOPE_VERSION = 1
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
_PREFIX = struct.Struct(">3sBB")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")

Header = dict[str, Any]


@dataclass(frozen=True)
class Schema:
    """How one record type maps to (header, payload) and back, at one version."""

    name: str
    version: int
    record_type: type
    content_type: str
    dump: Callable[[Any], tuple[Header, bytes]]
    load: Callable[[Header, bytes], Any]


def _jpeg_dump(frame: Frame, quality: int = 90) -> tuple[Header, bytes]:
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError(f"could not JPEG-encode frame {frame.key}")
    header = {"stream_id": frame.stream_id, "seq": frame.seq, "ts": frame.ts, "pts": frame.pts}
    return header, buf.tobytes()


def whole_jpeg(data: bytes) -> bool:
    """A JPEG with its end-of-image marker (in the last 4 KiB, where trailing bytes may follow)."""
    return data[:2] == b"\xff\xd8" and b"\xff\xd9" in data[-4096:]


def decode_jpeg(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG bytes to an RGB uint8 array, or raise `DecodeError` with the reason."""
    if not data:
        raise DecodeError("empty image payload")
    if data[:2] == b"\xff\xd8" and not whole_jpeg(data):
        raise DecodeError(f"truncated JPEG ({len(data)} bytes, no end-of-image marker)")
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if array is None:
        raise DecodeError(f"not a decodable image ({len(data)} bytes, starts {data[:8]!r})")
    return cv2.cvtColor(array, cv2.COLOR_BGR2RGB)


def _jpeg_load(h: Header, payload: bytes) -> Frame:
    return _frame(h, decode_jpeg(payload))


def _frame(h: Header, image: np.ndarray) -> Frame:
    return Frame(str(h["stream_id"]), int(h["seq"]), float(h["ts"]), float(h["pts"]), image)


def _pcm_dump(chunk: AudioChunk) -> tuple[Header, bytes]:
    pcm = np.clip(np.round(chunk.samples * 32767.0), -32768, 32767).astype("<i2")
    header = {
        "stream_id": chunk.stream_id,
        "seq": chunk.seq,
        "ts": chunk.ts,
        "pts": chunk.pts,
        "sample_rate": chunk.sample_rate,
    }
    return header, pcm.tobytes()


def _pcm_load(h: Header, payload: bytes) -> AudioChunk:
    if len(payload) % 2:
        raise DecodeError(f"PCM16 payload has an odd byte count ({len(payload)})")
    samples = (np.frombuffer(payload, "<i2").astype(np.float32) / 32767.0).astype(np.float32)
    return AudioChunk(
        str(h["stream_id"]),
        int(h["seq"]),
        float(h["ts"]),
        float(h["pts"]),
        samples,
        int(h["sample_rate"]),
    )


def _image_dump(item: ImageItem) -> tuple[Header, bytes]:
    header = {
        "collection": item.collection,
        "item_id": item.item_id,
        "seq": item.seq,
        "metadata": dict(item.metadata),
    }
    return header, item.data


def _image_load(h: Header, payload: bytes) -> ImageItem:
    meta = h.get("metadata") or {}
    return ImageItem(
        str(h["collection"]),
        str(h["item_id"]),
        int(h["seq"]),
        payload,
        {str(k): str(v) for k, v in meta.items()},
    )


def _event_dump(event: Event) -> tuple[Header, bytes]:
    return event.to_dict(), b""


def _event_load(h: Header, payload: bytes) -> Event:
    return Event.from_dict(h)


def _detections_dump(fd: FrameDetections) -> tuple[Header, bytes]:
    """Compact results: the frame's identity and the arrays, without the image."""
    d = fd.detections
    header = {
        "stream_id": fd.frame.stream_id,
        "seq": fd.frame.seq,
        "ts": fd.frame.ts,
        "pts": fd.frame.pts,
        "size": [fd.frame.height, fd.frame.width],
        "kind": fd.kind,
        "xyxy": d.xyxy.tolist(),
        "confidence": d.confidence.tolist(),
        "class_id": d.class_id.tolist(),
        "tracker_id": d.tracker_id.tolist(),
        "data": {k: v.tolist() for k, v in d.data.items()},
    }
    return header, b""


def _detections_load(h: Header, payload: bytes) -> FrameDetections:
    height, width = (int(v) for v in h["size"])
    placeholder = np.zeros((height, width, 3), np.uint8)
    frame = Frame(str(h["stream_id"]), int(h["seq"]), float(h["ts"]), float(h["pts"]), placeholder)
    dets = Detections.create(h["xyxy"], h["confidence"], h["class_id"], h["tracker_id"], h["data"])
    return FrameDetections(frame, dets, str(h["kind"]))


def _packet_dump(p: VideoPacket) -> tuple[Header, bytes]:
    header = {
        "stream_id": p.stream_id,
        "seq": p.seq,
        "ts": p.ts,
        "pts": p.pts,
        "keyframe": p.keyframe,
        "codec": p.codec,
        "time_base": p.time_base,
        "pts_raw": p.pts_raw,
        "dts_raw": p.dts_raw,
        "base": p.base,
        "origin": p.origin,
        "extradata": base64.b64encode(p.extradata).decode() if p.extradata else "",
    }
    return header, p.data


def _packet_load(h: Header, payload: bytes) -> VideoPacket:
    extradata = base64.b64decode(h.get("extradata") or "", validate=True)
    return VideoPacket(
        str(h["stream_id"]),
        int(h["seq"]),
        float(h["ts"]),
        float(h["pts"]),
        payload,
        bool(h["keyframe"]),
        str(h["codec"]),
        str(h["time_base"]),
        None if h["pts_raw"] is None else int(h["pts_raw"]),
        None if h["dts_raw"] is None else int(h["dts_raw"]),
        int(h["base"]),
        float(h["origin"]),
        extradata,
    )


SCHEMAS: tuple[Schema, ...] = (
    Schema("frame", 1, Frame, "image/jpeg", _jpeg_dump, _jpeg_load),
    Schema("audio", 1, AudioChunk, "audio/L16", _pcm_dump, _pcm_load),
    Schema("packet", 1, VideoPacket, "video/octet-stream", _packet_dump, _packet_load),
    Schema("image", 1, ImageItem, "application/octet-stream", _image_dump, _image_load),
    Schema("event", 1, Event, "application/json", _event_dump, _event_load),
    Schema(
        "detections", 1, FrameDetections, "application/json", _detections_dump, _detections_load
    ),
)
_BY_TYPE: Mapping[type, Schema] = {s.record_type: s for s in SCHEMAS}
_BY_NAME: Mapping[tuple[str, int], Schema] = {(s.name, s.version): s for s in SCHEMAS}


def schema_for(record: object) -> Schema:
    try:
        return _BY_TYPE[type(record)]
    except KeyError:
        raise TypeError(f"no wire schema for {type(record).__name__}") from None


def encode(record: object) -> bytes:
    """Encode a record into one envelope."""
    schema = schema_for(record)
    header, payload = schema.dump(record)
    name = schema.name.encode()
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join(
        (
            _PREFIX.pack(MAGIC, ENVELOPE_VERSION, len(name)),
            name,
            _U16.pack(schema.version),
            _U32.pack(len(head)),
            head,
            payload,
        )
    )


def peek_schema(data: bytes) -> tuple[str, int]:
    """The (schema name, version) of an envelope without decoding its payload."""
    name, version, _ = _split(data, DEFAULT_MAX_BYTES)
    return name, version


def _split(data: bytes, max_bytes: int) -> tuple[str, int, int]:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise DecodeError(f"envelope of {len(data)} bytes exceeds the limit of {max_bytes}")
    if len(data) < _PREFIX.size:
        raise DecodeError(f"envelope too short ({len(data)} bytes)")
    magic, env_version, name_len = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise DecodeError(f"not a senri envelope (magic {bytes(magic)!r})")
    if env_version != ENVELOPE_VERSION:
        raise DecodeError(f"unsupported envelope version {env_version}")
    pos = _PREFIX.size
    if len(data) < pos + name_len + _U16.size + _U32.size:
        raise DecodeError("envelope truncated inside its prefix")
    try:
        name = bytes(data[pos : pos + name_len]).decode()
    except UnicodeDecodeError as exc:
        raise DecodeError(f"schema name is not UTF-8: {exc}") from None
    pos += name_len
    (version,) = _U16.unpack_from(data, pos)
    return name, version, pos + _U16.size


def _parse(data: bytes, max_bytes: int) -> tuple[Schema, Header, bytes]:
    name, version, pos = _split(data, max_bytes)
    schema = _BY_NAME.get((name, version))
    if schema is None:
        known = sorted(f"{n}/v{v}" for n, v in _BY_NAME)
        raise DecodeError(f"unknown schema {name!r} version {version} (known: {', '.join(known)})")
    (head_len,) = _U32.unpack_from(data, pos)
    pos += _U32.size
    if len(data) < pos + head_len:
        raise DecodeError(f"header truncated: need {head_len} bytes, have {len(data) - pos}")
    try:
        header = json.loads(bytes(data[pos : pos + head_len]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecodeError(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise DecodeError("header is not a JSON object")
    return schema, header, bytes(data[pos + head_len :])


def _load(schema: Schema, load: Callable[[], Any]) -> Any:
    try:
        return load()
    except DecodeError:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # a bad base64 is a ValueError
        raise DecodeError(f"{schema.name}/v{schema.version} payload is invalid: {exc!r}") from None


def decode(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Decode one envelope to its record; raises `DecodeError` naming what is wrong."""
    schema, header, payload = _parse(data, max_bytes)
    return _load(schema, lambda: schema.load(header, payload))


class PixelDecoder(Protocol):
    """Decodes many frames' JPEG payloads at once: each an RGB uint8 array, or the
    `DecodeError` that says why it could not be (one bad payload spoils no other)."""

    def decode(self, payloads: Sequence[bytes]) -> list[np.ndarray | DecodeError]: ...


class HostPixels:
    """`decode_jpeg` on `threads` threads (OpenCV releases the GIL while it decodes): a
    1080p frame takes 6-10 ms of a core, so one thread caps a worker near 100-150 frames/s."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = max(1, threads)
        self._pool = ThreadPoolExecutor(self.threads, "senri-decode") if self.threads > 1 else None

    def decode(self, payloads: Sequence[bytes]) -> list[np.ndarray | DecodeError]:
        if self._pool is None or len(payloads) < 2:
            return [decode_jpeg_or_error(p) for p in payloads]
        return list(self._pool.map(decode_jpeg_or_error, payloads))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def decode_jpeg_or_error(payload: bytes) -> np.ndarray | DecodeError:
    """`decode_jpeg`, with its `DecodeError` returned rather than raised (for batches)."""
    try:
        return decode_jpeg(payload)
    except DecodeError as exc:
        return exc


def decode_many(
    datas: Sequence[bytes],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    pixels: PixelDecoder | None = None,
) -> list[Any]:
    """`decode` for a batch of envelopes: per envelope its record, or the `DecodeError` that
    `decode` would raise, in order. The frames' images are decoded together by `pixels` (on
    threads, or on a GPU), which is most of what a batch of camera frames costs to decode."""
    out: list[Any] = [None] * len(datas)
    frames: list[tuple[int, Header, bytes]] = []
    for i, data in enumerate(datas):
        try:
            schema, header, payload = _parse(data, max_bytes)
            if schema.record_type is Frame:
                frames.append((i, header, payload))
            else:
                out[i] = _load(schema, partial(schema.load, header, payload))
        except DecodeError as exc:
            out[i] = exc
    images = (pixels or HostPixels()).decode([payload for _, _, payload in frames])
    frame_schema = _BY_TYPE[Frame]
    for (i, header, _), image in zip(frames, images, strict=True):
        if isinstance(image, DecodeError):
            out[i] = image
            continue
        try:
            out[i] = _load(frame_schema, partial(_frame, header, image))
        except DecodeError as exc:
            out[i] = exc
    return out


class ThroughWire:
    """A source whose records go through the wire codec (encode, then decode) on the way out,
    as `senri ingest` and a Kafka worker put them: JPEG frames, PCM16 audio. The embedded
    runtime runs through it (``senri run --wire``) to give exactly what a worker gives for the
    same media. Dead letters and other items pass as they are; `close` reaches the source."""

    def __init__(self, source: Iterable[Any]) -> None:
        self.source = source

    def __iter__(self) -> Iterator[Any]:
        for item in self.source:
            try:
                data = encode(item)
            except TypeError:  # no wire schema (a dead letter): as it is
                yield item
                continue
            yield decode(data)

    def close(self) -> None:
        close = getattr(self.source, "close", None)
        if close is not None:
            close()
