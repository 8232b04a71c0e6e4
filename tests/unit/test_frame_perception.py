"""What is in one frame (`FramePerception`, `frame_events`) and thumbnails of archived frames.

The frames come from a street world (`senri.worlds.street`, seed 7) whose truth file says
which person and motorcycle are drawn where, what the person wears and the plate's text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

from senri.ask.frame import (
    FrameNotFoundError,
    FramePerception,
    MediaIndex,
    UnknownStreamError,
    frame_events,
)
from senri.boxes import iou
from senri.connectors.video import VideoSource
from senri.errors import DecodeError
from senri.indexes.events.store import MemoryEventStore
from senri.records import Event, Frame
from senri.worlds import street
from senri.worlds.street.run import street_pipeline
from tests.unit.conftest import StreetFixture

pytestmark = pytest.mark.unit

STREAM = street.STREAM_ID


@pytest.fixture(scope="module")
def frames(street_world: StreetFixture) -> list[Frame]:
    """Every frame of the world's video, as the pipelines' video source stamps them."""
    w, truth = street_world
    items = list(VideoSource(w.video, STREAM, start_time=truth["start_time"]))
    assert all(isinstance(f, Frame) for f in items)
    return [f for f in items if isinstance(f, Frame)]


def both_visible(truth: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """The middle frame where a person and a plated motorcycle are both fully inside."""
    full = {o["id"]: {r[0] for r in o["frames"] if r[5]} for o in truth["objects"]}
    people = [o for o in truth["objects"] if o["label"] == "person"]
    bikes = [o for o in truth["objects"] if o["label"] == "motorcycle" and "plate" in o]
    for person in people:
        for bike in bikes:
            shared = sorted(full[person["id"]] & full[bike["id"]])
            if shared:
                return shared[len(shared) // 2], person, bike
    raise AssertionError("the street world shows no person beside a motorcycle")


def box_in(obj: dict[str, Any], index: int) -> list[int]:
    (row,) = [r for r in obj["frames"] if r[0] == index]
    return list(row[1:5])


def found(events: list[Event], label: str, box: list[int]) -> Event:
    hits = [e for e in events if e.label == label and e.bbox and iou(e.bbox, box) >= 0.5]
    assert len(hits) == 1, f"{label} at {box}: {events}"
    return hits[0]


# -- describe ----------------------------------------------------------------------------------


def test_describe_finds_the_person_and_motorcycle_of_the_truth(
    street_world: StreetFixture,
    frames: list[Frame],
    frame_perception: FramePerception,
) -> None:
    _, truth = street_world
    i, person, bike = both_visible(truth)
    frame = frames[i]
    events = frame_perception.describe(frame.image, stream_id=STREAM, time=frame.ts, seq=frame.seq)
    assert {e.kind for e in events} <= {"object", "text", "face"}
    assert all(e.stream_id == STREAM and e.time == frame.ts for e in events)
    who = found(events, "person", box_in(person, i))
    assert who.kind == "object" and who.attributes["upper_colour"] in person["upper_colour"]
    assert who.attributes["riding"] is False and who.attributes["phone"] is False
    ride = found(events, "motorcycle", box_in(bike, i))
    assert ride.attributes["vehicle_type"] == "motorcycle"
    assert isinstance(ride.attributes["colour"], str) and ride.attributes["colour"]
    plate = bike["plate"].replace(" ", "")
    assert str(ride.attributes["plate"]).replace(" ", "") == plate
    assert "plate" not in who.attributes and "upper_colour" not in ride.attributes
    # the whole-frame OCR reads the plate as a text line too (the text is an attribute,
    # as `vision.read_text` stores it)
    texts = [str(e.attributes["text"]).replace(" ", "") for e in events if e.kind == "text"]
    assert plate in texts
    # the same frame described again gives the same ids (a pipeline replay overwrites)
    again = frame_perception.describe(frame.image, stream_id=STREAM, time=frame.ts, seq=frame.seq)
    assert [e.id for e in again] == [e.id for e in events]


def test_describe_an_empty_street_finds_nothing_to_count(
    frames: list[Frame], frame_perception: FramePerception
) -> None:
    events = frame_perception.describe(frames[0].image)  # nothing has entered yet
    assert [e for e in events if e.kind == "object" and e.confidence >= 0.45] == []
    assert all(e.stream_id == "upload" and e.time == 0.0 for e in events)


def test_without_ocr_and_faces_no_text_faces_or_plates(
    street_world: StreetFixture, frames: list[Frame]
) -> None:
    _, truth = street_world
    i, _, bike = both_visible(truth)
    lean = FramePerception.load(faces=False, ocr=False)
    assert set(lean.session.graph.nodes) == {"detect", "people", "vehicles"}
    assert lean.session.operator("vehicles").reader is None  # type: ignore[attr-defined]
    events = lean.describe(frames[i].image)
    assert {e.kind for e in events} == {"object"}
    ride = found(events, "motorcycle", box_in(bike, i))
    assert "plate" not in ride.attributes and ride.attributes["vehicle_type"] == "motorcycle"


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ([[0, 0, 0]], "numpy array"),
        (np.zeros((32, 32, 3), np.float32), "uint8"),
        (np.zeros((32, 32), np.uint8), r"\(H, W, 3\)"),
        (np.zeros((32, 32, 4), np.uint8), r"\(H, W, 3\)"),
        (np.zeros((4, 32, 3), np.uint8), "too small"),
    ],
)
def test_describe_refuses_what_is_not_an_rgb_image(
    frame_perception: FramePerception, image: object, reason: str
) -> None:
    with pytest.raises(DecodeError, match=reason):
        frame_perception.describe(image)  # type: ignore[arg-type]


def test_describe_refuses_a_non_finite_time(frame_perception: FramePerception) -> None:
    with pytest.raises(ValueError, match="finite"):
        frame_perception.describe(np.zeros((32, 32, 3), np.uint8), time=float("nan"))


# -- frame_events ------------------------------------------------------------------------------


def event(kind: str, time: float, label: str, stream: str = STREAM, **extra: Any) -> Event:
    return Event(Event.make_id(stream, time, kind, label), stream, time, kind, label, **extra)


def test_frame_events_picks_the_single_nearest_frame() -> None:
    store = MemoryEventStore()
    t = 1_767_261_602.5  # frames a quarter second apart: every time here is exact
    store.put(
        [
            event("object", t, "person", confidence=0.6),
            event("object", t, "motorcycle", confidence=0.9),
            event("text", t, "text", attributes={"text": "KA 09 JM 5383"}),
            event("face", t, "face"),
            event("speech", t, "speech", end_time=t + 2),  # a span, not part of a frame
            event("object", t, "car", stream="other"),
            event("object", t + 0.25, "horse"),
            event("object", t - 0.25, "dog"),
        ]
    )
    got = frame_events(store, STREAM, t + 0.05)
    assert [(e.kind, e.label) for e in got] == [
        ("object", "motorcycle"),
        ("object", "person"),
        ("text", "text"),
        ("face", "face"),
    ]
    assert [e.label for e in frame_events(store, STREAM, t + 0.16)] == ["horse"]
    assert [e.label for e in frame_events(store, STREAM, t - 0.125)] == ["dog"]  # tie: earlier
    assert frame_events(store, STREAM, t + 0.9) == []
    assert frame_events(store, STREAM, t + 0.9, tolerance=1.0)[0].label == "horse"
    assert frame_events(store, "nobody", t) == []
    with pytest.raises(ValueError, match="finite"):
        frame_events(store, STREAM, float("inf"))


def test_frame_events_reads_back_what_describe_gave(
    frames: list[Frame], frame_perception: FramePerception
) -> None:
    store = MemoryEventStore()
    described = {}
    for f in frames[10:14]:
        described[f.ts] = frame_perception.describe(f.image, stream_id=STREAM, time=f.ts, seq=f.seq)
        store.put(described[f.ts])
    ts = frames[12].ts
    assert {e.id for e in frame_events(store, STREAM, ts + 0.05)} == {e.id for e in described[ts]}


# -- thumbnails --------------------------------------------------------------------------------


def decoded(jpeg: bytes) -> np.ndarray:
    assert jpeg[:2] == b"\xff\xd8"
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


@pytest.mark.parametrize("index", [0, 3, 12, 20, 47, -1])
def test_frame_is_the_one_the_video_source_stamped_with_that_time(
    street_media: MediaIndex, frames: list[Frame], index: int
) -> None:
    want = frames[index]
    for jitter in (0.0, 0.07, -0.07):
        image, at = street_media.frame(STREAM, want.ts + jitter)
        assert at == pytest.approx(want.ts, abs=1e-6)
        assert np.array_equal(image, want.image)


def test_thumbnail_is_a_small_jpeg_with_the_box_drawn(
    street_world: StreetFixture,
    street_media: MediaIndex,
    frames: list[Frame],
) -> None:
    _, truth = street_world
    i, person, _ = both_visible(truth)
    t = frames[i].ts
    plain = decoded(street_media.thumbnail(STREAM, t))
    assert plain.shape == (180, 320, 3)
    assert decoded(street_media.thumbnail(STREAM, t, max_side=1000)).shape == (360, 640, 3)
    box = box_in(person, i)
    boxed = decoded(street_media.thumbnail(STREAM, t, bbox=box))
    x1, y1 = round(box[0] / 2), round(box[1] / 2)
    assert np.abs(boxed.astype(int) - plain.astype(int))[y1 - 2 : y1 + 3, x1 + 20].max() > 60
    for bad in [(10, 10, 5, 20), (1, 2, 3), (0, 0, float("nan"), 9)]:
        with pytest.raises(ValueError, match="bbox"):
            street_media.thumbnail(STREAM, t, bbox=bad)


def test_unknown_streams_and_times_outside_the_video_are_refused(
    street_world: StreetFixture, street_media: MediaIndex
) -> None:
    _, truth = street_world
    start, end = truth["start_time"], truth["start_time"] + truth["duration"]
    with pytest.raises(UnknownStreamError, match=r"no video for stream 'cam9'.*street1"):
        street_media.thumbnail("cam9", start)
    with pytest.raises(KeyError):
        street_media.frame("cam9", start)
    for t in (start - 1.0, end + 1.0, 0.0, float("nan")):
        with pytest.raises(FrameNotFoundError):
            street_media.thumbnail(STREAM, t)


def test_media_index_from_a_pipeline_file(
    street_world: StreetFixture, frames: list[Frame], tmp_path: Path
) -> None:
    w, truth = street_world
    media = MediaIndex.from_pipeline(street_pipeline(w, truth))
    assert list(media.streams) == [STREAM] and media.start_time(STREAM) == truth["start_time"]
    assert np.array_equal(media.frame(STREAM, frames[30].ts)[0], frames[30].image)
    # no start_time: the video's creation time, as the video source reads it; a camera and
    # an audio input are left out
    doc = {
        "inputs": {
            "cam": {"video": str(w.video)},
            "live": {"video": "rtsp://camera.invalid/1", "stream": "door"},
            "mic": {"audio": "a.wav", "stream": "mic1"},
        }
    }
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc))
    media = MediaIndex.from_pipeline(path)
    assert list(media.streams) == ["cam"]
    assert media.start_time("cam") == pytest.approx(truth["start_time"])


# -- the router --------------------------------------------------------------------------------


def test_frames_router(
    street_world: StreetFixture,
    street_media: MediaIndex,
    frames: list[Frame],
) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from senri.api.frames import frames_router

    app = FastAPI()
    app.include_router(frames_router(street_media))
    client = TestClient(app)
    _, truth = street_world
    t = frames[12].ts
    r = client.get(f"/frames/{STREAM}.jpg", params={"t": t})
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert decoded(r.content).shape == (180, 320, 3)
    r = client.get(
        f"/frames/{STREAM}.jpg", params={"t": t, "x1": 10, "y1": 20, "x2": 200, "y2": 120}
    )
    assert r.status_code == 200 and decoded(r.content).shape == (180, 320, 3)
    r = client.get(f"/frames/{STREAM}/{t}.jpg", params={"max_side": 64})
    assert r.status_code == 200 and decoded(r.content).shape == (36, 64, 3)
    for url, params, status in [
        ("/frames/cam9.jpg", {"t": t}, 404),
        (f"/frames/{STREAM}.jpg", {"t": truth["start_time"] + 1000}, 404),
        (f"/frames/{STREAM}.jpg", {}, 422),
        (f"/frames/{STREAM}.jpg", {"t": "soon"}, 422),
        (f"/frames/{STREAM}.jpg", {"t": "nan"}, 422),
        (f"/frames/{STREAM}.jpg", {"t": t, "x1": 5}, 422),
        (f"/frames/{STREAM}.jpg", {"t": t, "x1": 50, "y1": 0, "x2": 10, "y2": 9}, 422),
        (f"/frames/{STREAM}.jpg", {"t": t, "max_side": 5}, 422),
    ]:
        got = client.get(url, params=params)
        assert got.status_code == status, (url, params, got.text)
