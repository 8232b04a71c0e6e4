"""The wire envelope: round trips for every schema, and one typed error for any garbage."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from senri import codec
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

pytestmark = pytest.mark.unit

ids = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
scalars = st.one_of(
    st.text(max_size=10),
    st.integers(-(2**53), 2**53),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)


@st.composite
def smooth_frames(draw: st.DrawFn) -> Frame:
    h = draw(st.integers(8, 64))
    w = draw(st.integers(8, 64))
    base = np.array(draw(st.tuples(*[st.integers(0, 255)] * 3)), np.float32)
    ramp = draw(st.integers(0, 60))
    xx = np.mgrid[0:h, 0:w][1]
    image = np.clip(base + ramp * (xx / w)[..., None], 0, 255).astype(np.uint8)
    return Frame(draw(ids), draw(st.integers(0, 2**40)), draw(times), draw(times), image)


@given(smooth_frames())
@settings(max_examples=40, deadline=None)
def test_frame_roundtrip(frame: Frame) -> None:
    back = codec.decode(codec.encode(frame))
    assert (back.stream_id, back.seq, back.ts, back.pts) == (
        frame.stream_id,
        frame.seq,
        frame.ts,
        frame.pts,
    )
    assert back.image.shape == frame.image.shape
    assert np.abs(back.image.astype(int) - frame.image.astype(int)).mean() < 4  # JPEG is lossy


@given(
    ids,
    st.integers(0, 2**40),
    times,
    st.lists(st.floats(-1, 1, width=32), max_size=2000),
    st.sampled_from([8000, 16000, 44100]),
)
@settings(max_examples=60, deadline=None)
def test_audio_roundtrip_within_pcm16_step(
    stream: str, seq: int, ts: float, samples: list[float], rate: int
) -> None:
    chunk = AudioChunk(stream, seq, ts, 0.5, np.array(samples, np.float32), rate)
    back = codec.decode(codec.encode(chunk))
    assert (back.stream_id, back.seq, back.ts, back.sample_rate) == (stream, seq, ts, rate)
    assert back.samples.dtype == np.float32
    np.testing.assert_allclose(back.samples, chunk.samples, atol=1.0 / 32767 + 1e-6)


@given(
    ids,
    ids,
    st.binary(max_size=500),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4),
)
@settings(max_examples=60, deadline=None)
def test_image_item_roundtrip_keeps_bytes(
    coll: str, item: str, data: bytes, meta: dict[str, str]
) -> None:
    back = codec.decode(codec.encode(ImageItem(coll, item, 3, data, meta)))
    assert (back.collection, back.item_id, back.seq, back.data, dict(back.metadata)) == (
        coll,
        item,
        3,
        data,
        meta,
    )


@given(
    st.builds(
        Event,
        id=ids,
        stream_id=ids,
        time=times,
        kind=ids,
        label=ids,
        confidence=st.floats(0, 1),
        end_time=st.none() | times,
        track_id=st.none() | st.integers(0, 2**31),
        bbox=st.none() | st.tuples(*[st.floats(0, 4096)] * 4),
        text=st.none() | st.text(max_size=50),
        attributes=st.dictionaries(
            st.from_regex(r"[a-z_]{1,8}", fullmatch=True), scalars, max_size=4
        ),
        source=st.none() | ids,
    )
)
@settings(max_examples=100, deadline=None)
def test_event_roundtrip_exact(event: Event) -> None:
    assert codec.decode(codec.encode(event)) == event


def test_detections_roundtrip_without_image() -> None:
    frame = Frame("cam", 4, 10.0, 0.4, np.zeros((30, 40, 3), np.uint8))
    dets = Detections.create(
        [[1, 2, 3, 4], [5, 6, 7, 8]], [0.9, 0.5], [0, 2], [7, -1], {"colour": ["red", "blue"]}
    )
    back = codec.decode(codec.encode(FrameDetections(frame, dets, "motion")))
    assert back.frame.key == "cam:4" and back.kind == "motion"
    np.testing.assert_array_equal(back.detections.xyxy, dets.xyxy)
    assert list(back.detections.data["colour"]) == ["red", "blue"]
    assert list(back.detections.tracker_id) == [7, -1]


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_garbage_raises_only_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        codec.decode(data)


def _event_bytes() -> bytes:
    return codec.encode(Event("1", "cam", 1.0, "object", "car"))


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda b: b"", "too short"),
        (lambda b: b"XYZ" + b[3:], "not a senri envelope"),
        (lambda b: b[:3] + b"\x09" + b[4:], "unsupported envelope version"),
        (lambda b: b[:10], "truncated"),
        (lambda b: b.replace(b"event", b"evenx", 1), "unknown schema 'evenx'"),
        (lambda b: b[:10] + b"\x00\x07" + b[12:], "unknown schema 'event' version 7"),
        (lambda b: b[: len(b) - 5], "header truncated"),
        (lambda b: b + b"\x00" * (codec.DEFAULT_MAX_BYTES), "exceeds the limit"),
    ],
    ids=[
        "empty",
        "magic",
        "envelope-version",
        "prefix",
        "schema-name",
        "schema-version",
        "header",
        "oversized",
    ],
)
def test_decode_errors_name_the_reason(mangle: object, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        codec.decode(mangle(_event_bytes()))  # type: ignore[operator]


def test_corrupt_and_truncated_jpeg_frames() -> None:
    frame = Frame("cam", 0, 0.0, 0.0, np.full((32, 32, 3), 120, np.uint8))
    good = codec.encode(frame)
    with pytest.raises(DecodeError, match="truncated JPEG"):
        codec.decode(good[: len(good) - 40])
    head = good[: len(good) - len(codec.schema_for(frame).dump(frame)[1])]
    with pytest.raises(DecodeError, match="not a decodable image"):
        codec.decode(head + np.random.default_rng(0).bytes(500))


def test_odd_pcm_payload() -> None:
    chunk = AudioChunk("mic", 0, 0.0, 0.0, np.zeros(4, np.float32), 16000)
    with pytest.raises(DecodeError, match="odd byte count"):
        codec.decode(codec.encode(chunk) + b"\x01")


def test_peek_schema() -> None:
    assert codec.peek_schema(_event_bytes()) == ("event", 1)


def test_a_video_packet_travels_as_it_is() -> None:
    packet = VideoPacket(
        "cam1", 7, 1000.5, 0.5, b"\x00\x00\x01\x65raw", True, "h264", "1/90000", 45000, 42000,
        0, 1000.0, b"\x01sps-pps",
    )  # fmt: skip
    back = codec.decode(codec.encode(packet))
    assert isinstance(back, VideoPacket)
    assert (back.data, back.extradata, back.keyframe, back.pts_raw, back.dts_raw) == (
        packet.data, packet.extradata, True, 45000, 42000,
    )  # fmt: skip
    assert (back.key, back.ts, back.time_base, back.base, back.origin) == (
        "cam1:7", 1000.5, "1/90000", 0, 1000.0,
    )  # fmt: skip
    broken = codec.encode(packet).replace(b'"extradata":"A', b'"extradata":"*', 1)  # length kept
    with pytest.raises(DecodeError, match="packet/v1 payload is invalid"):
        codec.decode(broken)


def _frame_envelope(seq: int, size: tuple[int, int] = (48, 64)) -> bytes:
    rng = np.random.default_rng(seq)
    image = np.clip(rng.normal(128, 40, (*size, 3)), 0, 255).astype(np.uint8)
    return codec.encode(Frame("cam", seq, 100.0 + seq, seq / 5, image))


def _payload(envelope: bytes) -> bytes:
    """The bytes after an envelope's header (the layout in `senri.codec`'s docstring)."""
    pos = 5 + envelope[4] + 2
    (head_len,) = struct.unpack_from(">I", envelope, pos)
    return envelope[pos + 4 + head_len :]


def _mixed_batch() -> list[bytes]:
    """Frames among other records, with a corrupt, a truncated and a mislabelled frame and
    a broken envelope in between."""
    good = [_frame_envelope(i) for i in range(6)]
    jpegs = [_payload(data) for data in good]
    noise = np.random.default_rng(1).bytes(len(jpegs[1]) - 4)
    corrupt = good[1][: -len(jpegs[1])] + jpegs[1][:2] + noise + jpegs[1][-2:]
    head = json.dumps({"stream_id": "cam", "ts": 1.0, "pts": 0.0}).encode()
    no_seq = b"SNR\x01\x05frame" + struct.pack(">HI", 1, len(head)) + head + jpegs[2]
    chunk = AudioChunk("mic", 0, 0.0, 0.0, np.linspace(-1, 1, 160, dtype=np.float32), 16000)
    return [
        good[0],
        corrupt,
        codec.encode(chunk),
        good[3][:-40],
        _event_bytes(),
        no_seq,
        b"XYZ garbage",
        good[4],
        codec.encode(ImageItem("shop", "sku1", 0, b"\xff\xd8 not decoded here")),
        good[5],
    ]


def _decode_or_error(data: bytes) -> Any:
    try:
        return codec.decode(data)
    except DecodeError as exc:
        return exc


@pytest.mark.parametrize("threads", [1, 3])
def test_decode_many_gives_what_decode_gives_each_envelope(threads: int) -> None:
    batch = _mixed_batch()
    pixels = codec.HostPixels(threads)
    try:
        got = codec.decode_many(batch, pixels=pixels)
    finally:
        pixels.close()
    assert len(got) == len(batch)
    for data, record in zip(batch, got, strict=True):
        expected = _decode_or_error(data)
        assert type(record) is type(expected)
        if isinstance(expected, DecodeError):
            assert str(record) == str(expected)
            continue
        if isinstance(expected, Frame):
            assert (record.key, record.ts, record.pts) == (expected.key, expected.ts, expected.pts)
            assert np.array_equal(record.image, expected.image)
        else:  # the same record: it encodes to the same bytes
            assert codec.encode(record) == codec.encode(expected)
    reasons = [str(r) for r in got if isinstance(r, DecodeError)]
    assert len(reasons) == 4  # corrupt, truncated, no seq, garbage: the rest decoded
    assert any("not a decodable image" in r for r in reasons)
    assert any("truncated JPEG" in r for r in reasons)
    assert any("frame/v1 payload is invalid" in r and "seq" in r for r in reasons)


def test_decode_many_honours_the_size_limit() -> None:
    small, big = _event_bytes(), _frame_envelope(0, (256, 256))
    got = codec.decode_many([small, big], max_bytes=len(small) + 1)
    assert isinstance(got[0], Event)
    assert isinstance(got[1], DecodeError)
    assert "exceeds the limit" in str(got[1])


def test_threads_decode_a_batch_of_frames_identically_and_in_order() -> None:
    batch = [_frame_envelope(i, (120, 160)) for i in range(24)]
    one, many = codec.HostPixels(1), codec.HostPixels(4)
    try:
        a = codec.decode_many(batch, pixels=one)
        b = codec.decode_many(batch, pixels=many)
    finally:
        one.close()
        many.close()
    assert [f.seq for f in b] == list(range(24))
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b, strict=True))
