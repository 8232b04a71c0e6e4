"""Similar events: a vector search restricted by an event-store filter.

"Similar to this, camera X, last 24 h".

Join key: each collection item that came from an event carries that event's id
(`senri.records.Event.id`) in its metadata under ``event_id`` (the default `key`; the item id
itself may be anything, e.g. the frame key). The store answers the typed filter with the
matching events, paged by id; their ids become a ``MetaIn(key, ids)`` filter inside the FAISS
search, so `k` hits come back whenever `k` matching items exist (no post-filtering loss).

Cost: the store query is paged (`senri.indexes.events.query.MAX_LIMIT` per page) up to `max_events`;
a filter matching more events than that raises `QueryError` — narrow it, or filter on the
collection's own metadata (e.g. ``MetaEq("stream_id", ...)``) instead.

Example:
    >>> f = And(Eq("stream_id", "cam3"), Range("time", gte=time.time() - 86400))  # doctest: +SKIP
    >>> similar_with_filters(replica.collection, store, vec, k=10, event_filter=f)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from senri.errors import QueryError
from senri.indexes.events import query as q
from senri.indexes.events.store import EventStore
from senri.indexes.vectors.filters import MetaAnd, MetaFilter, MetaIn
from senri.indexes.vectors.types import Hit, VectorCollection

__all__ = ["EVENT_ID_KEY", "matching_event_ids", "similar_with_filters"]

EVENT_ID_KEY = "event_id"


def matching_event_ids(
    store: EventStore, event_filter: q.Filter | None, max_events: int
) -> list[str]:
    """The ids of the events matching `event_filter`, paged by id; at most `max_events`."""
    ids: list[str] = []
    page = q.MAX_LIMIT
    while True:
        batch = store.search(q.Query(event_filter, sort="id", limit=page, offset=len(ids)))
        ids.extend(e.id for e in batch)
        if len(ids) > max_events:
            raise QueryError(
                f"the event filter matches more than {max_events} events; narrow it "
                "(e.g. a shorter time range) or filter on the collection's metadata"
            )
        if len(batch) < page:
            return ids


def similar_with_filters(
    collection: VectorCollection,
    store: EventStore,
    vector: Any,
    k: int,
    event_filter: q.Filter | None,
    *,
    key: str = EVENT_ID_KEY,
    meta_filter: MetaFilter | None = None,
    max_events: int = 100_000,
) -> list[Hit]:
    """The `k` items most similar to `vector` among those whose ``metadata[key]`` is the id of
    an event matching `event_filter` (and `meta_filter`, if given), best first.

    Returns fewer than `k` hits only when fewer items match; none when no event matches.
    """
    ids = matching_event_ids(store, event_filter, max_events)
    if not ids:
        return []
    f: MetaFilter = MetaIn(key, ids)
    if meta_filter is not None:
        f = MetaAnd(f, meta_filter)
    return collection.search(vector, k, filter=f)[0]
