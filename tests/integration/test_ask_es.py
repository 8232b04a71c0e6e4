"""Questions over the generated archive give the same answers on Elasticsearch as on SQLite.

The archive (`senri.worlds.archive.generate(7)`) is written to a fresh Elasticsearch index named
after this module and to a SQLite store; every question (counts, yes/no, lists, times,
which stream, colours, distinct values, comparisons, what was said while a sound played,
and refusals) must give the same `short` and `value` on both. The node comes from
`senri.services` (started when none answers); the index is deleted afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from senri.ask.engine import Asker
from senri.ask.vocab import Vocabulary
from senri.indexes.events.elasticsearch import ElasticsearchEventStore
from senri.indexes.events.sqlite import SqliteEventStore
from senri.services import elasticsearch_url, manager
from senri.services.probes import probe_elasticsearch
from senri.services.settings import elasticsearch_endpoint
from senri.worlds import archive as arc

pytestmark = pytest.mark.integration

QUESTIONS = [
    # count
    "how many trucks on cam4 yesterday?",
    "how many people at the entrance yesterday?",
    "how many white cars passed camera 3?",
    "how many dogs were seen today?",
    "how many sirens were heard?",
    # exists
    "was a siren heard on mic2?",
    "was a gun shot heard on mic1 yesterday?",
    "did anyone with an umbrella pass cam1 today?",
    # list
    "what was said on mic 2 yesterday after 8 pm?",
    "what text was seen on cam4?",
    # when
    "when was the last dog seen on cam1?",
    "when did the first bus pass cam3 yesterday?",
    # which
    "which camera saw the most trucks?",
    "which microphone heard the most car horns?",
    # colour
    "what colour were the cars on cam3 yesterday?",
    "what colour were the motorcycles on cam3?",
    "what colour was the last car on cam3?",
    # distinct
    "how many different colours of cars on cam3 yesterday?",
    # compare
    "were there more cars or trucks on cam3 yesterday?",
    "were there more people on cam1 or cam4 yesterday?",
    # said / cross-modal
    "what was said on mic 1 when the siren sounded?",
    "what was said on mic1 when a car horn sounded?",
    # refusals
    "what is the weather like?",
    "how many cars on camera 9?",
    "'; DROP TABLE events; --",
    '{"query": {"match_all": {}}}',
]


@pytest.fixture(scope="module")
def archive() -> arc.Archive:
    return arc.generate(7)


@pytest.fixture(scope="module")
def es_store(archive: arc.Archive) -> Iterator[ElasticsearchEventStore]:
    if not probe_elasticsearch(elasticsearch_endpoint(), 3.0).healthy:
        manager.up(only="elasticsearch", say=lambda _: None)
    store = ElasticsearchEventStore(
        elasticsearch_url(), index=f"senri-test-ask-{uuid.uuid4().hex[:8]}"
    )
    arc.store_archive(archive, store)
    yield store
    try:
        store.close()
    finally:
        from elasticsearch import Elasticsearch

        with Elasticsearch(store.url) as client:
            client.options(ignore_status=404).indices.delete(index=store.index)
            client.options(ignore_status=404).indices.delete_index_template(name=store.index)


@pytest.fixture(scope="module")
def sqlite_store(
    archive: arc.Archive, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqliteEventStore]:
    store = SqliteEventStore(tmp_path_factory.mktemp("ask") / "archive.sqlite")
    arc.store_archive(archive, store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary()


@pytest.fixture(scope="module")
def askers(
    archive: arc.Archive,
    es_store: ElasticsearchEventStore,
    sqlite_store: SqliteEventStore,
    vocab: Vocabulary,
) -> tuple[Asker, Asker]:
    def make(store: ElasticsearchEventStore | SqliteEventStore) -> Asker:
        return Asker(store, now=archive.now, places=archive.places, vocab=vocab)

    return make(es_store), make(sqlite_store)


def test_both_stores_hold_the_whole_archive(
    archive: arc.Archive, es_store: ElasticsearchEventStore, sqlite_store: SqliteEventStore
) -> None:
    assert es_store.count() == sqlite_store.count() == len(archive.events)


@pytest.mark.parametrize("question", QUESTIONS)
def test_same_answer_as_sqlite(askers: tuple[Asker, Asker], question: str) -> None:
    es, sqlite = askers
    want, got = sqlite.ask(question), es.ask(question)
    assert (got.short, got.value, got.type, got.refused) == (
        want.short,
        want.value,
        want.type,
        want.refused,
    )
    assert got.text == want.text
    assert [e.event_id for e in got.evidence] == [e.event_id for e in want.evidence]


def test_questions_cover_every_plan_type(askers: tuple[Asker, Asker]) -> None:
    _, sqlite = askers
    types = {sqlite.ask(q).type for q in QUESTIONS}
    assert {"count", "exists", "list", "when", "which", "colour", "distinct", "compare"} <= types
    assert "refuse" in types
