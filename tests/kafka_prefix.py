"""Kafka topics and a consumer group of one test's own, removed afterwards, and the events a
run left in a SQLite store, for the end-to-end tests that compare runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from senri.connectors.kafka import changelog_topic, delete_topics
from senri.indexes.events.query import Query
from senri.indexes.events.sqlite import SqliteEventStore
from senri.services import kafka_bootstrap
from senri.services.probes import probe_kafka
from senri.services.settings import kafka_endpoint


@contextmanager
def own_topics(name: str) -> Iterator[str]:
    """A prefix `senri.test.<name>.<random>`; its topics, the group `<prefix>.group` and that
    group's changelog are deleted at the end. Skips the test when Kafka is not running."""
    if not probe_kafka(kafka_endpoint(), timeout=3.0).healthy:
        pytest.skip("no Kafka; start it with `senri services up`")
    made = f"senri.test.{name}.{uuid.uuid4().hex[:8]}"
    yield made
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap(), client_id="senri-test")
    try:
        topics = [t for t in admin.list_topics() if t.startswith(made)]
        delete_topics(kafka_bootstrap(), [*topics, changelog_topic(f"{made}.group")])
        admin.delete_consumer_groups([f"{made}.group"])
    finally:
        admin.close()


def stored_events(path: Path) -> dict[str, dict[str, Any]]:
    """Every event of a SQLite store, by id."""
    store = SqliteEventStore(path)
    try:
        return {e.id: e.to_dict() for e in store.search(Query(limit=10_000))}
    finally:
        store.close()
