"""`ElasticsearchEventStore` against a real Elasticsearch node.

It passes the same `EventStoreContract` as every backend, refuses documents that conflict with
the mapping with a `StoreError` naming the field and the event, and loses nothing when
Elasticsearch is stopped in the middle of a write stream and started again. The node comes from
`senri.services` (started here when it is not running); each test uses its own index, named
after the test and deleted afterwards.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from senri.errors import StoreError
from senri.indexes.events import elasticsearch as es_store
from senri.indexes.events import query as q
from senri.indexes.events.elasticsearch import ElasticsearchEventStore
from senri.indexes.events.query import Eq, Exists, Histogram, In, Not, Or, Query, Range, Terms, Text
from senri.indexes.events.testing import T0, EventStoreContract
from senri.records import Event
from senri.services import elasticsearch_url, manager
from senri.services.probes import probe_elasticsearch
from senri.services.settings import elasticsearch_endpoint

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def es_node() -> str:
    """The URL of a healthy node, started through the services manager if none answers."""
    if not probe_elasticsearch(elasticsearch_endpoint(), 3.0).healthy:
        manager.up(only="elasticsearch", say=lambda _: None)
    return elasticsearch_url()


def _index_name(request: pytest.FixtureRequest) -> str:
    base = re.sub(r"[^a-z0-9_-]", "-", request.node.name.lower())[:120]
    return f"senri-test-store-{base}-{uuid.uuid4().hex[:8]}"


def _drop(store: ElasticsearchEventStore) -> None:
    try:
        store.close()
    finally:
        from elasticsearch import Elasticsearch

        with Elasticsearch(store.url) as client:
            client.options(ignore_status=404).indices.delete(index=store.index)
            client.options(ignore_status=404).indices.delete_index_template(name=store.index)


@pytest.fixture
def store(es_node: str, request: pytest.FixtureRequest) -> Iterator[ElasticsearchEventStore]:
    s = ElasticsearchEventStore(es_node, index=_index_name(request))
    yield s
    _drop(s)


class TestElasticsearchEventStore(EventStoreContract):
    """The shared contract; `store` above gives each test a fresh index."""


def _event(i: int, **attributes: Any) -> Event:
    return Event(f"ev-{i}", "cam1", T0 + i, "object", "car", attributes=attributes)


def test_attribute_types_may_differ_between_events(store: ElasticsearchEventStore) -> None:
    store.put([_event(0, size=3), _event(1, size="large"), _event(2, size=True), _event(3)])
    store.flush()
    assert store.count(Eq("attributes.size", "large")) == 1
    assert store.count(Range("attributes.size", gte=2.5)) == 1  # bools are not numbers
    assert store.count(Eq("attributes.size", 1)) == 1  # True == 1, as in Python
    assert store.get("ev-1") == _event(1, size="large")


def test_non_scalar_attribute_is_refused_with_its_name(store: ElasticsearchEventStore) -> None:
    store.put([_event(0, speed=12.5)])
    with pytest.raises(StoreError, match=r"ev-1.*'speed'"):
        store.put([_event(1, speed={"value": 12.5})])
    store.flush()
    assert store.count() == 1


def test_mapping_conflict_from_elasticsearch_names_field_and_event(
    store: ElasticsearchEventStore,
) -> None:
    too_big = Event("huge", "cam1", T0, "object", "car", track_id=2**70)
    store.put([_event(0), too_big, _event(1, speed=2**64)])
    with pytest.raises(StoreError, match=r"'huge'.*'track_id'|'ev-1'.*'attributes\.speed'") as err:
        store.flush()
    assert "rejected" in str(err.value)
    store.flush()  # reported once; the good event was written
    assert store.count() == 1
    assert store.get("ev-0") == _event(0)


def _free_port_pair(step: int) -> int:
    """A port p with p and p + step free (Elasticsearch: HTTP p, transport p + 100)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + step >= 65536:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + step))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair")


