"""Retention: delete archived events older than an age, with a dry run that shows what would go.

``senri retention apply --store URL --older-than 30d`` counts the events whose ``time`` is
before now minus the age, per stream and kind, and, once confirmed, deletes them with the
store's `delete_matching` (SQLite: one ``DELETE``; Elasticsearch: pages of bulk deletes, on any
node). The same code serves both stores, so one retention policy covers an embedded run and a
cluster. Videos and snapshots are not events and are not touched.

Example:
    >>> plan = plan_retention(store, older_than_s=parse_age("30d"))   # doctest: +SKIP
    >>> plan.total, plan.cutoff
    (1204, 1764700000.0)
    >>> apply_retention(store, plan)                                 # doctest: +SKIP
    1204
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from senri.indexes.events import query as q
from senri.indexes.events.store import EventStore

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_age(text: str) -> float:
    """Seconds in an age like ``30d``, ``12h``, ``90m``, ``2w`` or ``3600s`` (at least 1 s)."""
    found = _AGE.match(text.lower())
    if found is None:
        raise ValueError(f"age {text!r}: a number and a unit, s m h d or w (30d, 12h, 2w)")
    seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if seconds < 1:
        raise ValueError(f"age {text!r} is under a second")
    return seconds


@dataclass(frozen=True)
class RetentionPlan:
    """What a retention run removes: events with ``time < cutoff``, counted by stream and kind."""

    cutoff: float
    filter: q.Filter
    by_stream: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    total: int = 0
    kept: int = 0


def plan_retention(
    store: EventStore,
    *,
    older_than_s: float,
    streams: list[str] | None = None,
    now: float | None = None,
) -> RetentionPlan:
    """Count what deleting events older than `older_than_s` (in `streams`, or all) would remove."""
    cutoff = (time.time() if now is None else now) - older_than_s
    old: q.Filter = q.Range("time", lt=cutoff)
    if streams:
        old = q.And(old, q.In("stream_id", streams))
    total = store.count(old)
    by_stream = {b.key: b.count for b in store.aggregate(old, q.Terms("stream_id", size=1000))}
    by_kind = {b.key: b.count for b in store.aggregate(old, q.Terms("kind", size=100))}
    return RetentionPlan(cutoff, old, by_stream, by_kind, total, store.count() - total)


def apply_retention(store: EventStore, plan: RetentionPlan) -> int:
    """Delete what `plan` counted (and anything as old written since); returns how many."""
    removed = store.delete_matching(plan.filter)
    store.flush()
    return removed
