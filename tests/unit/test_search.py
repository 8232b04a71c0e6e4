"""Structured search (`senri.search.events`), its HTTP routes and `senri search`.

Each request runs on the in-memory reference store and on SQLite and must give the same,
hand-checked answer; hostile input is refused or matched literally, never run as query text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from senri.api.events import events_router
from senri.errors import QueryError, StoreError
from senri.indexes.events import query as q
from senri.indexes.events.sqlite import SqliteEventStore
from senri.indexes.events.store import EventStore, MemoryEventStore
from senri.records import Event
from senri.search import events as search_module
from senri.search.events import (
    SearchRequest,
    compile_filter,
    iso,
    parse_attribute,
    parse_time,
    run_search,
)
from senri.search.events_cli import search

pytestmark = pytest.mark.unit

T0 = 1_767_261_600.0  # 2026-01-01T10:00:00Z


@pytest.fixture(autouse=True)
def _few_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The archive spans two hours: 1-second buckets (7201) must be too many."""
    monkeypatch.setattr(search_module, "MAX_BUCKETS", 1000)


def archive() -> list[Event]:
    """Two cameras whose track ids overlap (1 and 2 on both) and a microphone."""
    return [
        Event("a1", "cam1", T0, "object", "car", 0.9, track_id=1,
              attributes={"colour": "red", "parked": False, "speed": 30}),
        Event("a2", "cam1", T0 + 1, "object", "car", 0.8, track_id=1,
              attributes={"colour": "red", "parked": False, "speed": 31.5}),
        Event("a3", "cam1", T0 + 10, "object", "car", 0.6, track_id=2,
              attributes={"colour": "blue", "parked": True, "speed": 0}),
        Event("a4", "cam1", T0 + 3600, "object", "person", 0.95, track_id=3,
              attributes={"upper": "red"}),
        Event("b1", "cam2", T0 + 5, "object", "car", 0.7, track_id=1,
              attributes={"colour": "white", "parked": True}),
        Event("b2", "cam2", T0 + 7200, "object", "truck", 0.85, track_id=2,
              attributes={"colour": "red"}),
        Event("b3", "cam2", T0 + 20, "object", "person", 0.3),
        Event("m1", "mic1", T0 + 30, "speech", "speech", 0.99, end_time=T0 + 33,
              text="The red car drove past, OR 1=1"),
        Event("m2", "mic1", T0 + 40, "speech", "speech", 0.9, end_time=T0 + 41,
              text="nothing to see here"),
    ]  # fmt: skip


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    s: EventStore = (
        MemoryEventStore() if request.param == "memory" else SqliteEventStore(tmp_path / "e.db")
    )
    s.put(archive())
    yield s
    s.close()


def ids(store: EventStore, data: dict[str, Any]) -> list[str]:
    return [e.event_id for e in run_search(store, SearchRequest.from_mapping(data)).events]


# ---- filters ------------------------------------------------------------------------------

FILTER_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["a1", "a2", "b1", "a3", "b3", "m1", "m2", "a4", "b2"]),
    ({"streams": "cam2"}, ["b1", "b3", "b2"]),
    ({"streams": ["cam2", "mic1"]}, ["b1", "b3", "m1", "m2", "b2"]),
    ({"start": T0 + 5, "end": T0 + 30}, ["b1", "a3", "b3"]),  # end is exclusive
    ({"start": "2026-01-01T11:00"}, ["a4", "b2"]),
    ({"start": "2026-01-01T12:00+01:00", "end": str(T0 + 3601)}, ["a4"]),
    ({"end": "2026-01-01T10:00:01Z"}, ["a1"]),
    ({"kinds": ["speech"]}, ["m1", "m2"]),
    ({"labels": ["truck", "person"]}, ["b3", "a4", "b2"]),
    ({"attributes": {"colour": "red"}}, ["a1", "a2", "b2"]),
    ({"attributes": {"colour": ["white", "blue"]}}, ["b1", "a3"]),
    ({"attributes": {"colour": "red", "speed": 30}}, ["a1"]),
    ({"attributes": ["speed=31.5"]}, ["a2"]),
    ({"attributes": ["speed=0"]}, ["a3"]),
    ({"attributes": ["parked=true"]}, ["b1", "a3"]),
    ({"attributes": ["parked=false", "colour=red"]}, ["a1", "a2"]),
    ({"attributes": {"parked": True}}, ["b1", "a3"]),
    ({"text": "red car"}, ["m1"]),
    ({"text": "RED"}, ["m1"]),
    ({"text": "red truck"}, []),
    ({"min_confidence": 0.9}, ["a1", "m1", "m2", "a4"]),
    ({"min_confidence": "0.85", "streams": ["cam2"]}, ["b2"]),
    ({"tracked_only": True, "streams": "cam2"}, ["b1", "b2"]),
    ({"tracked_only": "false", "streams": "cam2"}, ["b1", "b3", "b2"]),
    ({"streams": ["cam1"], "limit": 2}, ["a1", "a2"]),
    ({"streams": ["cam1"], "limit": "2", "offset": "1"}, ["a2", "a3"]),
    ({"streams": ["cam1"], "order": "desc", "limit": 2}, ["a4", "a3"]),
    ({"labels": ["car"], "streams": ["cam1"], "start": T0 + 1}, ["a2", "a3"]),
]


