"""``POST /ask`` and ``POST /vqa`` over a generated archive, uploads and archived frames.

The archive is `senri.worlds.archive.generate(7)` in a SQLite store; every expected answer is
computed here from the archive's truth (tracks, utterances, sounds), never by the engine.
Uploaded pictures come from the street world (`senri.worlds.street`, seed 7) and are
described by the real vision models; its truth file says what each frame shows.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from senri.api.app import create_app
from senri.ask.frame import FramePerception, MediaIndex
from senri.ask.vocab import Vocabulary
from senri.indexes.events.sqlite import SqliteEventStore
from senri.records import Event
from senri.worlds import archive as arc
from senri.worlds import street
from tests.unit.conftest import StreetFixture

pytestmark = pytest.mark.unit

STREET = street.STREAM_ID
YESTERDAY = (arc.START + 2 * arc.DAY, arc.START + 3 * arc.DAY)  # 26 Nov, as now is 27 Nov 18:00


# -- truth ---------------------------------------------------------------------------------


def tracks_of(
    archive: arc.Archive, stream: str, label: str, window: tuple[float, float] | None = None
) -> list[arc.Track]:
    lo, hi = window or (-np.inf, np.inf)
    return [
        t
        for t in archive.truth.tracks
        if t.stream == stream and t.label == label and lo <= t.start < hi
    ]


def sounds_of(archive: arc.Archive, stream: str, label: str) -> list[arc.Sound]:
    return [s for s in archive.truth.sounds if s.stream == stream and s.label == label]


def said_during(archive: arc.Archive, stream: str, label: str) -> list[str]:
    """What the microphone heard said while a `label` sound was sounding."""
    spans = sounds_of(archive, stream, label)
    return sorted(
        {
            u.text
            for u in archive.truth.utterances
            if u.stream == stream and any(s.start <= u.start <= s.end for s in spans)
        }
    )


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive() -> arc.Archive:
    return arc.generate(7)


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary()


@pytest.fixture(scope="module")
def store_path(archive: arc.Archive, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ask") / "archive.sqlite"
    store = SqliteEventStore(path)
    try:
        arc.store_archive(archive, store)
    finally:
        store.close()
    return path


@pytest.fixture(scope="module")
def client(archive: arc.Archive, store_path: Path, vocab: Vocabulary) -> Iterator[TestClient]:
    app = create_app(store=f"sqlite:{store_path}", places=archive.places, vocab=vocab)
    with TestClient(app) as c:
        yield c


def both_visible(truth: dict[str, Any]) -> int:
    """The middle frame where a person and a motorcycle are both fully inside the picture."""
    full = {o["id"]: {r[0] for r in o["frames"] if r[5]} for o in truth["objects"]}
    people = [o for o in truth["objects"] if o["label"] == "person"]
    bikes = [o for o in truth["objects"] if o["label"] == "motorcycle"]
    for person in people:
        for bike in bikes:
            shared = sorted(full[person["id"]] & full[bike["id"]])
            if shared:
                return shared[len(shared) // 2]
    raise AssertionError("the street world shows no person beside a motorcycle")


def in_frame(truth: dict[str, Any], index: int, label: str) -> list[dict[str, Any]]:
    """The objects of `label` drawn (fully or partly) in frame `index`."""
    return [
        o
        for o in truth["objects"]
        if o["label"] == label and any(r[0] == index for r in o["frames"])
    ]


def png(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()


def ask(client: TestClient, question: str, **extra: Any) -> dict[str, Any]:
    r = client.post("/ask", json={"question": question, **extra})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# -- POST /ask: answers --------------------------------------------------------------------


def test_count_equals_the_truth(client: TestClient, archive: arc.Archive) -> None:
    body = ask(client, "how many trucks on cam4 yesterday?")
    expected = len(tracks_of(archive, "cam4", "truck", YESTERDAY))
    assert expected > 0
    assert body["refused"] is False and body["type"] == "count"
    assert body["short"] == str(expected) and body["value"] == expected
    assert isinstance(body["plan"], dict) and body["plan"]
    assert body["evidence"]
    for e in body["evidence"]:
        assert e["stream_id"] == "cam4" and e["label"] == "truck"
        assert YESTERDAY[0] <= e["time"] < YESTERDAY[1]
        assert e["thumbnail"] is None  # no media configured
    assert 0.0 < body["confidence"] <= 1.0


def test_count_by_place_name(client: TestClient, archive: arc.Archive) -> None:
    body = ask(client, "how many people at the entrance yesterday?")
    expected = len(tracks_of(archive, "cam1", "person", YESTERDAY))
    assert body["short"] == str(expected)
    assert {e["stream_id"] for e in body["evidence"]} == {"cam1"}


@pytest.mark.parametrize(("mic", "label"), [("mic1", "siren"), ("mic2", "siren")])
def test_was_a_sound_heard(client: TestClient, archive: arc.Archive, mic: str, label: str) -> None:
    body = ask(client, f"was a {label} heard on {mic}?")
    spans = sounds_of(archive, mic, label)
    assert body["type"] == "exists"
    assert body["short"] == ("yes" if spans else "no")
    if spans:
        assert {(e["stream_id"], e["time"]) for e in body["evidence"]} <= {
            (s.stream, s.start) for s in spans
        }
        assert all(e["kind"] == "sound" and e["label"] == label for e in body["evidence"])


def test_what_was_said_while_the_siren_sounded(client: TestClient, archive: arc.Archive) -> None:
    body = ask(client, "what was said on mic 1 when the siren sounded?")
    expected = said_during(archive, "mic1", "siren")
    assert expected, "seed 7 has a siren on mic1 with someone speaking"
    assert body["refused"] is False
    assert sorted(body["value"]) == expected
    assert body["short"] == ", ".join(expected)
    said = [e for e in body["evidence"] if e["kind"] == "transcript"]
    partners = body["evidence"][len(said) :]  # then the sirens it was said around
    assert said and all(e["stream_id"] == "mic1" for e in said)
    assert partners and all(e["label"] == "siren" for e in partners)


def test_now_moves_yesterday(client: TestClient, archive: arc.Archive) -> None:
    # with the clock a day earlier, "yesterday" is 25 Nov
    body = ask(client, "how many trucks on cam4 yesterday?", now=archive.now - arc.DAY)
    day = (arc.START + arc.DAY, arc.START + 2 * arc.DAY)
    assert body["short"] == str(len(tracks_of(archive, "cam4", "truck", day)))


def test_tz_moves_yesterday(client: TestClient, archive: arc.Archive) -> None:
    # 18:00 UTC on 27 Nov is 03:00 on 28 Nov in Tokyo, where "yesterday" is 27 Nov: from
    # 15:00 UTC on the 26th to 15:00 UTC on the 27th
    body = ask(client, "how many trucks on cam4 yesterday?", tz="Asia/Tokyo")
    day = (arc.START + 3 * arc.DAY - 9 * 3600, arc.START + 4 * arc.DAY - 9 * 3600)
    assert body["short"] == str(len(tracks_of(archive, "cam4", "truck", day)))
    bad = client.post("/ask", json={"question": "how many trucks?", "tz": "Mars/Olympus"})
    assert bad.status_code == 422 and "time zone" in bad.json()["detail"]


def test_colour_of_the_last_car(client: TestClient, archive: arc.Archive) -> None:
    last = tracks_of(archive, "cam3", "car")[-1]
    assert (
        ask(client, "what colour was the last car on cam3?")["short"] == last.attributes["colour"]
    )


# -- POST /ask: refusals and bad requests ----------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "what is the weather like?",
        "how many cars on camera 9?",
        "who will win the election?",
        "how many people at the gatehouse yesterday?",
    ],
)
def test_unanswerable_is_a_200_refusal(client: TestClient, question: str) -> None:
    body = ask(client, question)
    assert body["refused"] is True and body["short"] == "unanswerable"
    assert body["type"] == "refuse" and body["answer"] and body["evidence"] == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "question"),
        ({"question": ""}, "question"),
        ({"question": "   "}, "question"),
        ({"question": 42}, "question"),
        ({"question": ["how many cars?"]}, "question"),
        ({"question": {"query": {"match_all": {}}}}, "question"),
        (["how many cars?"], "object"),
        ("how many cars?", "object"),
        (None, "object"),
        ({"question": "how many cars?", "size": 10000}, "unknown field"),
        ({"question": "how many cars?", "now": "yesterday"}, "now"),
        ({"question": "how many cars?", "now": True}, "now"),
        ({"question": "how many cars?", "now": [1]}, "now"),
        ({"question": "x" * 5000}, "longer than"),
    ],
)
def test_bad_ask_requests_are_422(client: TestClient, body: Any, needle: str) -> None:
    r = client.post("/ask", json=body)
    assert r.status_code == 422, r.text
    assert needle in str(r.json()["detail"])


@pytest.mark.parametrize(
    "raw",
    [b'{"question": "how many cars?"', b"not json", b'{"question": "x", "now": NaN}', b"\xff\xfe"],
)
def test_invalid_json_is_422(client: TestClient, raw: bytes) -> None:
    r = client.post("/ask", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text


def test_infinite_now_is_422(client: TestClient) -> None:
    raw = b'{"question": "how many cars?", "now": 1e999}'
    r = client.post("/ask", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "now" in r.json()["detail"]


@pytest.mark.parametrize("now", [1e300, -1e300, 1e18])
def test_a_now_no_calendar_reaches_is_422(client: TestClient, now: float) -> None:
    """Finite but past any date (an OverflowError in the time parser before)."""
    r = client.post("/ask", json={"question": "what happened today?", "now": now})
    assert r.status_code == 422, r.text
    assert "now" in r.json()["detail"] and "out of range" in r.json()["detail"]


def test_huge_body_is_413(client: TestClient) -> None:
    r = client.post("/ask", json={"question": "how many cars? " * 3000})
    assert r.status_code == 413, r.text


@pytest.mark.parametrize(
    "question",
    [
        "how many " + "cars and " * 170 + "trucks?",  # over the parser's limit, under the API's
        json.dumps({"query": {"match_all": {}}}),
        "'; DROP TABLE events; --",
        "how many trucks on cam4'; DROP TABLE events; --",
        "<script>alert(1)</script>",
        "how many * on cam4?",
        "label:truck OR 1=1",
        "\x00\x01 how many cars",
    ],
)
def test_hostile_questions_leave_the_store_intact(
    client: TestClient, archive: arc.Archive, question: str
) -> None:
    before = ask(client, "how many trucks on cam4 yesterday?")["short"]
    body = ask(client, question)
    assert isinstance(body["short"], str) and body["short"]
    if body["refused"]:
        assert body["short"] == "unanswerable"
    assert "<script>" not in body["answer"] or body["refused"]
    after = ask(client, "how many trucks on cam4 yesterday?")["short"]
    assert before == after == str(len(tracks_of(archive, "cam4", "truck", YESTERDAY)))


# -- no store --------------------------------------------------------------------------------


def test_without_a_store_ask_and_events_are_503(vocab: Vocabulary) -> None:
    with TestClient(create_app(vocab=vocab)) as c:
        r = c.post("/ask", json={"question": "how many cars?"})
        assert r.status_code == 503 and "store" in r.json()["detail"]
        r = c.get("/events")
        assert r.status_code == 503 and "store" in r.json()["detail"]
        # a bad request is still a 422, before the store is needed
        assert c.post("/ask", json={"question": 1}).status_code == 422


# -- POST /vqa on an archived frame ----------------------------------------------------------


def busiest_car_frame(archive: arc.Archive) -> tuple[str, float, int]:
    """The (stream, time, cars) of an archived frame of tracked cars, preferring several."""
    per_frame: dict[tuple[str, float], int] = {}
    for e in archive.events:
        if e.kind == "object" and e.label == "car" and e.track_id is not None:
            per_frame[(e.stream_id, e.time)] = per_frame.get((e.stream_id, e.time), 0) + 1
    (stream, t), n = max(per_frame.items(), key=lambda kv: (kv[1], -kv[0][1]))
    return stream, t, n


def frame_truth(archive: arc.Archive, stream: str, t: float) -> list[Event]:
    return [e for e in archive.events if e.stream_id == stream and e.time == t]


def test_vqa_on_an_archived_frame(client: TestClient, archive: arc.Archive) -> None:
    stream, t, _ = busiest_car_frame(archive)
    frame = frame_truth(archive, stream, t)
    cars = sum(1 for e in frame if e.kind == "object" and e.label == "car")
    r = client.post(
        "/vqa", data={"question": "how many cars are there?", "stream": stream, "time": t}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "archive" and body["frame_time"] == t
    assert body["short"] == str(cars)
    assert {e["stream_id"] for e in body["evidence"]} == {stream}
    # a moment 0.3 s off still finds the frame
    r = client.post("/vqa", data={"question": "is there a car?", "stream": stream, "time": t + 0.3})
    assert r.status_code == 200 and r.json()["short"] == "yes"
    # a label absent from that frame
    absent = next(
        lab for lab in ("bus", "dog", "bicycle", "truck") if all(e.label != lab for e in frame)
    )
    r = client.post("/vqa", data={"question": f"is there a {absent}?", "stream": stream, "time": t})
    assert r.status_code == 200 and r.json()["short"] == "no"


def test_vqa_colour_of_an_archived_car(client: TestClient, archive: arc.Archive) -> None:
    # a frame with exactly one car: its colour is the track's
    singles = [
        e
        for e in archive.events
        if e.kind == "object"
        and e.label == "car"
        and e.track_id is not None
        and sum(1 for o in frame_truth(archive, e.stream_id, e.time) if o.kind == "object") == 1
    ]
    e = singles[len(singles) // 2]
    (track,) = [
        t for t in archive.truth.tracks if t.stream == e.stream_id and t.track_id == e.track_id
    ]
    r = client.post(
        "/vqa",
        data={"question": "what colour is the car?", "stream": e.stream_id, "time": e.time},
    )
    assert r.status_code == 200, r.text
    assert r.json()["short"] == track.attributes["colour"]


def test_vqa_time_with_no_frame_is_404(client: TestClient, archive: arc.Archive) -> None:
    r = client.post(
        "/vqa", data={"question": "how many cars?", "stream": "cam3", "time": arc.START - 3600}
    )
    assert r.status_code == 404, r.text
    r = client.post("/vqa", data={"question": "how many cars?", "stream": "cam99", "time": arc.NOW})
    assert r.status_code == 404, r.text


def test_vqa_needs_exactly_one_of_image_and_stream(client: TestClient) -> None:
    image = png(np.zeros((32, 32, 3), np.uint8))
    r = client.post("/vqa", data={"question": "how many cars?"})
    assert r.status_code == 422 and "either" in r.json()["detail"]
    r = client.post(
        "/vqa",
        data={"question": "how many cars?", "stream": "cam3", "time": str(arc.NOW)},
        files={"image": ("f.png", io.BytesIO(image), "image/png")},
    )
    assert r.status_code == 422 and "either" in r.json()["detail"]
    r = client.post("/vqa", data={"question": "how many cars?", "stream": "cam3"})
    assert r.status_code == 422  # a stream without a time
    r = client.post("/vqa", data={"stream": "cam3", "time": str(arc.NOW)})
    assert r.status_code == 422  # no question


# -- POST /vqa with an uploaded picture ------------------------------------------------------


@pytest.fixture(scope="module")
def vqa_client(
    vocab: Vocabulary, frame_perception: FramePerception, street_media: MediaIndex
) -> Iterator[TestClient]:
    with TestClient(create_app(vocab=vocab, perception=frame_perception, media=street_media)) as c:
        yield c


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how many people are there?", "people"),
        ("is there a motorcycle?", "yes"),
        ("is there a person?", "yes"),
        ("is there a bus?", "no"),
        ("how many motorcycles are there?", "motorcycles"),
    ],
)
def test_vqa_on_an_uploaded_street_frame(
    vqa_client: TestClient,
    street_world: StreetFixture,
    street_media: MediaIndex,
    question: str,
    expected: str,
) -> None:
    _, truth = street_world
    i = both_visible(truth)
    rgb, _ = street_media.frame(STREET, truth["start_time"] + i / truth["fps"])
    if expected == "people":
        expected = str(len(in_frame(truth, i, "person")))
    elif expected == "motorcycles":
        expected = str(len(in_frame(truth, i, "motorcycle")))
    r = vqa_client.post(
        "/vqa",
        data={"question": question},
        files={"image": ("frame.png", io.BytesIO(png(rgb)), "image/png")},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "image" and body["refused"] is False
    assert body["short"] == expected, body["answer"]


def test_vqa_refuses_sound_questions_about_a_picture(
    vqa_client: TestClient,
    street_world: StreetFixture,
    street_media: MediaIndex,
) -> None:
    _, truth = street_world
    rgb, _ = street_media.frame(STREET, truth["start_time"] + both_visible(truth) / truth["fps"])
    r = vqa_client.post(
        "/vqa",
        data={"question": "was a siren heard?"},
        files={"image": ("frame.png", io.BytesIO(png(rgb)), "image/png")},
    )
    assert r.status_code == 200 and r.json()["short"] in ("unanswerable", "no")


@pytest.mark.parametrize("shape", [(2, 3000, 3), (3000, 2, 3), (1, 1, 3)])
def test_vqa_answers_or_rejects_a_sliver_of_an_image(
    vqa_client: TestClient, shape: tuple[int, int, int]
) -> None:
    """A picture too thin to look at is bad input (4xx with the reason) or an answer, not 503."""
    rgb = np.full(shape, 128, np.uint8)
    r = vqa_client.post(
        "/vqa",
        data={"question": "how many cars?"},
        files={"image": ("thin.png", io.BytesIO(png(rgb)), "image/png")},
    )
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert "px" in r.json()["detail"]


def test_vqa_rejects_a_non_image_upload(vqa_client: TestClient) -> None:
    r = vqa_client.post(
        "/vqa",
        data={"question": "how many cars?"},
        files={"image": ("f.txt", io.BytesIO(b"hello"), "text/plain")},
    )
    assert r.status_code == 415, r.text
    r = vqa_client.post(
        "/vqa",
        data={"question": "how many cars?"},
        files={"image": ("f.png", io.BytesIO(b"not a png"), "image/png")},
    )
    assert r.status_code == 415 and "not image/png" in r.json()["detail"]


# -- thumbnails of evidence ------------------------------------------------------------------


def test_evidence_thumbnails_are_served_frames(
    street_world: StreetFixture,
    street_media: MediaIndex,
    vocab: Vocabulary,
    tmp_path: Path,
) -> None:
    _, truth = street_world
    i = both_visible(truth)
    t = round(truth["start_time"] + i / truth["fps"], 3)
    events = [
        Event(
            id=Event.make_id(STREET, i, "object", o["id"]),
            stream_id=STREET,
            time=t,
            kind="object",
            label=o["label"],
            confidence=0.9,
            track_id=o["id"],
            bbox=tuple(float(v) for v in row[1:5]),  # type: ignore[arg-type]
        )
        for o in truth["objects"]
        for row in o["frames"]
        if row[0] == i
    ]
    path = tmp_path / "street.sqlite"
    store = SqliteEventStore(path)
    store.put(events)
    store.flush()
    store.close()
    people = sum(1 for e in events if e.label == "person")
    app = create_app(store=f"sqlite:{path}", media=street_media, vocab=vocab)
    with TestClient(app) as c:
        body = ask(c, "how many people were seen?")
        assert body["short"] == str(people)
        assert body["evidence"]
        for e in body["evidence"]:
            url = e["thumbnail"]
            assert isinstance(url, str) and url.startswith(f"/frames/{STREET}")
            r = c.get(url)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "image/jpeg"
            picture = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
            assert picture is not None and max(picture.shape[:2]) <= 320
        # structured search lists the same pictures
        found = c.get("/events", params={"stream": STREET, "label": "person"}).json()
        assert found["events"] and all(
            c.get(e["thumbnail"]).status_code == 200 for e in found["events"]
        )
        # a stream the server has no video for gets no thumbnail and no frame
        assert c.get("/frames/cam9.jpg", params={"t": t}).status_code == 404


def test_web_page_is_served_offline_and_its_script_parses(tmp_path: Path) -> None:
    import re
    import shutil
    import subprocess

    page = TestClient(create_app(vocab=Vocabulary())).get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html)  # nothing from elsewhere
    for route in ('"/ask"', '"/vqa"', '"/similar"'):
        assert route in html
    assert ".innerHTML" not in html  # server text is shown with textContent only
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("no node to parse the page's script with")
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    path = tmp_path / "page.js"
    path.write_text(script)
    check = subprocess.run([node, "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
