"""The local Elasticsearch node answers every operation senri's event store relies on.

The node started by `python -m senri.services up` is assembled from Maven Central jars rather than
the official distribution, so this checks the capabilities the store needs, through the official
client: root info and ping, index templates, explicit mappings, bulk indexing, a bool filter
query, terms / date_histogram / cardinality aggregations, and deleting what it made. Each test
uses its own index (and template) named after itself; it skips only when no node answers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from senri.services import elasticsearch_url
from senri.services.probes import probe_elasticsearch
from senri.services.settings import elasticsearch_endpoint

pytestmark = pytest.mark.integration

MAPPING: dict[str, Any] = {
    "properties": {
        "camera": {"type": "keyword"},
        "label": {"type": "keyword"},
        "track": {"type": "long"},
        "score": {"type": "float"},
        "at": {"type": "date"},
        "caption": {"type": "text"},
    }
}


def _events() -> list[dict[str, Any]]:
    """24 events over 4 hours from 3 cameras; people on even ids, 5 distinct person tracks."""
    return [
        {
            "camera": f"cam-{i % 3}",
            "label": "person" if i % 2 == 0 else "car",
            "track": i % 10,
            "score": 0.5 + i / 100,
            "at": f"2024-05-01T{i // 6:02d}:{i % 6 * 10:02d}:00Z",
            "caption": f"a {'person walking' if i % 2 == 0 else 'car parking'} near gate {i % 4}",
        }
        for i in range(24)
    ]


@pytest.fixture(scope="module")
def es() -> Iterator[Any]:
    """A client for the local node, or a skip naming how to start one."""
    probe = probe_elasticsearch(elasticsearch_endpoint(), timeout=3.0)
    if not probe.healthy:
        pytest.skip(
            f"no Elasticsearch at {elasticsearch_url()} ({probe.detail}); "
            "start it with `python -m senri.services up --only elasticsearch`"
        )
    from elasticsearch import Elasticsearch

    client = Elasticsearch(elasticsearch_url(), request_timeout=30)
    yield client
    client.close()


@pytest.fixture
def index(es: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh index name for this test, deleted afterwards (by exact name: 8.x refuses
    wildcard deletes by default)."""
    base = re.sub(r"[^a-z0-9_-]", "-", request.node.name.lower())[:180]
    name = f"senri-test-{base}-{uuid.uuid4().hex[:8]}"
    yield name
    es.options(ignore_status=404).indices.delete(index=name)


def test_root_answers_info_and_ping(es: Any) -> None:
    assert es.ping()
    info = es.info()
    assert info["version"]["number"].startswith("8.")


def test_mapping_bulk_filter_and_aggregations(es: Any, index: str) -> None:
    from elasticsearch import helpers

    es.indices.create(index=index, mappings=MAPPING, settings={"number_of_replicas": 0})
    assert es.indices.get_mapping(index=index)[index]["mappings"] == MAPPING
    actions = [{"_index": index, "_id": str(i), "_source": e} for i, e in enumerate(_events())]
    indexed, errors = helpers.bulk(es, actions, refresh="wait_for")
    assert (indexed, errors) == (24, [])

    response = es.search(
        index=index,
        size=50,
        query={
            "bool": {
                "filter": [
                    {"term": {"label": "person"}},
                    {
                        "range": {
                            "at": {"gte": "2024-05-01T01:00:00Z", "lt": "2024-05-01T03:00:00Z"}
                        }
                    },
                ],
                "must": [{"match": {"caption": "walking"}}],
            }
        },
        aggs={
            "cameras": {"terms": {"field": "camera"}},
            "hourly": {"date_histogram": {"field": "at", "fixed_interval": "1h"}},
            "tracks": {"cardinality": {"field": "track"}},
        },
    )
    hits = response["hits"]
    assert hits["total"]["value"] == 6  # ids 6, 8, ..., 16
    assert {h["_source"]["label"] for h in hits["hits"]} == {"person"}
    aggs = response["aggregations"]
    assert sum(b["doc_count"] for b in aggs["cameras"]["buckets"]) == 6
    hourly = {b["key_as_string"]: b["doc_count"] for b in aggs["hourly"]["buckets"]}
    assert hourly == {"2024-05-01T01:00:00.000Z": 3, "2024-05-01T02:00:00.000Z": 3}
    assert aggs["tracks"]["value"] == 5  # tracks 6, 8, 0, 2, 4

    es.indices.delete(index=index)
    assert not es.indices.exists(index=index)


def test_index_template_applies_mapping(es: Any, index: str) -> None:
    template = f"{index}-template"
    es.indices.put_index_template(
        name=template,
        index_patterns=[f"{index}-*"],
        template={"mappings": MAPPING, "settings": {"number_of_replicas": 0}},
    )
    concrete = f"{index}-2024.05.01"
    try:
        es.index(index=concrete, document=_events()[0], refresh=True)
        mapping = es.indices.get_mapping(index=concrete)[concrete]["mappings"]
        assert mapping["properties"]["camera"] == {"type": "keyword"}
        assert es.count(index=concrete)["count"] == 1
    finally:
        es.options(ignore_status=404).indices.delete(index=concrete)
        es.indices.delete_index_template(name=template)