@pytest.mark.parametrize(("data", "expected"), FILTER_CASES)
def test_filters(store: EventStore, data: dict[str, Any], expected: list[str]) -> None:
    assert ids(store, data) == expected
    total = run_search(store, SearchRequest.from_mapping(data)).total
    if "limit" not in data:
        assert total == len(expected)


def test_compile_filter_builds_typed_objects() -> None:
    req = SearchRequest.from_mapping(
        {
            "streams": ["cam1", "cam2"],
            "start": T0,
            "kinds": "object",
            "labels": ["car"],
            "attributes": ["colour=red", "colour=blue"],
            "text": "hello",
            "min_confidence": 0.5,
            "tracked_only": True,
        }
    )
    assert compile_filter(req) == q.And(
        q.In("stream_id", ("cam1", "cam2")),
        q.Range("time", gte=T0),
        q.Eq("kind", "object"),
        q.Eq("label", "car"),
        q.In("attributes.colour", ("red", "blue")),
        q.Text("hello"),
        q.Range("confidence", gte=0.5),
        q.Exists("track_id"),
    )
    assert compile_filter(SearchRequest()) is None
    assert compile_filter(SearchRequest(labels=("car",))) == q.Eq("label", "car")


def test_parsers() -> None:
    assert parse_time("start", "2026-01-01T10:00") == T0
    assert parse_time("start", "2026-01-01T11:00+01:00") == T0
    assert parse_time("start", str(T0)) == T0
    assert parse_time("start", None) is None
    assert iso(T0) == "2026-01-01T10:00:00.000Z"
    assert parse_attribute("n=3") == ("n", ("3", 3))
    assert parse_attribute("n=2.5") == ("n", ("2.5", 2.5))
    assert parse_attribute("ok=TRUE") == ("ok", (True,))
    assert parse_attribute("note=a=b") == ("note", ("a=b",))


# ---- aggregations -------------------------------------------------------------------------


def test_count_only(store: EventStore) -> None:
    result = run_search(store, SearchRequest.from_mapping({"labels": "car", "aggregate": "count"}))
    assert (result.total, result.events, result.buckets) == (4, (), ())


def test_tracks_are_counted_per_stream(store: EventStore) -> None:
    """Track 1 on cam1 and track 1 on cam2 are two tracks; untracked events count none."""
    result = run_search(store, SearchRequest(aggregate="tracks"))
    assert result.tracks == 5
    assert [(b.key, b.count) for b in result.buckets] == [("cam1", 3), ("cam2", 2)]
    cars = run_search(store, SearchRequest(labels=("car",), aggregate="tracks"))
    assert cars.tracks == 3
    assert cars.total == 4
    red = run_search(store, SearchRequest.from_mapping({"attributes": ["colour=red"],
                                                        "aggregate": "tracks"}))  # fmt: skip
    assert red.tracks == 2  # cam1 track 1 and cam2 track 2
    none = run_search(store, SearchRequest(kinds=("speech",), aggregate="tracks"))
    assert (none.tracks, none.buckets) == (0, ())


def test_histogram(store: EventStore) -> None:
    result = run_search(store, SearchRequest(aggregate="histogram", interval=3600))
    assert [(b.key, b.count) for b in result.buckets] == [(T0, 7), (T0 + 3600, 1), (T0 + 7200, 1)]
    d = result.to_dict()
    assert d["buckets"][0] == {"key": T0, "count": 7, "key_iso": "2026-01-01T10:00:00.000Z"}
    small = run_search(store, SearchRequest(streams=("cam1",), aggregate="histogram", interval=10))
    assert [(b.key, b.count) for b in small.buckets] == [(T0, 2), (T0 + 10, 1), (T0 + 3600, 1)]


