"""The embedded event store: one SQLite file, safe to share between threads.

Filters compile to SQL with every user value bound as a parameter (attribute paths included),
so no input ever becomes SQL text. Text search matches whole lower-cased words, like the
reference evaluator. WAL mode lets queries run while a pipeline writes.

Example:
    store = SqliteEventStore("run/events.sqlite")
    store.count(Eq("label", "car"), distinct="track_id")
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from senri.errors import StoreError
from senri.indexes.events import query as q
from senri.records import Event

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    stream_id TEXT NOT NULL,
    time REAL NOT NULL,
    end_time REAL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    confidence REAL NOT NULL,
    track_id INTEGER,
    bbox TEXT,
    text TEXT,
    text_words TEXT,
    attributes TEXT NOT NULL,
    source TEXT
);
CREATE INDEX IF NOT EXISTS events_stream_time ON events (stream_id, time);
CREATE INDEX IF NOT EXISTS events_label_time ON events (label, time);
CREATE INDEX IF NOT EXISTS events_kind_time ON events (kind, time);
"""
_COLUMNS = (
    "id, stream_id, time, end_time, kind, label, confidence, track_id, bbox, text, attributes, "
    "source"
)
_OPS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}


def _expr(name: str, params: list[Any]) -> str:
    """SQL for a field; attribute paths are bound parameters, column names come from a whitelist."""
    attr = q.check_field(name)
    if attr is None:
        return name
    params.append(f'$."{attr}"')
    return "json_extract(attributes, ?)"


def compile_filter(f: q.Filter | None, params: list[Any]) -> str:
    """Compile a filter into a WHERE clause, appending its values to `params`."""
    if f is None:
        return "1"
    if isinstance(f, q.Eq):
        col = _expr(f.field, params)
        params.append(f.value)
        return f"{col} = ?"
    if isinstance(f, q.In):
        col = _expr(f.field, params)
        params.extend(f.values)
        return f"{col} IN ({', '.join('?' * len(f.values))})"
    if isinstance(f, q.Range):
        parts = []
        for op, bound in f.bounds():
            col = _expr(f.field, params)
            params.append(bound)
            parts.append(f"{col} {op} ?")
        col = _expr(f.field, params)
        parts.append(f"typeof({col}) IN ('integer', 'real')")
        return "(" + " AND ".join(parts) + ")"
    if isinstance(f, q.Exists):
        return f"{_expr(f.field, params)} IS NOT NULL"
    if isinstance(f, q.Text):
        parts = []
        for word in q.words(f.query):
            params.append(f" {word} ")
            parts.append("instr(text_words, ?) > 0")
        return "(" + " AND ".join(parts) + ")"
    if isinstance(f, q.And | q.Or):
        joiner = " AND " if isinstance(f, q.And) else " OR "
        return "(" + joiner.join(compile_filter(c, params) for c in f.clauses) + ")"
    return f"NOT ({compile_filter(f.clause, params)})"


def _row_to_event(row: sqlite3.Row) -> Event:
    bbox = json.loads(row["bbox"]) if row["bbox"] else None
    return Event(
        id=row["id"],
        stream_id=row["stream_id"],
        time=row["time"],
        kind=row["kind"],
        label=row["label"],
        confidence=row["confidence"],
        end_time=row["end_time"],
        track_id=row["track_id"],
        bbox=tuple(bbox) if bbox else None,
        text=row["text"],
        attributes=json.loads(row["attributes"]),
        source=row["source"],
    )


class SqliteEventStore:
    """`EventStore` on a SQLite file (``":memory:"`` for a private in-memory database)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open event store {self.path}: {exc}") from None

    def _query(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def put(self, events: Sequence[Event]) -> None:
        rows = [
            (
                e.id,
                e.stream_id,
                e.time,
                e.end_time,
                e.kind,
                e.label,
                e.confidence,
                e.track_id,
                json.dumps(list(e.bbox)) if e.bbox is not None else None,
                e.text,
                " " + " ".join(q.words(e.text)) + " " if e.text else None,
                json.dumps(dict(e.attributes), ensure_ascii=False),
                e.source,
            )
            for e in events
        ]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO events (id, stream_id, time, end_time, kind, label, "
                    "confidence, track_id, bbox, text, text_words, attributes, source) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise StoreError(f"writing {len(rows)} events failed: {exc}") from None

    def get(self, event_id: str) -> Event | None:
        rows = self._query(f"SELECT {_COLUMNS} FROM events WHERE id = ?", [event_id])
        return _row_to_event(rows[0]) if rows else None

    def search(self, query: q.Query) -> list[Event]:
        params: list[Any] = []
        where = compile_filter(query.filter, params)
        direction = "DESC" if query.descending else "ASC"
        col = query.sort  # validated against the field whitelist by Query
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE {where} "
            f"ORDER BY {col} IS NULL, {col} {direction}, id {direction} LIMIT ? OFFSET ?"
        )
        return [_row_to_event(r) for r in self._query(sql, [*params, query.limit, query.offset])]

    def count(self, filter: q.Filter | None = None, distinct: str | None = None) -> int:
        params: list[Any] = []
        what = "COUNT(*)" if distinct is None else f"COUNT(DISTINCT {_expr(distinct, params)})"
        where = compile_filter(filter, params)
        return int(self._query(f"SELECT {what} FROM events WHERE {where}", params)[0][0])

    def aggregate(self, filter: q.Filter | None, agg: q.Aggregation) -> list[q.Bucket]:
        params: list[Any] = []
        if isinstance(agg, q.Terms):
            key = _expr(agg.field, params)
        else:
            key = "CAST(time / ? AS INTEGER) * ?"
            params.extend([agg.interval, float(agg.interval)])
        metric = (
            "COUNT(*)" if agg.distinct is None else f"COUNT(DISTINCT {_expr(agg.distinct, params)})"
        )
        where = compile_filter(filter, params)
        sql = (
            f"SELECT {key} AS k, {metric} AS c FROM events WHERE {where} "
            "GROUP BY k HAVING k IS NOT NULL AND c > 0"
        )
        if isinstance(agg, q.Terms):
            sql += " ORDER BY c DESC, CAST(k AS TEXT) ASC LIMIT ?"
            params.append(agg.size)
            return [q.Bucket(r["k"], int(r["c"])) for r in self._query(sql, params)]
        sql += " ORDER BY k"
        return [q.Bucket(float(r["k"]), int(r["c"])) for r in self._query(sql, params)]

    def delete(self, ids: Sequence[str]) -> int:
        with self._lock:
            before = self._db.total_changes
            self._db.executemany("DELETE FROM events WHERE id = ?", [(i,) for i in ids])
            return self._db.total_changes - before

    def delete_matching(self, filter: q.Filter) -> int:
        params: list[Any] = []
        where = compile_filter(filter, params)
        with self._lock:
            before = self._db.total_changes
            self._db.execute(f"DELETE FROM events WHERE {where}", params)
            return self._db.total_changes - before

    def flush(self) -> None:
        pass  # every put commits

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM events")

    def close(self) -> None:
        with self._lock:
            self._db.close()
