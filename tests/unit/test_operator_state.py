"""Every operator keeps its promise about state, checked on the demo's own media.

A `Stateful` operator's snapshot, taken mid-stream and restored into a fresh operator (through
JSON, as the Kafka worker's changelog carries it), must give exactly the results the original
goes on to give: the same event ids, times, labels, scores and track ids, mid-utterance and
mid-track alike. A `Stateless` operator must keep nothing per stream. The graph builder refuses
an operator that declares neither.
"""

from __future__ import annotations

import json
from typing import Any

import cv2
import numpy as np
import pytest

import senri.operators  # noqa: F401  (registers the operators)
from senri.connectors.audio import AudioSource
from senri.connectors.video import VideoSource
from senri.engine import spec
from senri.engine.graph import build
from senri.engine.operator import (
    Device,
    Operator,
    OperatorRegistry,
    Stateful,
    Stateless,
    declares_state,
    registry,
)
from senri.errors import PipelineError
from senri.operators.motion import MotionDetector
from senri.records import AudioChunk, Frame, FrameDetections, ImageItem
from senri.worlds import shapes

pytestmark = pytest.mark.unit

CPU = Device("cpu")
STATEFUL = [n for n in registry.names() if issubclass(registry.get(n) or object, Stateful)]
STATELESS = [n for n in registry.names() if issubclass(registry.get(n) or object, Stateless)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> shapes.World:
    return shapes.generate(tmp_path_factory.mktemp("world"), seed=7)


@pytest.fixture(scope="module")
def chunks(world: shapes.World) -> list[AudioChunk]:
    return [
        c
        for c in AudioSource(world.audio, "mic1", 1.0, start_time=0.0)
        if isinstance(c, AudioChunk)
    ]


@pytest.fixture(scope="module")
def frames(world: shapes.World) -> list[Frame]:
    return [f for f in VideoSource(world.video, "cam1", start_time=0.0) if isinstance(f, Frame)]


@pytest.fixture(scope="module")
def motion(frames: list[Frame]) -> list[FrameDetections]:
    op = _made("vision.motion")
    return op.process(frames)


def _made(name: str, **settings: Any) -> Operator[Any, Any]:
    cls = registry.get(name)
    assert cls is not None
    op = cls(**settings)
    op.setup(CPU)
    return op


def _results(items: list[Any]) -> list[Any]:
    """What a sink would see: events (to_dict) and, for detections, their track ids too."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, FrameDetections):
            out.append((item.key, item.detections.tracker_id.tolist()))
        out.extend(e.to_dict() for e in item.to_events())
    return out


def _run(op: Operator[Any, Any], items: list[Any], batch: int = 8) -> list[Any]:
    out: list[Any] = []
    for start in range(0, len(items), batch):
        out.extend(op.process(items[start : start + batch]))
    return out


def _resumed(name: str, items: list[Any], split: int, settings: dict[str, Any]) -> list[Any]:
    """Items [:split] through one operator, its snapshot through JSON into a fresh one, which
    takes items [split:] and finishes: what a worker that took the stream over would give."""
    first = _made(name, **settings)
    _run(first, items[:split])
    assert isinstance(first, Stateful)
    saved = json.loads(json.dumps(first.snapshot(items[0].stream_id)))
    second = _made(name, **settings)
    assert isinstance(second, Stateful)
    second.restore(items[0].stream_id, saved)
    return _results(_run(second, items[split:]) + second.finish())


AUDIO_SETTINGS: dict[str, dict[str, Any]] = {
    "audio.loudness": {"threshold_db": -40},
    "audio.vad": {},
    "audio.speech": {"fallback": False},
    "audio.dialect": {},
    "audio.sounds": {"urban_only": True},
}


@pytest.mark.parametrize("name", sorted(AUDIO_SETTINGS))
def test_audio_operators_resume_exactly_from_a_snapshot(
    name: str, chunks: list[AudioChunk], world: shapes.World
) -> None:
    settings = AUDIO_SETTINGS[name]
    whole = _made(name, **settings)
    done = _run(whole, chunks) + whole.finish()
    truth = shapes.load_truth(world.truth)
    # cut inside the first utterance, inside the first sound, and between the two
    cuts = {int(truth["speech"][0]["start"]) + 1, int(truth["sounds"][0]["start"]) + 1, 5}
    per_chunk = {c.key: i for i, c in enumerate(chunks)}
    assert any(e.kind != "" for item in done for e in item.to_events())  # something happened
    for split in sorted(cuts):
        expected = _results([x for x in done if per_chunk.get(x.key, len(chunks)) >= split])
        assert _resumed(name, chunks, split, settings) == expected, (name, split)


def test_motion_and_tracking_resume_exactly_from_a_snapshot(
    frames: list[Frame], motion: list[FrameDetections]
) -> None:
    for split in (30, 65, 150):  # objects are moving and tracked at each of these frames
        whole = _made("vision.motion")
        expected = _results(_run(whole, frames)[split:])
        assert _resumed("vision.motion", frames, split, {}) == expected, split
        raw = _run(_made("vision.track"), motion)
        live = [int(fd.detections.tracker_id.max(initial=-1)) for fd in raw[split - 3 : split]]
        assert max(live) >= 1, split  # a confirmed track is alive at the cut
        assert _resumed("vision.track", motion, split, {}) == _results(raw[split:]), split


def test_motion_snapshots_taken_every_batch_stay_true_to_the_background(
    frames: list[Frame],
) -> None:
    """A background sample is PNG-encoded once and reused; snapshots taken after every batch,
    while old samples leave the history, must still hold exactly the current samples."""
    op = MotionDetector(history=4)
    stream = frames[0].stream_id
    for start in range(0, 120, 8):  # 12 s at 10 frames/s: ~24 samples through a history of 4
        op.process(frames[start : start + 8])
        snap = op.snapshot(stream)
    fresh = MotionDetector(history=4)
    fresh.restore(stream, json.loads(json.dumps(snap)))
    kept, restored = list(op._scenes[stream].samples), list(fresh._scenes[stream].samples)
    assert len(kept) == 4
    assert all(np.array_equal(a, b) for a, b in zip(kept, restored, strict=True))


def _keys_of(op: Operator[Any, Any]) -> set[str]:
    """Every dict key held by the operator's attributes, and by those attributes' own."""
    found: set[str] = set()
    for value in vars(op).values():
        for inner in (value, *getattr(value, "__dict__", {}).values()):
            if isinstance(inner, dict):
                found |= {str(k) for k in inner}
    return found


def _stateless_inputs(name: str, frames: list[Frame], motion: list[FrameDetections]) -> list[Any]:
    cls = registry.get(name)
    assert cls is not None
    moving = [fd for fd in motion if len(fd.detections)][:4]
    if cls.input_type is Frame:
        return frames[60:64]
    if cls.input_type is FrameDetections:
        return moving
    data = cv2.imencode(".png", np.zeros((32, 32, 3), np.uint8))[1].tobytes()
    return [ImageItem("cat", f"i{n}", n, data, {}) for n in range(3)] + frames[:2]


@pytest.mark.parametrize("name", STATELESS)
def test_stateless_operators_keep_nothing_per_stream(
    name: str, frames: list[Frame], motion: list[FrameDetections]
) -> None:
    op = _made(name)
    items = _stateless_inputs(name, frames, motion)
    if name == "decode.image":
        items = [i for i in items if isinstance(i, ImageItem)]
    before = _keys_of(op)
    op.process(items)
    streams = {str(getattr(i, "stream_id", "")) for i in items}
    assert not (_keys_of(op) - before) & streams
    assert op.finish() == []


def test_every_operator_declares_its_state() -> None:
    assert set(STATEFUL) | set(STATELESS) == set(registry.names())
    assert all(declares_state(registry.get(n) or object) for n in registry.names())
    assert {"vision.track", "vision.motion", "audio.speech", "audio.vad"} <= set(STATEFUL)


def test_the_graph_refuses_an_operator_that_declares_no_state() -> None:
    class Counter(Operator[Frame, Frame]):
        name = "test.counter"
        input_type = Frame
        output_type = Frame

        def __init__(self) -> None:
            self.seen: dict[str, int] = {}

        def process(self, items: list[Frame]) -> list[Frame]:
            return items

    ops = OperatorRegistry()
    ops.register(Counter)
    doc = "inputs: {f: {video: a.mp4}}\ngraph:\n  c: {op: test.counter, from: f}\noutputs: {}\n"
    with pytest.raises(PipelineError, match=r"line 3: .*'test.counter' declares neither"):
        build(spec.parse_yaml(doc), ops=ops)


def test_video_decoding_resumes_exactly_mid_gop(world: shapes.World, frames: list[Frame]) -> None:
    """Packets through `decode.video`, cut inside a GOP and at a keyframe (B-frames still in
    the decoder): the frames are the file's own, pixel for pixel, numbered without a gap."""
    from senri.connectors.packets import PacketSource
    from senri.records import VideoPacket

    packets = [p for p in PacketSource(world.video, "cam1", start_time=0.0)]
    assert all(isinstance(p, VideoPacket) for p in packets)
    keyframes = [i for i, p in enumerate(packets) if isinstance(p, VideoPacket) and p.keyframe]
    assert len(keyframes) >= 2
    for split in (keyframes[1] - 3, keyframes[1], keyframes[1] + 1):
        first = _made("decode.video")
        given = _run(first, packets[:split])
        saved = json.loads(json.dumps(first.snapshot("cam1")))
        second = _made("decode.video")
        second.restore("cam1", saved)
        given += _run(second, packets[split:]) + second.finish()
        assert [f.seq for f in given] == [f.seq for f in frames], split
        assert all(np.array_equal(a.image, b.image) for a, b in zip(given, frames, strict=True))
        assert [a.ts for a in given] == [b.ts for b in frames], split


def test_video_decoding_at_a_lower_fps_leaves_unreferenced_pictures_undecoded(
    world: shapes.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `fps` below the camera's, H.264 pictures that nothing refers to and that the
    sampler would drop are not decoded; the frames, a resume mid-GOP included, are the same
    as when every packet is decoded."""
    import senri.operators.video_decode as video_decode
    from senri.connectors.packets import PacketSource

    packets = list(PacketSource(world.video, "cam1", start_time=0.0))

    def decoded(split: int) -> tuple[list[Frame], int]:
        first = _made("decode.video", fps=4)
        given = _run(first, packets[:split])
        second = _made("decode.video", fps=4)
        second.restore("cam1", json.loads(json.dumps(first.snapshot("cam1"))))
        given += _run(second, packets[split:]) + second.finish()
        undecoded = getattr(first, "undecoded", 0) + getattr(second, "undecoded", 0)
        return given, undecoded

    fast = [decoded(split) for split in (len(packets), len(packets) // 2 + 1)]
    monkeypatch.setattr(video_decode, "disposable", lambda packet: False)
    every, none = decoded(len(packets))
    assert none == 0
    for got, undecoded in fast:
        assert 0 < undecoded < len(packets) - len(every)  # some were skipped, not all dropped
        assert [(f.seq, f.ts) for f in got] == [(f.seq, f.ts) for f in every]
        assert all(np.array_equal(a.image, b.image) for a, b in zip(got, every, strict=True))


def test_streams_in_one_batch_decode_on_their_own_threads(
    world: shapes.World, frames: list[Frame]
) -> None:
    """Two cameras' packets interleaved in every batch: each camera's frames are the file's,
    in order, as if it were decoded alone."""
    from dataclasses import replace

    from senri.connectors.packets import PacketSource

    packets = list(PacketSource(world.video, "cam1", start_time=0.0))
    both = [x for p in packets for x in (p, replace(p, stream_id="cam2"))]
    op = _made("decode.video")  # set up: with its decoding threads
    got = _run(op, both, batch=16) + op.finish()
    op.teardown()
    for stream in ("cam1", "cam2"):
        mine = [f for f in got if f.stream_id == stream]
        assert [(f.seq, f.ts) for f in mine] == [(f.seq, f.ts) for f in frames], stream
        assert all(np.array_equal(a.image, b.image) for a, b in zip(mine, frames, strict=True))


def test_video_decoding_that_joins_mid_gop_starts_at_the_next_keyframe(
    world: shapes.World, frames: list[Frame]
) -> None:
    from senri.connectors.packets import PacketSource
    from senri.records import VideoPacket

    packets = [p for p in PacketSource(world.video, "cam1", start_time=0.0)]
    second = next(
        i for i, p in enumerate(packets) if isinstance(p, VideoPacket) and i and p.keyframe
    )
    op = _made("decode.video")
    got = _run(op, packets[second - 3 :]) + op.finish()
    assert getattr(op, "skipped", None) == 3  # the packets before the keyframe
    shown = {round(f.pts, 3): f for f in frames}
    assert got and all(np.array_equal(f.image, shown[round(f.pts, 3)].image) for f in got)