def test_histogram_with_too_many_buckets_is_refused(store: EventStore) -> None:
    with pytest.raises(QueryError, match="interval: 1s would make 7201 buckets"):
        run_search(store, SearchRequest(aggregate="histogram", interval=1))


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        ("label", [("car", 4), ("person", 2), ("speech", 2), ("truck", 1)]),
        ("stream_id", [("cam1", 4), ("cam2", 3), ("mic1", 2)]),
        ("attributes.colour", [("red", 3), ("blue", 1), ("white", 1)]),
    ],
)
def test_terms(store: EventStore, group_by: str, expected: list[tuple[str, int]]) -> None:
    result = run_search(store, SearchRequest.from_mapping({"group_by": group_by}))
    assert result.request.aggregate == "terms"
    assert [(b.key, b.count) for b in result.buckets] == expected
    top = run_search(store, SearchRequest(aggregate="terms", group_by=group_by, limit=1))
    assert [(b.key, b.count) for b in top.buckets] == expected[:1]


def test_result_to_dict_is_json(store: EventStore) -> None:
    result = run_search(store, SearchRequest.from_mapping({"kinds": ["speech"], "limit": 1}))
    d = json.loads(json.dumps(result.to_dict()))
    assert d["total"] == 2
    (event,) = d["events"]
    assert event["event_id"] == "m1"
    assert event["time_iso"] == "2026-01-01T10:00:30.000Z"
    assert event["end_time_iso"] == "2026-01-01T10:00:33.000Z"
    assert d["request"]["kinds"] == ["speech"]
    assert d["tracks"] is None


# ---- validation and hostile input -----------------------------------------------------------

BAD_REQUESTS: list[tuple[Any, str]] = [
    ({"stream": "cam1"}, r"unknown field\(s\) 'stream'"),
    ({"labels": [{"match_all": {}}]}, "labels: expected a string, got dict"),
    ({"labels": {"match_all": {}}}, "labels: expected a string or a list of strings"),
    ({"streams": [""]}, "streams: values must be 1..256 characters"),
    ({"streams": ["x"] * 101}, "streams: at most 100 values"),
    ({"kinds": "x" * 300}, "kinds: values must be 1..256"),
    ({"start": "yesterday"}, "start: 'yesterday' is neither epoch seconds nor ISO 8601"),
    ({"end": True}, "end: expected a time"),
    ({"start": float("nan")}, "start: nan is out of range"),
    ({"start": T0 + 10, "end": T0}, r"start \(2026-01-01T10:00:10.000Z\) is after end"),
    ({"attributes": {"a.b": 1}}, "attributes: name 'a.b' must be letters"),
    ({"attributes": {"colour[0]": "red"}}, "attributes: name 'colour\\[0\\]' must be letters"),
    ({"attributes": {"x') OR 1=1 --": "red"}}, "attributes: name .* must be letters"),
    ({"attributes": ["colour"]}, "attributes: expected name=value"),
    ({"attributes": 5}, "attributes: expected an object"),
    ({"attributes": {"colour": {"$ne": 1}}}, "attributes.colour: values must be strings"),
    ({"attributes": {"colour": []}}, "attributes.colour: give 1..100 values"),
    ({"attributes": {"n": float("inf")}}, "attributes.n: values must be finite"),
    ({"attributes": {f"a{i}": 1 for i in range(21)}}, "attributes: at most 20 names"),
    ({"text": "!!! ---"}, "text: needs at least one word"),
    ({"text": ["red"]}, "text: expected a string"),
    ({"text": "w " * 600}, "text: at most 1000 characters"),
    ({"min_confidence": 1.5}, "min_confidence: must be within 0..1"),
    ({"min_confidence": "high"}, "min_confidence: expected a number"),
    ({"tracked_only": "maybe"}, "tracked_only: expected true or false"),
    ({"aggregate": "sum"}, "aggregate: must be one of none, count, tracks, histogram, terms"),
    ({"aggregate": "terms"}, "group_by: required when aggregate is terms"),
    ({"aggregate": "count", "group_by": "label"}, "group_by: only with aggregate terms"),
    ({"group_by": "text"}, "group_by: cannot group by text"),
    ({"group_by": "attributes.a.b"}, "group_by: unknown field"),
    ({"group_by": "label; DROP TABLE events"}, "group_by: unknown field"),
    ({"interval": 0.5}, "interval: must be within 1.."),
    ({"limit": 10**9}, "limit: must be within 1..1000; got 1000000000"),
    ({"limit": 0}, "limit: must be within 1..1000"),
    ({"limit": "ten"}, "limit: expected an integer, got 'ten'"),
    ({"limit": 1.5}, "limit: expected an integer"),
    ({"limit": True}, "limit: expected an integer"),
    ({"offset": -1}, "offset: must be within 0..10000"),
    ({"offset": 10**12}, "offset: must be within 0..10000"),
    ({"order": "random()"}, "order: must be asc or desc"),
    (["labels"], "the request must be a JSON object"),
]