@pytest.fixture
def private_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, es_node: str) -> Iterator[str]:
    """A node of our own (temporary SENRI_HOME, free port), so stopping it disturbs nobody.

    `es_node` comes first so that a shared node, if this run starts one, is already up.
    """
    monkeypatch.setenv("SENRI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SENRI_ELASTICSEARCH", f"http://localhost:{_free_port_pair(100)}")
    manager.up(only="elasticsearch", say=lambda _: None)
    try:
        yield elasticsearch_url()
    finally:
        manager.down(only="elasticsearch", say=lambda _: None)


def test_outage_in_the_middle_of_a_write_stream_loses_nothing(
    private_node: str, request: pytest.FixtureRequest
) -> None:
    store = ElasticsearchEventStore(
        private_node, index=_index_name(request), batch_size=200, max_buffer=20_000
    )
    written, began = 0, time.monotonic()

    def write(count: int, pause: float) -> None:
        nonlocal written
        for _ in range(count // 100):
            store.put([_event(i) for i in range(written, written + 100)])
            written += 100
            time.sleep(pause)

    try:
        write(1500, 0.01)  # before the outage
        manager.down(only="elasticsearch", say=lambda _: None)
        assert not probe_elasticsearch(elasticsearch_endpoint(), 1.0).reachable
        down_at = time.monotonic()
        while time.monotonic() < down_at + 3.0:  # keep writing while it is down
            write(100, 0.05)
        manager.up(only="elasticsearch", say=lambda _: None)
        write(1500, 0.0)  # and after it is back
        store.flush()
        assert store.count() == written
        page = store.search(Query(limit=written))
        assert sorted(e.id for e in page) == sorted(f"ev-{i}" for i in range(written))
        assert time.monotonic() - began < 60
    finally:
        if probe_elasticsearch(elasticsearch_endpoint(), 3.0).healthy:
            _drop(store)
        else:
            store._writer.close(abandon=True)


def _mixed_events() -> list[Event]:
    """Attributes whose type changes between events, missing values, and unusual words."""
    values: list[Any] = [3, 3.0, 2.5, True, False, 0, 1, "3", "large", -7, 10**12, None]
    texts = [None, "Don't stop", "foo_bar baz", "3.5 km/h", "Ünïcode WORDS", "", "re red"]
    return [
        Event(
            f"m-{i:02d}",
            f"cam{i % 3}",
            T0 + 97.5 * i,
            "object" if i % 4 else "speech",
            ["car", "bus", "person"][i % 3],
            confidence=0.1 * (i % 10),
            end_time=None if i % 2 else T0 + 97.5 * i + 1,
            track_id=None if i % 5 == 0 else i % 4,
            text=texts[i % len(texts)],
            attributes={} if values[i % len(values)] is None else {"v": values[i % len(values)]},
        )
        for i in range(40)
    ]


MIXED_FILTERS = [
    Eq("attributes.v", 3),
    Eq("attributes.v", 3.0),
    Eq("attributes.v", True),
    Eq("attributes.v", 1),
    Eq("attributes.v", 0.0),
    Eq("attributes.v", False),
    Eq("attributes.v", "3"),
    In("attributes.v", [2.5, "large", -7]),
    Range("attributes.v", gt=2.5),
    Range("attributes.v", gte=2.5, lt=3.5),
    Range("attributes.v", lte=-6.5),
    Range("attributes.v", gt=0.5, lt=1.5),
    Range("attributes.v", gte=float("-inf")),
    Range("attributes.v", gt=float("inf")),
    Range("track_id", gt=1.5),
    Exists("attributes.v"),
    Exists("end_time"),
    Exists("text"),
    Eq("text", ""),
    Not(Exists("track_id")),
    Text("don't"),
    Text("3.5"),
    Text("foo_bar"),
    Text("ünïcode words"),
    Text("re"),
    Or(Eq("attributes.v", "large"), Not(Eq("label", "car"))),
]


@pytest.mark.parametrize("flt", MIXED_FILTERS, ids=[repr(f) for f in MIXED_FILTERS])
def test_mixed_types_filter_like_the_reference(
    loaded_mixed: ElasticsearchEventStore, flt: Any
) -> None:
    expected = sorted(e.id for e in _mixed_events() if q.matches(flt, e))
    assert sorted(e.id for e in loaded_mixed.search(Query(flt, limit=100))) == expected
    assert loaded_mixed.count(flt) == len(expected)


@pytest.fixture
def loaded_mixed(store: ElasticsearchEventStore) -> ElasticsearchEventStore:
    store.put(_mixed_events())
    store.flush()
    return store


@pytest.mark.parametrize("sort", ["time", "end_time", "track_id", "confidence", "label", "id"])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_with_missing_values_like_the_reference(
    loaded_mixed: ElasticsearchEventStore, sort: str, descending: bool
) -> None:
    query = Query(None, sort=sort, descending=descending, limit=15, offset=10)
    expected = [e.id for e in q.search(_mixed_events(), query)]
    assert [e.id for e in loaded_mixed.search(query)] == expected


def test_pages_past_the_result_window(
    loaded_mixed: ElasticsearchEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(es_store, "WINDOW", 7)  # force the search_after path
    for sort in ("track_id", "time"):
        query = Query(None, sort=sort, descending=True, limit=12, offset=9)
        expected = [e.id for e in q.search(_mixed_events(), query)]
        assert [e.id for e in loaded_mixed.search(query)] == expected


@pytest.mark.parametrize(
    "agg",
    [
        Terms("attributes.v", size=20),
        Terms("attributes.v", distinct="track_id"),
        Terms("track_id"),
        Terms("confidence", size=3),
        Terms("stream_id", distinct="attributes.v"),
        Terms("id", size=2),  # ties at the cut: the composite fallback
        Terms("track_id", size=1),
        Terms("label", size=1, distinct="track_id"),
        Terms("end_time", size=3, distinct="text"),
        Histogram(600),
        Histogram(1000, distinct="track_id"),
    ],
    ids=repr,
)
def test_mixed_types_aggregate_like_the_reference(
    loaded_mixed: ElasticsearchEventStore, agg: Any
) -> None:
    got = loaded_mixed.aggregate(Eq("kind", "object"), agg)
    expected = q.aggregate(_mixed_events(), Eq("kind", "object"), agg)
    assert [(b.key, b.count) for b in got] == [(b.key, b.count) for b in expected]
    assert [type(b.key) for b in got] == [type(b.key) for b in expected]


def test_histogram_distinct_drops_buckets_without_values(
    store: ElasticsearchEventStore,
) -> None:
    """A bucket whose events all lack the distinct field counts 0 and is omitted, as in SQLite."""
    events = [_event(0), Event("t", "cam1", T0 + 7200, "object", "car", track_id=4)]
    store.put(events)
    store.flush()
    agg = Histogram(3600, distinct="track_id")
    got = store.aggregate(None, agg)
    assert got == q.aggregate(events, None, agg)
    assert [b.key for b in got] == [float(int((T0 + 7200) // 3600) * 3600)]


def test_full_buffer_blocks_put_then_raises_and_loses_nothing(
    es_node: str, request: pytest.FixtureRequest
) -> None:
    from elasticsearch import Elasticsearch

    store = ElasticsearchEventStore(
        es_node, index=_index_name(request), max_buffer=300, put_timeout=1.0
    )
    writer, real = store._writer, store._writer.client
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = s.getsockname()[1]  # nothing listens here once the socket closes
        writer.client = Elasticsearch(f"http://127.0.0.1:{dead}", max_retries=0)
        store.put([_event(i) for i in range(300)])
        began = time.monotonic()
        with pytest.raises(StoreError, match="still full after 1s; 100 events not accepted"):
            store.put([_event(i) for i in range(300, 400)])
        assert time.monotonic() - began >= 0.9
        writer.client = real
        store.flush()
        assert store.count() == 300
    finally:
        writer.client = real
        _drop(store)


def test_non_finite_numbers_are_refused_before_sending(store: ElasticsearchEventStore) -> None:
    with pytest.raises(StoreError, match="'nan-conf'"):
        store.put([Event("nan-conf", "cam1", T0, "object", "car", confidence=float("nan"))])
    with pytest.raises(StoreError, match=r"'inf-attr'.*'speed'"):
        store.put([_event(0), Event("inf-attr", "c", T0, "o", "car", attributes={"speed": 1e999})])
    store.flush()
    assert store.count() == 0  # a refused put accepts none of its events
