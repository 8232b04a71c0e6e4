"""The event-store contract: one test suite every backend must pass.

A backend's test class inherits `EventStoreContract` and provides a `store` fixture that yields
an empty store of its own (its own file or index, removed afterwards):

    class TestSqlite(EventStoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            s = SqliteEventStore(tmp_path / "e.sqlite")
            yield s
            s.close()

Each expectation is computed by the pure-Python reference evaluator on the same events, so the
suite checks backends against one definition of the query language.
"""

from __future__ import annotations

from typing import Any

import pytest

from senri.errors import QueryError
from senri.indexes.events import query as q
from senri.indexes.events.query import (
    And,
    Eq,
    Exists,
    Histogram,
    In,
    Not,
    Or,
    Query,
    Range,
    Terms,
    Text,
)
from senri.records import Event

T0 = 1_767_261_600.0  # 2026-01-01 10:00 UTC


def sample_events() -> list[Event]:
    """A small archive: two cameras with tracked cars and people, one microphone with speech."""
    events: list[Event] = []
    colours = ["red", "red", "blue", "white", "red", "black"]
    for i, colour in enumerate(colours):
        for j in range(3):
            events.append(
                Event(
                    id=f"cam3-car-{i}-{j}",
                    stream_id="cam3" if i % 2 == 0 else "cam1",
                    time=T0 - 3600 + i * 1200 + j,
                    kind="object",
                    label="car" if i != 3 else "truck",
                    confidence=0.5 + 0.08 * i,
                    track_id=100 + i,
                    bbox=(10.0 * i, 20.0, 10.0 * i + 40.0, 60.0),
                    attributes={"colour": colour, "speed": 10.5 * i, "parked": i == 5},
                    source=f"cam:{i}",
                )
            )
    for i in range(4):
        events.append(
            Event(
                id=f"person-{i}",
                stream_id="cam1",
                time=T0 + 600 * i,
                kind="object",
                label="person",
                confidence=0.9,
                track_id=200 + (i // 2),
                attributes={"backpack": i % 2 == 0, "upper_colour": "green"},
            )
        )
    phrases = ["Red car on camera three", "the siren is loud", "Nothing to report", "red alert"]
    for i, phrase in enumerate(phrases):
        events.append(
            Event(
                id=f"speech-{i}",
                stream_id="mic2",
                time=T0 + 300 * i,
                end_time=T0 + 300 * i + 2.5,
                kind="speech",
                label="speech",
                text=phrase,
            )
        )
    return events


FILTERS: list[tuple[str, Any]] = [
    ("all", None),
    ("eq-label", Eq("label", "car")),
    ("eq-stream", Eq("stream_id", "cam3")),
    ("eq-attr-str", Eq("attributes.colour", "red")),
    ("eq-attr-bool", Eq("attributes.backpack", True)),
    ("eq-track", Eq("track_id", 101)),
    ("in-label", In("label", ["truck", "person"])),
    ("range-time", Range("time", gte=T0)),
    ("range-time-window", Range("time", gt=T0 - 3600, lt=T0 + 601)),
    ("range-confidence", Range("confidence", lte=0.66)),
    ("range-attr", Range("attributes.speed", gte=20, lt=50)),
    ("exists-text", Exists("text")),
    ("exists-attr", Exists("attributes.backpack")),
    ("text-one", Text("siren")),
    ("text-case-words", Text("RED camera")),
    ("text-no-partial", Text("re")),
    ("and", And(Eq("label", "car"), Eq("stream_id", "cam3"), Range("time", gte=T0 - 1200))),
    ("or", Or(Eq("label", "truck"), Eq("attributes.colour", "black"))),
    ("not", Not(Eq("kind", "object"))),
    (
        "nested",
        And(Eq("kind", "object"), Not(Or(Eq("label", "person"), In("attributes.colour", ["red"])))),
    ),
    ("injection-value", Eq("label", "car' OR '1'='1")),
    ("missing-attr", Eq("attributes.nope", "x")),
]


class EventStoreContract:
    """Mixin of contract tests; subclasses provide a `store` fixture yielding an empty store."""

    @pytest.fixture
    def loaded(self, store: Any) -> Any:
        store.put(sample_events())
        store.flush()
        return store

    def test_put_get_roundtrip(self, store: Any) -> None:
        events = sample_events()
        store.put(events)
        store.flush()
        for e in events:
            assert store.get(e.id) == e
        assert store.get("no-such-id") is None

    def test_put_is_idempotent(self, store: Any) -> None:
        events = sample_events()
        store.put(events)
        store.put(events[:10])
        store.flush()
        assert store.count() == len(events)

    def test_put_overwrites_by_id(self, store: Any) -> None:
        e = sample_events()[0]
        store.put([e])
        changed = Event(e.id, e.stream_id, e.time, e.kind, "bus", attributes={"colour": "green"})
        store.put([changed])
        store.flush()
        assert store.get(e.id) == changed
        assert store.count() == 1

    @pytest.mark.parametrize(("name", "flt"), FILTERS, ids=[n for n, _ in FILTERS])
    def test_filter_matches_reference(self, loaded: Any, name: str, flt: Any) -> None:
        expected = sorted(e.id for e in sample_events() if q.matches(flt, e))
        got = sorted(e.id for e in loaded.search(Query(flt, limit=1000)))
        assert got == expected
        assert loaded.count(flt) == len(expected)

    def test_reference_table_is_not_trivial(self) -> None:
        sizes = {n: sum(q.matches(f, e) for e in sample_events()) for n, f in FILTERS}
        assert sizes["injection-value"] == 0
        assert 0 < sizes["eq-attr-str"] < sizes["all"]
        assert sizes["text-no-partial"] == 0

    @pytest.mark.parametrize("descending", [False, True])
    def test_sort_limit_offset(self, loaded: Any, descending: bool) -> None:
        everything = q.search(sample_events(), Query(None, descending=descending, limit=1000))
        page = loaded.search(Query(None, descending=descending, limit=5, offset=3))
        assert [e.id for e in page] == [e.id for e in everything[3:8]]
        by_conf = loaded.search(
            Query(Eq("label", "car"), sort="confidence", descending=True, limit=2)
        )
        assert [e.confidence for e in by_conf] == sorted(
            (e.confidence for e in by_conf), reverse=True
        )

    def test_count_distinct(self, loaded: Any) -> None:
        assert loaded.count(Eq("label", "car"), distinct="track_id") == 5
        assert loaded.count(Eq("attributes.colour", "red"), distinct="track_id") == 3
        assert loaded.count(Eq("kind", "speech"), distinct="track_id") == 0

    def test_terms_group_by(self, loaded: Any) -> None:
        agg = Terms("attributes.colour", distinct="track_id")
        got = loaded.aggregate(Eq("kind", "object"), agg)
        assert got == q.aggregate(sample_events(), Eq("kind", "object"), agg)
        assert got[0] == q.Bucket("red", 3)
        labels = loaded.aggregate(None, Terms("label", size=2))
        assert [b.key for b in labels] == ["car", "person"]
        assert labels[0].count == 15

    def test_histogram(self, loaded: Any) -> None:
        agg = Histogram(3600, distinct="track_id")
        flt = Eq("kind", "object")
        got = loaded.aggregate(flt, agg)
        expected = q.aggregate(sample_events(), flt, agg)
        assert [(pytest.approx(b.key), b.count) for b in got] == [
            (b.key, b.count) for b in expected
        ]
        assert sum(b.count for b in loaded.aggregate(None, Histogram(60))) == len(sample_events())

    def test_histogram_omits_buckets_without_distinct_values(self, store: Any) -> None:
        events = [
            Event("a", "cam1", T0, "object", "car"),  # no track id: its bucket counts 0
            Event("b", "cam1", T0 + 7200, "object", "car", track_id=4),
        ]
        store.put(events)
        store.flush()
        got = store.aggregate(None, Histogram(3600, distinct="track_id"))
        assert got == [q.Bucket(T0 + 7200, 1)]
        assert got == q.aggregate(events, None, Histogram(3600, distinct="track_id"))

    def test_delete_and_clear(self, loaded: Any) -> None:
        assert loaded.delete(["person-0", "person-1", "nope"]) == 2
        loaded.flush()
        assert loaded.count(Eq("label", "person")) == 2
        loaded.clear()
        loaded.flush()
        assert loaded.count() == 0

    def test_delete_matching_removes_what_the_filter_matches(self, loaded: Any) -> None:
        events = loaded.search(Query(limit=1000))
        cutoff = sorted(e.time for e in events)[len(events) // 2]
        older = Range("time", lt=cutoff)
        expected = sum(e.time < cutoff for e in events)
        assert 0 < expected < len(events)
        assert loaded.delete_matching(older) == expected
        loaded.flush()
        assert loaded.count(older) == 0 and loaded.count() == len(events) - expected
        assert loaded.delete_matching(older) == 0

    def test_hostile_strings_are_values(self, loaded: Any) -> None:
        for text in ["'; DROP TABLE events; --", '{"match_all": {}}', "label:*", "%", "_"]:
            assert loaded.count(Eq("label", text)) == 0
            if q.words(text):
                assert loaded.count(Text(text + " zzz")) == 0
        assert loaded.count() == len(sample_events())

    def test_bad_queries_raise_query_error(self) -> None:
        with pytest.raises(QueryError, match="unknown field"):
            Eq("labl", "car")
        with pytest.raises(QueryError, match="unknown field"):
            Eq('attributes.x") OR 1=1 --', "car")
        with pytest.raises(QueryError, match="must be"):
            Range("time", gte="yesterday")  # type: ignore[arg-type]
        with pytest.raises(QueryError):
            Query(limit=10**9)
        with pytest.raises(QueryError):
            Terms("text")