@pytest.mark.parametrize(("data", "message"), BAD_REQUESTS)
def test_bad_requests_name_the_field(data: Any, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        SearchRequest.from_mapping(data)


def test_direct_construction_is_checked_too() -> None:
    with pytest.raises(QueryError, match="limit"):
        SearchRequest(limit=5000)
    with pytest.raises(QueryError, match="labels"):
        SearchRequest(labels=({"match_all": {}},))  # type: ignore[arg-type]
    assert SearchRequest(start="2026-01-01T10:00").start == T0  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data",
    [
        {"labels": ['" OR 1=1 --']},
        {"labels": ["' OR '1'='1"]},
        {"streams": ["*"]},
        {"streams": ["cam1' --"]},
        {"kinds": ["%"]},
        {"attributes": {"colour": "red' OR 1=1 --"}},
        {"attributes": {"colour": '{"match_all": {}}'}},
        {"text": "ca*"},  # not a wildcard: the word "ca"
    ],
)
def test_hostile_values_match_literally(store: EventStore, data: dict[str, Any]) -> None:
    assert ids(store, data) == []
    assert len(ids(store, {})) == 9  # nothing was changed either


def test_hostile_text_is_words_not_syntax(store: EventStore) -> None:
    """The quote and the dashes are not words: this asks for events saying "or" and "1"."""
    assert ids(store, {"text": '" OR 1=1 --'}) == ["m1"]
    assert ids(store, {"text": '" OR 2=2 --'}) == []


# ---- HTTP ---------------------------------------------------------------------------------


class _Down:
    """A store whose every query fails, as an unreachable one does."""

    def count(self, filter: Any = None, distinct: Any = None) -> int:
        raise StoreError("count failed: Elasticsearch unavailable for 30s")

    def close(self) -> None:
        pass


def _client(factory: Any) -> TestClient:
    app = FastAPI()
    app.include_router(events_router(factory))
    return TestClient(app)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    s = SqliteEventStore(tmp_path / "api.db")
    s.put(archive())
    yield _client(lambda: s)
    s.close()


def test_get_events(client: TestClient) -> None:
    r = client.get(
        "/events",
        params=[("stream", "cam1"), ("stream", "cam2"), ("attr", "colour=red"),
                ("label", "car"), ("label", "truck"), ("limit", "10")],
    )  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert [e["event_id"] for e in body["events"]] == ["a1", "a2", "b2"]
    assert body["total"] == 3
    r = client.get("/events", params={"aggregate": "tracks"})
    assert (r.json()["tracks"], r.json()["buckets"][1]) == (5, {"key": "cam2", "count": 2})
    r = client.get("/events", params={"start": "2026-01-01T11:00", "tracked_only": "true"})
    assert [e["event_id"] for e in r.json()["events"]] == ["a4", "b2"]
    r = client.get("/events", params={"group_by": "label", "limit": 2})
    assert r.json()["buckets"] == [{"key": "car", "count": 4}, {"key": "person", "count": 2}]


def test_post_events(client: TestClient) -> None:
    r = client.post(
        "/events",
        json={"streams": ["cam1"], "attributes": {"colour": ["red", "blue"]}, "order": "desc"},
    )
    assert r.status_code == 200, r.text
    assert [e["event_id"] for e in r.json()["events"]] == ["a3", "a2", "a1"]
    r = client.post("/events", json={"aggregate": "histogram", "interval": 3600})
    assert [b["count"] for b in r.json()["buckets"]] == [7, 1, 1]
    assert client.post("/events", content=b"").json()["total"] == 9


