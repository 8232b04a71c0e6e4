"""Where results and dead letters go: event stores, JSON-lines files, memory (tests).

A sink's `write` is called from one dedicated thread with a batch of items, so a sink never
needs its own locking; `close` flushes. Sinks that store events accept anything with
`to_events()`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from senri.records import DeadLetter, HasEvents


class Sink(Protocol):
    """Receives batches of results, in order, from one thread."""

    def write(self, items: list[Any]) -> None: ...

    def close(self) -> None: ...


def events_of(items: Iterable[Any]) -> list[Any]:
    """Flatten results into their events."""
    events = []
    for item in items:
        if isinstance(item, HasEvents):
            events.extend(item.to_events())
    return events


class StoreSink:
    """Writes the events of each batch to an `EventStore` (upserts by event id).

    With `durable`, each write flushes, so a return means stored: the Kafka worker commits
    its offsets only after that.
    """

    def __init__(self, store: Any, *, durable: bool = False) -> None:
        self.store = store
        self.durable = durable
        self.written = 0

    def write(self, items: list[Any]) -> None:
        events = events_of(items)
        if events:
            self.store.put(events)
            if self.durable:
                self.store.flush()
            self.written += len(events)

    def close(self) -> None:
        self.store.flush()


class JsonlSink:
    """Appends events (or dead letters) as JSON lines to a file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")
        self.written = 0

    def write(self, items: list[Any]) -> None:
        for item in items:
            if isinstance(item, DeadLetter):
                rows = [dead_letter_dict(item)]
            else:
                rows = [e.to_dict() for e in events_of([item])]
            for row in rows:
                self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                self.written += 1
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class MemorySink:
    """Keeps every item in a list; for tests and small interactive runs."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._lock = threading.Lock()

    def write(self, items: list[Any]) -> None:
        with self._lock:
            self.items.extend(items)

    def close(self) -> None:
        pass


def dead_letter_dict(d: DeadLetter) -> dict[str, Any]:
    """A JSON-able view of a dead letter (payload as its size, not its bytes)."""
    return {
        "stream_id": d.stream_id,
        "key": d.key,
        "stage": d.stage,
        "reason": d.reason,
        "error": d.error,
        "payload_bytes": None if d.payload is None else len(d.payload),
        "time": d.time,
    }
