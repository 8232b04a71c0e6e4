"""Structured search on a real Elasticsearch node gives what it gives on SQLite.

Every request of the unit suite (filters, hostile values, count, tracks across streams whose
track ids overlap, histogram, terms) runs on both stores and must give the same JSON. The
node comes from `senri.services` (started when none answers); the module writes one index,
named after it, and deletes it afterwards.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from senri.api.events import events_router
from senri.indexes.events.elasticsearch import ElasticsearchEventStore
from senri.indexes.events.sqlite import SqliteEventStore
from senri.search.events import SearchRequest, run_search
from senri.services import elasticsearch_url, manager
from senri.services.probes import probe_elasticsearch
from senri.services.settings import elasticsearch_endpoint
from tests.unit.test_search import BAD_REQUESTS, FILTER_CASES, T0, archive

pytestmark = pytest.mark.integration

REQUESTS: list[dict[str, Any]] = [
    *(data for data, _ in FILTER_CASES),
    {"labels": ['" OR 1=1 --']},
    {"streams": ["*"]},
    {"attributes": {"colour": '{"match_all": {}}'}},
    {"text": '" OR 1=1 --'},
    {"text": "ca*"},
    {"aggregate": "count", "labels": ["car"]},
    {"aggregate": "tracks"},
    {"aggregate": "tracks", "labels": ["car"]},
    {"aggregate": "tracks", "attributes": ["colour=red"]},
    {"aggregate": "tracks", "kinds": ["speech"]},
    {"aggregate": "tracks", "tracked_only": True, "min_confidence": 0.8},
    {"aggregate": "histogram", "interval": 3600},
    {"aggregate": "histogram", "interval": 10, "streams": ["cam1"]},
    {"aggregate": "histogram", "interval": 60, "start": T0 + 1, "end": T0 + 3601},
    {"group_by": "label"},
    {"group_by": "stream_id", "limit": 2},
    {"group_by": "attributes.colour"},
    {"group_by": "attributes.parked"},
    {"group_by": "track_id", "streams": ["cam1"]},
]


@pytest.fixture(scope="module")
def es_store() -> Iterator[ElasticsearchEventStore]:
    if not probe_elasticsearch(elasticsearch_endpoint(), 3.0).healthy:
        manager.up(only="elasticsearch", say=lambda _: None)
    store = ElasticsearchEventStore(
        elasticsearch_url(), index=f"senri-test-search-{uuid.uuid4().hex[:8]}"
    )
    store.put(archive())
    store.flush()
    yield store
    try:
        store.close()
    finally:
        from elasticsearch import Elasticsearch

        with Elasticsearch(store.url) as client:
            client.options(ignore_status=404).indices.delete(index=store.index)
            client.options(ignore_status=404).indices.delete_index_template(name=store.index)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteEventStore]:
    store = SqliteEventStore(tmp_path_factory.mktemp("search") / "events.sqlite")
    store.put(archive())
    yield store
    store.close()


@pytest.mark.parametrize("data", REQUESTS, ids=[f"req{i}" for i in range(len(REQUESTS))])
def test_same_answer_as_sqlite(
    es_store: ElasticsearchEventStore, sqlite_store: SqliteEventStore, data: dict[str, Any]
) -> None:
    req = SearchRequest.from_mapping(data)
    assert run_search(es_store, req).to_dict() == run_search(sqlite_store, req).to_dict()


def test_filter_cases_on_elasticsearch(es_store: ElasticsearchEventStore) -> None:
    for data, expected in FILTER_CASES:
        result = run_search(es_store, SearchRequest.from_mapping(data))
        assert [e.event_id for e in result.events] == expected, data


def test_http_on_elasticsearch(es_store: ElasticsearchEventStore) -> None:
    app = FastAPI()
    app.include_router(events_router(lambda: es_store))
    client = TestClient(app)
    r = client.get("/events", params=[("stream", "cam1"), ("stream", "cam2"), ("label", "car"),
                                       ("aggregate", "tracks")])  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["tracks"], r.json()["total"]) == (3, 4)
    r = client.post("/events", json={"attributes": {"colour": "red"}, "order": "desc"})
    assert [e["event_id"] for e in r.json()["events"]] == ["b2", "a2", "a1"]
    for data, _ in BAD_REQUESTS[:5]:
        r = client.post("/events", json=data)
        assert r.status_code == 422
        assert r.json()["detail"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_elasticsearch_is_503() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    app = FastAPI()
    app.include_router(events_router(lambda: ElasticsearchEventStore(url, query_timeout=1.0)))
    r = TestClient(app).get("/events", params={"label": "car"})
    assert r.status_code == 503
    assert "event store unavailable" in r.json()["detail"]
