"""The routes behind the web page's timeline: streams, one stream's lanes, what happened around."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from senri.api.app import create_app
from senri.indexes.events.sqlite import SqliteEventStore
from senri.records import Event

pytestmark = pytest.mark.unit
T0 = 1_767_261_600.0


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    store = SqliteEventStore(tmp_path / "events.sqlite")
    colours = ["red", "red", "blue"]  # track 1 is red by majority, one frame says blue
    store.put(
        [Event(f"c{i}", "cam1", T0 + i, "object", "car", 0.9, track_id=1,
               attributes={"colour": colours[i]}) for i in range(3)]
        + [Event("p0", "cam1", T0 + 50, "object", "person", 0.8, track_id=2)]
        + [Event("s0", "mic1", T0 + 1.5, "transcript", "speech", 0.7, end_time=T0 + 4,
                 text="the red car stopped")]
        + [Event("h0", "mic1", T0 + 300, "sound", "siren", 0.6, end_time=T0 + 302)]
    )  # fmt: skip
    store.close()
    return TestClient(create_app(store=f"sqlite:{tmp_path / 'events.sqlite'}"))


def test_streams_say_their_span_and_kinds(client: TestClient) -> None:
    got = client.get("/streams").json()["streams"]
    assert [s["stream_id"] for s in got] == ["cam1", "mic1"]
    assert got[0] | {"kinds": None} == {"stream_id": "cam1", "events": 4, "first": T0,
                                        "last": T0 + 50, "kinds": None}  # fmt: skip
    assert got[1]["kinds"] == {"transcript": 1, "sound": 1}


def test_a_stream_draws_one_bar_per_track_and_one_per_span(client: TestClient) -> None:
    cam = client.get("/timeline/cam1", params={"start": T0, "end": T0 + 60}).json()
    assert [(t["track_id"], t["label"], t["colour"], t["events"]) for t in cam["tracks"]] == [
        (1, "car", "red", 3), (2, "person", None, 1)]  # fmt: skip
    assert (cam["tracks"][0]["start"], cam["tracks"][0]["end"]) == (T0, T0 + 2)
    assert cam["spans"] == [] and cam["truncated"] is False
    mic = client.get("/timeline/mic1", params={"start": T0 + 3, "end": T0 + 10}).json()
    assert [s["event_id"] for s in mic["spans"]] == ["s0"]  # a span overlapping the window
    assert mic["spans"][0]["end"] == T0 + 4
    latest = client.get("/timeline/mic1").json()  # no window: the last hour of the stream
    assert latest["end"] == T0 + 300 and {s["event_id"] for s in latest["spans"]} == {"s0", "h0"}


def test_around_a_moment_lists_every_streams_partners(client: TestClient) -> None:
    near = client.get("/around", params={"t": T0 + 2, "window": 3}).json()
    assert [t["track_id"] for t in near["tracks"]] == [1]
    assert [s["event_id"] for s in near["spans"]] == ["s0"]
    assert client.get("/around", params={"t": T0 + 200}).json()["tracks"] == []


BAD = ["/timeline/cam1?start=nan", "/timeline/cam1?start=10&end=5", "/around?t=1e300",
       "/around?t=1&window=0"]  # fmt: skip


@pytest.mark.parametrize("url", BAD)
def test_bad_windows_are_422(client: TestClient, url: str) -> None:
    assert client.get(url).status_code == 422


def test_without_an_archive_or_kafka_the_routes_say_so() -> None:
    c = TestClient(create_app())
    r = c.get("/streams")
    assert r.status_code == 503 and "no event store" in r.json()["detail"]
    assert c.get("/status").status_code == 404  # served only with `senri serve --bus`
