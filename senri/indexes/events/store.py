"""The `EventStore` protocol and the in-memory reference store.

Every backend (SQLite for the embedded runtime, Elasticsearch for the distributed one) answers
the same typed queries from `senri.indexes.events.query` and passes the same contract suite
(`senri.indexes.events.testing.EventStoreContract`). Writes are upserts by event id, so replaying a
stream after a crash overwrites instead of duplicating.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from senri.indexes.events import query as q
from senri.records import Event


@runtime_checkable
class EventStore(Protocol):
    """Stores events and answers typed queries about them."""

    def put(self, events: Sequence[Event]) -> None:
        """Insert or overwrite events by id."""

    def get(self, event_id: str) -> Event | None: ...

    def search(self, query: q.Query) -> list[Event]: ...

    def count(self, filter: q.Filter | None = None, distinct: str | None = None) -> int:
        """Matching events, or the number of distinct non-null values of `distinct` among them."""

    def aggregate(self, filter: q.Filter | None, agg: q.Aggregation) -> list[q.Bucket]: ...

    def delete(self, ids: Sequence[str]) -> int:
        """Remove events by id; returns how many existed."""

    def delete_matching(self, filter: q.Filter) -> int:
        """Remove every event `filter` matches (retention: ``Range("time", lt=cutoff)``);
        returns how many were removed."""

    def flush(self) -> None:
        """Make every accepted write visible to queries."""

    def clear(self) -> None:
        """Remove every event."""

    def close(self) -> None: ...


class MemoryEventStore:
    """Events in a dict, queried with the reference evaluator; for tests and tiny runs."""

    def __init__(self) -> None:
        self._events: dict[str, Event] = {}
        self._lock = threading.Lock()

    def _snapshot(self) -> list[Event]:
        with self._lock:
            return list(self._events.values())

    def put(self, events: Sequence[Event]) -> None:
        with self._lock:
            for e in events:
                self._events[e.id] = e

    def get(self, event_id: str) -> Event | None:
        with self._lock:
            return self._events.get(event_id)

    def search(self, query: q.Query) -> list[Event]:
        return q.search(self._snapshot(), query)

    def count(self, filter: q.Filter | None = None, distinct: str | None = None) -> int:
        if distinct is not None:
            q.check_field(distinct)
        return q.count(self._snapshot(), filter, distinct)

    def aggregate(self, filter: q.Filter | None, agg: q.Aggregation) -> list[q.Bucket]:
        return q.aggregate(self._snapshot(), filter, agg)

    def delete(self, ids: Sequence[str]) -> int:
        with self._lock:
            return sum(self._events.pop(i, None) is not None for i in ids)

    def delete_matching(self, filter: q.Filter) -> int:
        return self.delete([e.id for e in self._snapshot() if q.matches(filter, e)])

    def flush(self) -> None:
        pass

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def close(self) -> None:
        pass
