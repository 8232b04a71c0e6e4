"""The event-store contract on the embedded backends (SQLite and the in-memory reference)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from senri.indexes.events.sqlite import SqliteEventStore
from senri.indexes.events.store import EventStore, MemoryEventStore
from senri.indexes.events.testing import EventStoreContract, sample_events

pytestmark = pytest.mark.unit


class TestSqliteEventStore(EventStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqliteEventStore]:
        s = SqliteEventStore(tmp_path / "events.sqlite")
        yield s
        s.close()


class TestMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self) -> MemoryEventStore:
        return MemoryEventStore()


def test_backends_satisfy_protocol(tmp_path: Path) -> None:
    assert isinstance(SqliteEventStore(tmp_path / "e.sqlite"), EventStore)
    assert isinstance(MemoryEventStore(), EventStore)


def test_sqlite_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    store = SqliteEventStore(path)
    store.put(sample_events())
    store.close()
    again = SqliteEventStore(path)
    assert again.count() == len(sample_events())
    again.close()
