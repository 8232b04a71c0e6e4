"""``GET /events`` and ``POST /events``: structured search over the event store.

Both take the fields of `senri.search.events.SearchRequest`; GET as query parameters (``stream``,
``kind``, ``label`` and ``attr=name=value`` repeat), POST as a JSON object (``attributes`` as
an object of name -> value or list of values). Every field is parsed into senri's typed query
objects; nothing a client sends becomes query text. Answers ``SearchResult.to_dict()``;
422 with the reason for a bad request, 503 when the store cannot be opened or queried.

Example:
    app.include_router(events_router(lambda: open_store("sqlite:events.sqlite")))  # indexes.stores
    # curl 'localhost:8000/events?stream=cam3&label=car&attr=colour=red&aggregate=tracks'
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from typing import Annotated, Any

from senri.api.openapi import EVENTS_BODY, errors
from senri.errors import QueryError, StoreError
from senri.indexes.events.store import EventStore
from senri.records import Event
from senri.search.events import SearchRequest, run_search

try:
    from fastapi import APIRouter, HTTPException, Query, Request
    from fastapi.concurrency import run_in_threadpool
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from senri.errors import MissingDependencyError

    raise MissingDependencyError("fastapi", "the HTTP API (pip install fastapi)") from exc

MAX_BODY = 64 * 1024
# GET parameter -> SearchRequest field; the repeatable ones are lists
_GET_FIELDS = {
    "stream": "streams",
    "kind": "kinds",
    "label": "labels",
    "attr": "attributes",
    "start": "start",
    "end": "end",
    "text": "text",
    "min_confidence": "min_confidence",
    "tracked_only": "tracked_only",
    "aggregate": "aggregate",
    "interval": "interval",
    "group_by": "group_by",
    "limit": "limit",
    "offset": "offset",
    "order": "order",
}
_REPEATED = {"stream", "kind", "label", "attr"}
_UNAVAILABLE = (StoreError, OSError, sqlite3.Error)

StrList = Annotated[list[str] | None, Query()]
Str = Annotated[str | None, Query()]


class _LazyStore:
    """The store from `factory`, opened on first use and again after a failed open."""

    def __init__(self, factory: Callable[[], EventStore]) -> None:
        self._factory = factory
        self._store: EventStore | None = None
        self._lock = threading.Lock()

    def get(self) -> EventStore:
        with self._lock:
            if self._store is None:
                self._store = self._factory()
            return self._store


async def json_object(request: Request, limit: int, *, shape: str, empty: bytes = b"{}") -> Any:
    """A request's JSON object body, or the 413 / 422 that says what is wrong with it."""
    raw = await request.body()
    if len(raw) > limit:
        raise HTTPException(413, f"request body over {limit} bytes")
    try:
        data = json.loads(raw or empty)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(422, f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise HTTPException(422, f"the body must be a JSON object {shape}")
    return data


def events_router(
    store_factory: Callable[[], EventStore],
    thumbnail: Callable[[Event], str | None] | None = None,
) -> APIRouter:
    """The ``/events`` routes over the store `store_factory` opens (once, on first request).

    The router keeps the store for its lifetime and never closes it. `thumbnail` gives listed
    events a picture's URL when the server knows their stream's video."""
    router = APIRouter(tags=["events"])
    stores = _LazyStore(store_factory)

    def answer(data: dict[str, Any]) -> dict[str, Any]:
        try:
            req = SearchRequest.from_mapping(data)
        except QueryError as exc:
            raise HTTPException(422, str(exc)) from None
        try:
            return run_search(stores.get(), req, thumbnail).to_dict()
        except QueryError as exc:
            raise HTTPException(422, str(exc)) from None
        except _UNAVAILABLE as exc:
            raise HTTPException(503, f"event store unavailable: {exc}") from None

    @router.get("/events", responses=errors(422, 503))
    def get_events(
        request: Request,
        stream: StrList = None,
        start: Str = None,
        end: Str = None,
        kind: StrList = None,
        label: StrList = None,
        attr: StrList = None,
        text: Str = None,
        min_confidence: Str = None,
        tracked_only: Str = None,
        aggregate: Str = None,
        interval: Str = None,
        group_by: Str = None,
        limit: Str = None,
        offset: Str = None,
        order: Str = None,
    ) -> dict[str, Any]:
        """Events matching the query parameters (``attr`` as ``name=value``; repeat
        ``stream``, ``kind``, ``label`` and ``attr`` for any-of)."""
        data: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key not in _GET_FIELDS:
                raise HTTPException(
                    422,
                    f"unknown parameter {key[:40]!r}; use {', '.join(sorted(_GET_FIELDS))}",
                )
            name = _GET_FIELDS[key]
            if key in _REPEATED:
                data.setdefault(name, []).append(value)
            elif name in data:
                raise HTTPException(422, f"{key}: give it once")
            else:
                data[name] = value
        return answer(data)

    @router.post("/events", responses=errors(413, 422, 503), openapi_extra=EVENTS_BODY)
    async def post_events(request: Request) -> dict[str, Any]:
        """Events matching a JSON object of `SearchRequest` fields."""
        data = await json_object(request, MAX_BODY, shape="of search fields")
        return await run_in_threadpool(answer, data)

    return router