@pytest.mark.parametrize(
    ("method", "kwargs", "message"),
    [
        ("get", {"params": {"limit": "100000"}}, "limit: must be within 1..1000"),
        ("get", {"params": {"labels": "car"}}, "unknown parameter 'labels'"),
        ("get", {"params": {"attr": "a.b=1"}}, "attributes: name 'a.b'"),
        ("get", {"params": [("text", "a"), ("text", "b")]}, "text: give it once"),
        ("get", {"params": {"start": "2026-01-02", "end": "2026-01-01"}}, "is after end"),
        ("get", {"params": {"aggregate": "histogram", "interval": "1"}}, "7201 buckets"),
        ("post", {"json": {"labels": [{"match_all": {}}]}}, "labels: expected a string"),
        ("post", {"json": {"text": '" OR 1=1 --', "size": 10}}, "unknown field(s) 'size'"),
        ("post", {"json": ["car"]}, "the body must be a JSON object"),
        ("post", {"content": b"{not json"}, "body is not valid JSON"),
        ("post", {"json": {"attributes": {"colour[0]": "x"}}}, "attributes: name"),
    ],
)
def test_bad_requests_are_422(
    client: TestClient, method: str, kwargs: dict[str, Any], message: str
) -> None:
    r = getattr(client, method)("/events", **kwargs)
    assert r.status_code == 422
    assert message in r.json()["detail"]


def test_large_body_is_413(client: TestClient) -> None:
    r = client.post("/events", content=b" " * 70_000)
    assert r.status_code == 413


def test_unreachable_store_is_503() -> None:
    calls = []

    def failing() -> Any:
        calls.append(1)
        raise StoreError("creating index 'senri-events' failed: connection refused")

    client = _client(failing)
    for _ in range(2):  # a failed open is tried again on the next request
        r = client.get("/events")
        assert r.status_code == 503
        assert "event store unavailable" in r.json()["detail"]
    assert len(calls) == 2
    r = _client(_Down).post("/events", json={})
    assert (r.status_code, r.json()["detail"]) == (
        503,
        "event store unavailable: count failed: Elasticsearch unavailable for 30s",
    )


# ---- CLI ----------------------------------------------------------------------------------


@pytest.fixture
def cli_store(tmp_path: Path) -> str:
    s = SqliteEventStore(tmp_path / "events.sqlite")
    s.put(archive())
    s.close()
    return f"sqlite:{tmp_path / 'events.sqlite'}"


def _run(*args: str) -> Any:
    app = typer.Typer()
    app.command()(search)
    return CliRunner().invoke(app, list(args))


def test_cli_table(cli_store: str) -> None:
    r = _run("--store", cli_store, "-s", "cam1", "--label", "car", "--attr", "colour=red")
    assert r.exit_code == 0, r.output
    assert "2026-01-01T10:00:00.000Z" in r.output
    assert "colour=" in r.output
    assert "2 events match; showing 1-2" in r.output


def test_cli_json(cli_store: str) -> None:
    r = _run("--store", cli_store, "--from", "2026-01-01T11:00", "--json", "--limit", "1")
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["total"] == 2
    assert [e["event_id"] for e in body["events"]] == ["a4"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--count", "--kind", "speech"], "2 events"),
        (["--tracks"], "5 tracks in 9 events"),
        (["--tracks", "--tracked-only", "--min-confidence", "0.8"], "3 tracks in 4 events"),
        (["--histogram", "3600"], "9 events in 3 groups"),
        (["--group-by", "attributes.colour"], "red"),
        (["--text", "red car", "--newest-first"], "1 events match"),
    ],
)
def test_cli_aggregates(cli_store: str, args: list[str], expected: str) -> None:
    r = _run("--store", cli_store, *args)
    assert r.exit_code == 0, r.output
    assert expected in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "5000"], "limit: must be within 1..1000"),
        (["--attr", "a.b=1"], "attributes: name 'a.b'"),
        (["--from", "soon"], "start: 'soon'"),
        (["--count", "--tracks"], "at most one of"),
        (["--group-by", "text"], "group_by: cannot group by text"),
        (["--histogram", "1"], "7201 buckets"),
    ],
)
def test_cli_bad_request_exits_2(cli_store: str, args: list[str], message: str) -> None:
    r = _run("--store", cli_store, *args)
    assert r.exit_code == 2
    assert "error:" in r.output
    assert message in r.output


def test_cli_store_problems_exit_1(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite"
    r = _run("--store", f"sqlite:{missing}")
    assert r.exit_code == 1
    assert "no event store at" in r.output
    assert not missing.exists()  # a search never creates a store
    r = _run("--store", "redis://x")
    assert r.exit_code == 1
    assert "use sqlite:PATH or elasticsearch[+https]://" in r.output
