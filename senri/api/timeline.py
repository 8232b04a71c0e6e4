"""What the web page's timeline draws: the archive's streams, one stream's lanes, and the
events around a moment on every stream.

- ``GET /streams``: each stream with its first and last event time and its events per kind.
- ``GET /timeline/{stream_id}?start=&end=``: the stream's tracks (one bar per track, with its
  majority label and colour) and its spans (speech, transcripts, sounds, dialect: one per
  event) overlapping [start, end]; without a window, the stream's last hour of events.
- ``GET /around?t=&window=``: what happened on every stream within `window` seconds of `t`,
  tracks collapsed, each with a thumbnail URL where the server knows the stream's video.

At most `MAX_EVENTS` events are read for one answer; ``truncated`` says when that cut.
All three need the ``read`` scope; 503 while the store is unavailable, 422 for bad times.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from typing import Annotated, Any

from senri.api.openapi import errors
from senri.ask.occurrence import Occurrence, group_events, overlapping
from senri.errors import QueryError, StoreError
from senri.indexes.events import query as q
from senri.indexes.events.store import EventStore
from senri.records import Event

try:
    from fastapi import APIRouter, HTTPException, Query
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from senri.errors import MissingDependencyError

    raise MissingDependencyError("fastapi", "the HTTP API (pip install fastapi)") from exc

MAX_EVENTS = 5000
DEFAULT_SPAN_S = 3600.0
_UNAVAILABLE = (StoreError, OSError, sqlite3.Error)
Seconds = Annotated[float | None, Query(description="epoch seconds")]


def _finite(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and 0 <= value < 1e11):
        raise HTTPException(422, f"{name} must be epoch seconds; got {value}")


def _track(o: Occurrence, thumbnail: Callable[[Event], str | None]) -> dict[str, Any]:
    middle = sorted(o.events, key=lambda e: e.time)[len(o.events) // 2]
    return {
        "stream_id": o.stream_id,
        "track_id": middle.track_id,
        "kind": middle.kind,
        "label": o.value("label"),
        "colour": o.value("attributes.colour"),
        "start": o.start,
        "end": o.end,
        "events": len(o.events),
        "confidence": round(o.confidence, 3),
        "at": middle.time,
        "bbox": list(middle.bbox) if middle.bbox is not None else None,
        "thumbnail": thumbnail(middle),
    }


def _span(e: Event, thumbnail: Callable[[Event], str | None]) -> dict[str, Any]:
    return {
        "stream_id": e.stream_id,
        "event_id": e.id,
        "kind": e.kind,
        "label": e.label,
        "text": e.text,
        "start": e.time,
        "end": e.end_time if e.end_time is not None else e.time,
        "confidence": round(e.confidence, 3),
        "attributes": e.attributes,
        "thumbnail": thumbnail(e),
    }


def lanes(
    archive: EventStore, f: q.Filter, thumbnail: Callable[[Event], str | None]
) -> dict[str, Any]:
    """The tracks and spans of the events `f` matches (at most `MAX_EVENTS`): tracked events
    collapsed to one bar per track, the others one each; `truncated` when the cap cut."""
    events = archive.search(q.Query(f, limit=MAX_EVENTS))
    tracked = [e for e in events if e.track_id is not None]
    tracks = sorted(
        (_track(o, thumbnail) for o in group_events(tracked, tracked=True)),
        key=lambda t: (t["start"], t["stream_id"]),
    )
    spans = [_span(e, thumbnail) for e in events if e.track_id is None]
    return {"truncated": len(events) == MAX_EVENTS, "tracks": tracks, "spans": spans}


def timeline_router(
    store: Callable[[], EventStore], thumbnail: Callable[[Event], str | None]
) -> APIRouter:
    """The routes above, over the store `store()` returns."""
    router = APIRouter(tags=["timeline"])

    def read(what: str, call: Callable[[EventStore], Any]) -> Any:
        try:
            return call(store())
        except QueryError as exc:
            raise HTTPException(422, str(exc)) from None
        except _UNAVAILABLE as exc:
            raise HTTPException(503, f"event store unavailable ({what}): {exc}") from None

    @router.get("/streams", responses=errors(503))
    def streams() -> dict[str, Any]:
        """Every stream of the archive: first and last event time, events per kind."""

        def describe(archive: EventStore) -> list[dict[str, Any]]:
            found = []
            for bucket in archive.aggregate(None, q.Terms("stream_id", size=1000)):
                mine = q.Eq("stream_id", bucket.key)
                first = archive.search(q.Query(mine, limit=1))
                last = archive.search(q.Query(mine, descending=True, limit=1))
                kinds = archive.aggregate(mine, q.Terms("kind", size=100))
                found.append(
                    {
                        "stream_id": bucket.key,
                        "events": bucket.count,
                        "first": first[0].time if first else None,
                        "last": last[0].time if last else None,
                        "kinds": {k.key: k.count for k in kinds},
                    }
                )
            return sorted(found, key=lambda s: s["stream_id"])

        return {"streams": read("streams", describe)}

    @router.get("/timeline/{stream_id}", responses=errors(422, 503))
    def timeline(stream_id: str, start: Seconds = None, end: Seconds = None) -> dict[str, Any]:
        """The tracks and spans of `stream_id` overlapping [start, end]."""
        _finite("start", start)
        _finite("end", end)
        if start is not None and end is not None and end < start:
            raise HTTPException(422, "end must not be before start")

        def draw(archive: EventStore) -> dict[str, Any]:
            mine = q.Eq("stream_id", stream_id)
            lo, hi = start, end
            if hi is None:
                last = archive.search(q.Query(mine, descending=True, limit=1))
                hi = last[0].time if last else 0.0
            if lo is None:
                lo = hi - DEFAULT_SPAN_S
            drawn = lanes(archive, q.And(mine, overlapping(lo, hi)), thumbnail)
            return {"stream_id": stream_id, "start": lo, "end": hi, **drawn}

        return read("timeline", draw)

    @router.get("/around", responses=errors(422, 503))
    def around(
        t: Annotated[float, Query(description="epoch seconds")],
        window: Annotated[float, Query(gt=0, le=3600)] = 5.0,
    ) -> dict[str, Any]:
        """What every stream recorded within `window` seconds of `t`: the partners in time."""
        _finite("t", t)

        def near(archive: EventStore) -> dict[str, Any]:
            drawn = lanes(archive, overlapping(t - window, t + window), thumbnail)
            return {"t": t, "window": window, **drawn}

        return read("around", near)

    return router
