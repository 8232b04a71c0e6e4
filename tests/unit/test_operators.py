"""The demo's light operators on media with known contents."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf
import soxr

from senri.boxes import iou_matrix
from senri.engine.operator import Device, Stateful
from senri.operators.audio import Loudness, VoiceActivity
from senri.operators.colour import DominantColour, colour_name
from senri.operators.motion import MotionDetector
from senri.operators.track import Tracker
from senri.records import AudioChunk, Detections, Frame, FrameDetections

pytestmark = pytest.mark.unit

BACKGROUND = np.full((120, 160, 3), 110, np.uint8)


def scene(
    t: float, boxes: list[tuple[int, int, tuple[int, int, int]]], stream: str = "cam"
) -> Frame:
    """A frame at time t with 20x20 squares at (x, y) in the given colours."""
    image = BACKGROUND.copy()
    for x, y, rgb in boxes:
        image[y : y + 20, x : x + 20] = rgb
    return Frame(stream, round(t * 10), 1000.0 + t, t, image)


def moving(seconds: float = 4.0) -> list[Frame]:
    """A red square moving right and a blue one moving down, from t=1 s on, at 10 fps."""
    frames = []
    for i in range(int(seconds * 10)):
        t = i / 10
        boxes = []
        if t >= 1.0:
            k = int((t - 1.0) * 30)
            boxes = [(10 + k, 20, (220, 30, 30)), (120, 10 + k, (30, 70, 230))]
        frames.append(scene(t, boxes))
    return frames


def test_motion_finds_moving_squares() -> None:
    op = MotionDetector(sample_every=0.5, warmup=2)
    out = op.process(moving())
    assert all(len(fd.detections) == 0 for fd in out[:10])  # empty scene while warming up
    late = out[-1].detections
    assert len(late) == 2
    boxes = sorted(late.xyxy.tolist())
    k = int((3.9 - 1.0) * 30)
    np.testing.assert_allclose(boxes[0], [10 + k, 20, 30 + k, 40], atol=2)
    np.testing.assert_allclose(boxes[1], [120, 10 + k, 140, 30 + k], atol=2)


def test_motion_on_a_wide_camera_looks_at_it_shrunk_and_answers_in_its_pixels() -> None:
    """A 1280x720 camera is looked at 640 px wide: the boxes come back in the camera's own
    pixels, within the shrinking's rounding of those found at full size, and the state keeps
    the shrunk samples."""
    big = [
        Frame(f.stream_id, f.seq, f.ts, f.pts, cv2.resize(f.image, (1280, 720), interpolation=0))
        for f in moving()
    ]  # the 160x120 scene, 8x: its 20 px squares become 160 px
    full = MotionDetector(sample_every=0.5, warmup=2, max_width=0).process(big)[-1].detections
    op = MotionDetector(sample_every=0.5, warmup=2)
    shrunk = op.process(big)[-1].detections
    assert len(full) == len(shrunk) == 2
    np.testing.assert_allclose(sorted(shrunk.xyxy.tolist()), sorted(full.xyxy.tolist()), atol=4)
    sample = op.snapshot("cam")["samples"][0]
    image = cv2.imdecode(np.frombuffer(base64.b64decode(sample), np.uint8), -1)
    assert image.shape == (360, 640, 3)
    with pytest.raises(ValueError, match="max_width"):
        MotionDetector(max_width=-1)


def test_motion_keeps_streams_apart() -> None:
    op = MotionDetector()
    a = op.process([scene(t / 10, [], "a") for t in range(12)])
    b = op.process([scene(t / 10, [(50, 50, (0, 255, 0))], "b") for t in range(12)])
    assert all(len(fd.detections) == 0 for fd in a + b)  # b's square never moved


def test_tracker_ids_stable_and_confirmed_after_min_hits() -> None:
    frames = MotionDetector().process(moving())
    tracker = Tracker(min_hits=3)
    tracked = tracker.process(frames)
    ids = [set(fd.detections.tracker_id.tolist()) - {-1} for fd in tracked]
    assert set().union(*ids) == {1, 2}
    assert ids[-1] == {1, 2}


def test_tracked_detections_say_when_their_thing_came_into_view() -> None:
    """A track gets its id `min_hits` frames after its first detection; `first_seen` keeps
    the time of that first one, for every detection of the track."""
    frames = MotionDetector(warmup=1).process(moving())
    tracked = Tracker(min_hits=3, min_travel=0).process(frames)
    first_detection = next(fd.frame.ts for fd in tracked if len(fd.detections))
    first_tracked = next(fd.frame.ts for fd in tracked if (fd.detections.tracker_id >= 0).any())
    assert first_tracked == pytest.approx(first_detection + 0.2)
    for fd in tracked:
        seen = fd.detections.data["first_seen"]
        untracked = fd.detections.tracker_id < 0
        assert (seen[~untracked] == first_detection).all()
        assert (seen[untracked] >= first_detection).all()
    events = [e for fd in tracked for e in fd.to_events() if e.track_id is not None]
    assert {e.attributes["first_seen"] for e in events} == {first_detection}


def test_tracker_snapshot_restore_resumes() -> None:
    frames = MotionDetector().process(moving())
    whole = Tracker().process(frames)
    first = Tracker()
    first.process(frames[:25])
    assert isinstance(first, Stateful)
    state = first.snapshot("cam")
    second = Tracker()
    second.restore("cam", state)
    resumed = second.process(frames[25:])
    for a, b in zip(whole[25:], resumed, strict=True):
        assert a.detections.tracker_id.tolist() == b.detections.tracker_id.tolist()


def test_tracker_ignores_still_objects() -> None:
    frames = [scene(t / 10, [(60, 60, (0, 255, 0))]) for t in range(30)]
    dets = [FrameDetections(f, Detections.create([[60, 60, 80, 80]])) for f in frames]
    out = Tracker(min_travel=8).process(dets)
    assert all(fd.detections.tracker_id.tolist() == [-1] for fd in out)


def test_iou_matrix() -> None:
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    np.testing.assert_allclose(iou_matrix(a, b), [[1.0, 1 / 3, 0.0]], atol=1e-6)


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((220, 30, 30), "red"),
        ((250, 130, 20), "orange"),
        ((240, 220, 30), "yellow"),
        ((30, 190, 50), "green"),
        ((30, 70, 230), "blue"),
        ((150, 50, 210), "purple"),
        ((250, 250, 250), "white"),
        ((10, 10, 10), "black"),
        ((128, 128, 128), "grey"),
    ],
)
def test_colour_names(rgb: tuple[int, int, int], name: str) -> None:
    assert colour_name(np.array(rgb)) == name


def test_dominant_colour_column() -> None:
    frame = scene(0, [(10, 10, (220, 30, 30)), (100, 60, (30, 70, 230))])
    dets = Detections.create([[10, 10, 30, 30], [100, 60, 120, 80]])
    out = DominantColour().process([FrameDetections(frame, dets)])[0]
    assert list(out.detections.data["colour"]) == ["red", "blue"]
    events = out.to_events()
    assert [e.attributes["colour"] for e in events] == ["red", "blue"]


def chunks(samples: np.ndarray, rate: int = 16000, seconds: float = 1.0) -> list[AudioChunk]:
    n = int(rate * seconds)
    return [
        AudioChunk(
            "mic",
            i,
            500.0 + i * seconds,
            i * seconds,
            samples[i * n : (i + 1) * n].astype(np.float32),
            rate,
        )
        for i in range((len(samples) + n - 1) // n)
    ]


def tone(seconds: float, freq: float = 440.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return level * np.sin(2 * np.pi * freq * t)


def test_loudness_spans_cross_chunks() -> None:
    silence = np.zeros(16000)
    audio = np.concatenate(
        [silence[:8000], tone(1.6), silence, tone(0.5), silence[:8000], tone(0.1)]
    )
    op = Loudness(threshold_db=-40)
    batches = op.process(chunks(audio)) + op.finish()
    events = [e for b in batches for e in b.events]
    assert len(events) == 2  # the 0.1 s blip is below min_duration
    assert events[0].time == pytest.approx(500.5, abs=0.06) and events[0].end_time == pytest.approx(
        502.1, abs=0.06
    )
    assert events[1].time == pytest.approx(503.1, abs=0.06)
    again = Loudness(threshold_db=-40)
    replay = [e for b in again.process(chunks(audio)) + again.finish() for e in b.events]
    assert [e.id for e in replay] == [e.id for e in events]  # deterministic ids


def espeak(text: str, tmp_path: Path) -> np.ndarray:
    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), text], check=True)
    data, rate = sf.read(str(wav), dtype="float32")
    return soxr.resample(data, rate, 16000)


def test_vad_finds_speech_not_tones(tmp_path: Path) -> None:
    speech = espeak("the red car passed camera three at ten o'clock", tmp_path)
    gap = np.zeros(16000)
    audio = np.concatenate([gap, tone(1.5, 880), gap, speech, gap])
    op = VoiceActivity()
    op.setup(Device("cpu"))
    events = [e for b in op.process(chunks(audio)) + op.finish() for e in b.events]
    assert len(events) == 1
    start = 500.0 + (len(gap) * 2 + 1.5 * 16000) / 16000
    assert events[0].time == pytest.approx(start, abs=0.4)
    assert events[0].end_time == pytest.approx(start + len(speech) / 16000, abs=0.5)


def test_vad_refuses_wrong_rate() -> None:
    op = VoiceActivity()
    op.setup(Device("cpu"))
    with pytest.raises(ValueError, match="16 kHz"):
        op.process([AudioChunk("mic", 0, 0.0, 0.0, np.zeros(800, np.float32), 8000)])


def test_events_keep_scalar_columns_only() -> None:
    frame = scene(0, [])
    dets = Detections.create(
        [[1, 2, 3, 4]],
        data={"label": ["face"], "age": [31.5], "embedding": np.ones((1, 8), np.float32)},
    )
    (event,) = FrameDetections(frame, dets, kind="face").to_events()
    assert event.label == "face" and dict(event.attributes) == {"age": 31.5}


def test_event_ids_do_not_depend_on_which_detections_a_node_kept() -> None:
    frame = scene(0, [])
    dets = Detections.create(
        [[0, 0, 10, 10], [20, 20, 40, 40]],
        data={"label": np.array(["person", "car"], dtype=object)},
    )
    whole = {e.label: e.id for e in FrameDetections(frame, dets).to_events()}
    cars_only = {
        e.label: e.id for e in FrameDetections(frame, dets[np.array([False, True])]).to_events()
    }
    assert cars_only["car"] == whole["car"]
    assert len(set(whole.values())) == 2


def test_track_id_survives_brief_occlusion() -> None:
    """A box hidden for 3 frames keeps its id when it comes back a little further on."""
    fds = []
    for i in range(20):
        x = 10 + 4 * i
        boxes = [] if 8 <= i < 11 else [[x, 50, x + 20, 70]]
        fds.append(
            FrameDetections(
                scene(i / 10, []), Detections.create(np.array(boxes, np.float32).reshape(-1, 4))
            )
        )
    out = Tracker(max_age=5).process(fds)
    ids = {int(t) for fd in out for t in fd.detections.tracker_id if t >= 0}
    assert ids == {1}
    assert out[-1].detections.tracker_id.tolist() == [1]


def test_low_score_detections_keep_a_track_alive_but_never_start_one() -> None:
    """ByteTrack's second pass: a dip below `high` continues a track; low boxes start none."""

    def frame(i: int, boxes: list[list[int]], scores: list[float]) -> FrameDetections:
        xyxy = np.array(boxes, np.float32).reshape(-1, 4)
        return FrameDetections(scene(i / 10, []), Detections.create(xyxy, confidence=scores))

    fds = []
    for i in range(20):
        x = 10 + 4 * i
        dip = 6 <= i < 14  # longer than max_age: without the second pass the track would end
        fds.append(
            frame(i, [[x, 50, x + 20, 70], [120, 5 + i, 140, 25 + i]], [0.2 if dip else 0.9, 0.2])
        )
    out = Tracker(max_age=2, high=0.5).process(fds)
    ids = [fd.detections.tracker_id.tolist() for fd in out]
    assert {i for row in ids for i in row if i >= 0} == {1}
    assert all(row[0] == 1 for row in ids[2:])  # confirmed at the 3rd frame, kept through the dip
    assert all(row[1] == -1 for row in ids)  # the low-score box moving down never becomes a track

    single_pass = Tracker(max_age=2).process(fds)  # high=0: every box is high, one pass
    assert {i for fd in single_pass for i in fd.detections.tracker_id.tolist() if i >= 0} == {1, 2}
