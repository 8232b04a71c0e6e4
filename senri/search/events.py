"""Structured search over the event store: a checked request in, typed queries out.

A `SearchRequest` says which events (streams, a time window, kinds, labels, attribute values,
words of text, a confidence floor, tracked only) and what to return: the matching events a page
at a time, their count, the number of distinct tracks, a time histogram or a group-by. User
input never reaches a store as query text: `from_mapping` checks every field and
`compile_filter` builds senri's typed filters (`senri.indexes.events.query`), which each backend
compiles with the values bound.

Example:
    >>> req = SearchRequest.from_mapping({"streams": ["cam3"], "labels": ["car"],
    ...                                   "attributes": {"colour": "red"}})
    >>> compile_filter(req)
    And(clauses=(Eq(field='stream_id', value='cam3'), Eq(field='label', value='car'), \
Eq(field='attributes.colour', value='red')))
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from senri.ask.types import Evidence
from senri.errors import QueryError
from senri.indexes.events import query as q
from senri.indexes.events.store import EventStore
from senri.records import Event

Scalar = str | int | float | bool
Aggregate = Literal["none", "count", "tracks", "histogram", "terms"]
Order = Literal["asc", "desc"]

MAX_LIMIT = 1000
MAX_OFFSET = 10_000
MAX_VALUES = 100  # values of one list field (streams, labels, one attribute, ...)
MAX_ATTRIBUTES = 20
MAX_VALUE_CHARS = 256
MAX_BUCKETS = 10_000  # histogram buckets one request may ask for
MAX_TRACK_STREAMS = 1000  # streams a "tracks" count can sum over (one Terms aggregation)
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def iso(t: float | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC (``2026-11-27T10:00:00.000Z``)."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(name: str, value: Any) -> float | None:
    """Epoch seconds from a number, a numeric string or ISO 8601 (UTC when it has no offset)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise QueryError(f"{name}: expected a time, got {value!r}")
    if isinstance(value, int | float):
        t = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if _NUMBER.match(text):
            t = float(text)
        else:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise QueryError(
                    f"{name}: {value[:40]!r} is neither epoch seconds nor ISO 8601 "
                    "(like 2026-11-27T10:00 or 2026-11-27T10:00+01:00)"
                ) from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            t = moment.timestamp()
    else:
        raise QueryError(f"{name}: expected a time, got {type(value).__name__}")
    if not math.isfinite(t) or not 0 <= t < 1e11:
        raise QueryError(f"{name}: {value!r} is out of range")
    return t


def _int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,12}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise QueryError(f"{name}: expected an integer, got {_show(value)}")
    if not low <= value <= high:
        raise QueryError(f"{name}: must be within {low}..{high}; got {value}")
    return value


def _float(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise QueryError(f"{name}: expected a number, got {_show(value)}")
    if not low <= value <= high:
        raise QueryError(f"{name}: must be within {low:g}..{high:g}; got {value:g}")
    return float(value)


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise QueryError(f"{name}: expected true or false, got {_show(value)}")


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise QueryError(f"{name}: expected a string, got {_show(value)}")
    if not value or len(value) > MAX_VALUE_CHARS:
        raise QueryError(f"{name}: values must be 1..{MAX_VALUE_CHARS} characters")
    return value


def _strings(name: str, value: Any) -> tuple[str, ...]:
    """One string or a list of them."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise QueryError(f"{name}: expected a string or a list of strings, got {_show(value)}")
    if len(items) > MAX_VALUES:
        raise QueryError(f"{name}: at most {MAX_VALUES} values; got {len(items)}")
    return tuple(dict.fromkeys(_text(name, v) for v in items))


def _show(value: Any) -> str:
    """A short description of a bad value for an error message."""
    if isinstance(value, dict | list | tuple):
        return type(value).__name__
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _attribute_value(name: str, value: Any) -> Scalar:
    where = f"attributes.{name}"
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QueryError(f"{where}: values must be finite numbers")
        return value
    if isinstance(value, str):
        return _text(where, value)
    raise QueryError(f"{where}: values must be strings, numbers or booleans; got {_show(value)}")


def parse_attribute(text: str) -> tuple[str, tuple[Scalar, ...]]:
    """``name=value`` from a URL or the command line, as the values it matches.

    ``true``/``false`` become booleans; a number matches the number or the same string (the
    text gives no type), anything else the string."""
    if not isinstance(text, str) or "=" not in text:
        raise QueryError(f"attributes: expected name=value, got {_show(text)}")
    name, _, raw = text.partition("=")
    name = name.strip()
    if raw.strip().lower() in ("true", "false"):
        return name, (raw.strip().lower() == "true",)
    if _NUMBER.match(raw.strip()):
        number = float(raw)
        return name, (raw, int(number) if number.is_integer() and "." not in raw else number)
    return name, (raw,)


def _attributes(value: Any) -> dict[str, tuple[Scalar, ...]]:
    """``{name: value | [values]}`` (JSON) or ``["name=value", ...]`` (URL, command line)."""
    merged: dict[str, list[Any]] = {}
    if isinstance(value, Mapping):
        for name, v in value.items():
            merged.setdefault(name, []).extend(v if isinstance(v, list | tuple) else [v])
    elif isinstance(value, str | list | tuple):
        for item in [value] if isinstance(value, str) else value:
            name, values = parse_attribute(item)
            merged.setdefault(name, []).extend(values)
    else:
        raise QueryError(
            'attributes: expected an object like {"colour": "red"} or name=value strings'
        )
    return {name: tuple(values) for name, values in merged.items()}


@dataclass(frozen=True)
class SearchRequest:
    """Which events to find and what to return; checked on construction.

    Events match when they are in one of `streams`, at ``start <= time < end`` (epoch seconds),
    of one of `kinds` and `labels`, have for each attribute one of its values, contain every
    word of `text`, have ``confidence >= min_confidence`` and (with `tracked_only`) a track.
    Empty tuples and None mean "any". `aggregate` picks the answer: ``none`` (a page of events,
    `limit` from `offset`, by time in `order`), ``count``, ``tracks`` (distinct (stream,
    track) pairs), ``histogram`` (per `interval` seconds) or ``terms`` (the `limit` most common
    values of `group_by`).

    Example:
        >>> SearchRequest(labels=("car",), aggregate="tracks").aggregate
        'tracks'
    """

    streams: tuple[str, ...] = ()
    start: float | None = None
    end: float | None = None
    kinds: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    attributes: dict[str, tuple[Scalar, ...]] = field(default_factory=dict)
    text: str | None = None
    min_confidence: float | None = None
    tracked_only: bool = False
    aggregate: Aggregate = "none"
    interval: float = 3600.0
    group_by: str | None = None
    limit: int = 50
    offset: int = 0
    order: Order = "asc"

    def __post_init__(self) -> None:
        for name in ("streams", "kinds", "labels"):
            object.__setattr__(self, name, _strings(name, getattr(self, name)))
        for name in ("start", "end"):
            object.__setattr__(self, name, parse_time(name, getattr(self, name)))
        if self.start is not None and self.end is not None and self.start > self.end:
            raise QueryError(f"start ({iso(self.start)}) is after end ({iso(self.end)})")
        self._check_attributes()
        if self.text is not None:
            if not isinstance(self.text, str):
                raise QueryError(f"text: expected a string, got {_show(self.text)}")
            if len(self.text) > 1000:
                raise QueryError("text: at most 1000 characters")
            if not q.words(self.text):
                raise QueryError("text: needs at least one word (letters or digits)")
        if self.min_confidence is not None:
            conf = _float("min_confidence", self.min_confidence, 0.0, 1.0)
            object.__setattr__(self, "min_confidence", conf)
        if not isinstance(self.tracked_only, bool):
            raise QueryError(
                f"tracked_only: expected true or false, got {_show(self.tracked_only)}"
            )
        if self.aggregate not in get_args(Aggregate):
            raise QueryError(
                f"aggregate: must be one of {', '.join(get_args(Aggregate))}; "
                f"got {_show(self.aggregate)}"
            )
        interval = _float("interval", self.interval, 1.0, 366 * 86400.0)
        object.__setattr__(self, "interval", interval)
        self._check_group_by()
        _int("limit", self.limit, 1, MAX_LIMIT)
        _int("offset", self.offset, 0, MAX_OFFSET)
        if self.order not in get_args(Order):
            raise QueryError(f"order: must be asc or desc; got {_show(self.order)}")

    def _check_attributes(self) -> None:
        if not isinstance(self.attributes, Mapping):
            raise QueryError("attributes: expected an object of name -> values")
        if len(self.attributes) > MAX_ATTRIBUTES:
            raise QueryError(f"attributes: at most {MAX_ATTRIBUTES} names")
        checked: dict[str, tuple[Scalar, ...]] = {}
        for name, values in self.attributes.items():
            if not isinstance(name, str):
                raise QueryError(f"attributes: names must be strings, got {_show(name)}")
            try:
                q.check_field(f"attributes.{name}")
            except QueryError:
                raise QueryError(
                    f"attributes: name {_show(name)} must be letters, digits and underscores "
                    "(not starting with a digit, at most 64)"
                ) from None
            items = values if isinstance(values, tuple | list) else (values,)
            if not 1 <= len(items) <= MAX_VALUES:
                raise QueryError(f"attributes.{name}: give 1..{MAX_VALUES} values")
            checked[name] = tuple(dict.fromkeys(_attribute_value(name, v) for v in items))
        object.__setattr__(self, "attributes", checked)

    def _check_group_by(self) -> None:
        if self.group_by is None:
            if self.aggregate == "terms":
                raise QueryError("group_by: required when aggregate is terms")
            return
        if self.aggregate != "terms":
            raise QueryError("group_by: only with aggregate terms")
        name = _text("group_by", self.group_by)
        try:
            q.Terms(name)
        except QueryError as exc:
            raise QueryError(f"group_by: {exc}") from None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SearchRequest:
        """From a JSON body or query parameters (strings are accepted for numbers and bools).

        Raises `QueryError` naming the field for unknown keys, wrong types, values out of
        range, and start after end."""
        if not isinstance(data, Mapping):
            raise QueryError("the request must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k)[:40] for k in data if k not in known)
        if unknown:
            raise QueryError(
                f"unknown field(s) {', '.join(map(repr, unknown))}; use {', '.join(sorted(known))}"
            )
        d = {k: v for k, v in data.items() if v is not None}
        kwargs: dict[str, Any] = {}
        for name in ("streams", "kinds", "labels"):
            if name in d:
                kwargs[name] = _strings(name, d[name])
        for name in ("start", "end"):
            if name in d:
                kwargs[name] = parse_time(name, d[name])
        if "attributes" in d:
            kwargs["attributes"] = _attributes(d["attributes"])
        if d.get("text") not in (None, ""):
            kwargs["text"] = d["text"]
        if d.get("min_confidence") not in (None, ""):
            kwargs["min_confidence"] = _float("min_confidence", d["min_confidence"], 0.0, 1.0)
        if "tracked_only" in d:
            kwargs["tracked_only"] = _bool("tracked_only", d["tracked_only"])
        if d.get("group_by") not in (None, ""):
            kwargs["group_by"] = d["group_by"]
        kwargs["aggregate"] = d.get("aggregate") or ("terms" if "group_by" in kwargs else "none")
        if "interval" in d:
            kwargs["interval"] = _float("interval", d["interval"], 1.0, 366 * 86400.0)
        if "limit" in d:
            kwargs["limit"] = _int("limit", d["limit"], 1, MAX_LIMIT)
        if "offset" in d:
            kwargs["offset"] = _int("offset", d["offset"], 0, MAX_OFFSET)
        if "order" in d:
            kwargs["order"] = d["order"]
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "streams": list(self.streams),
            "start": self.start,
            "end": self.end,
            "start_iso": iso(self.start),
            "end_iso": iso(self.end),
            "kinds": list(self.kinds),
            "labels": list(self.labels),
            "attributes": {k: list(v) for k, v in self.attributes.items()},
            "text": self.text,
            "min_confidence": self.min_confidence,
            "tracked_only": self.tracked_only,
            "aggregate": self.aggregate,
            "interval": self.interval,
            "group_by": self.group_by,
            "limit": self.limit,
            "offset": self.offset,
            "order": self.order,
        }


def _any_of(name: str, values: Sequence[Any]) -> q.Filter:
    return q.Eq(name, values[0]) if len(values) == 1 else q.In(name, values)


def compile_filter(req: SearchRequest) -> q.Filter | None:
    """The typed filter the request stands for (None: every event)."""
    clauses: list[q.Filter] = []
    if req.streams:
        clauses.append(_any_of("stream_id", req.streams))
    if req.start is not None or req.end is not None:
        clauses.append(q.Range("time", gte=req.start, lt=req.end))
    if req.kinds:
        clauses.append(_any_of("kind", req.kinds))
    if req.labels:
        clauses.append(_any_of("label", req.labels))
    for name, values in req.attributes.items():
        clauses.append(_any_of(f"attributes.{name}", values))
    if req.text is not None:
        clauses.append(q.Text(req.text))
    if req.min_confidence is not None:
        clauses.append(q.Range("confidence", gte=req.min_confidence))
    if req.tracked_only:
        clauses.append(q.Exists("track_id"))
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else q.And(*clauses)


@dataclass(frozen=True)
class SearchResult:
    """What a search found: `total` matching events and, by `aggregate`, the page of `events`,
    the number of distinct `tracks` (with one bucket per stream) or the `buckets`."""

    request: SearchRequest
    total: int
    events: tuple[Evidence, ...] = ()
    tracks: int | None = None
    buckets: tuple[q.Bucket, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        histogram = self.request.aggregate == "histogram"
        return {
            "request": self.request.to_dict(),
            "total": self.total,
            "events": [
                e.to_dict() | {"time_iso": iso(e.time), "end_time_iso": iso(e.end_time)}
                for e in self.events
            ],
            "tracks": self.tracks,
            "buckets": [
                {"key": b.key, "count": b.count} | ({"key_iso": iso(b.key)} if histogram else {})
                for b in self.buckets
            ],
        }


def _check_histogram(store: EventStore, f: q.Filter | None, interval: float) -> None:
    """Refuse a histogram with more than `MAX_BUCKETS` buckets before asking for it."""
    first = store.search(q.Query(f, sort="time", limit=1))
    last = store.search(q.Query(f, sort="time", descending=True, limit=1))
    if not first or not last:
        return
    n = math.floor(last[0].time / interval) - math.floor(first[0].time / interval) + 1
    if n > MAX_BUCKETS:
        need = (last[0].time - first[0].time) / (MAX_BUCKETS - 1)
        raise QueryError(
            f"interval: {interval:g}s would make {n} buckets (at most {MAX_BUCKETS}); "
            f"use at least {math.ceil(need)}s or a shorter time window"
        )


def run_search(
    store: EventStore,
    req: SearchRequest,
    thumbnail: Callable[[Event], str | None] | None = None,
) -> SearchResult:
    """Answer `req` from `store`; raises `QueryError` for a histogram with too many buckets
    or tracks over too many streams, and whatever the store raises (`StoreError`).

    `thumbnail` gives each listed event a picture's URL (the API's ``/frames``), if known."""
    f = compile_filter(req)
    total = store.count(f)
    if req.aggregate == "none":
        query = q.Query(
            f, sort="time", descending=req.order == "desc", limit=req.limit, offset=req.offset
        )
        events = tuple(
            Evidence.of(e, thumbnail(e) if thumbnail else None) for e in store.search(query)
        )
        return SearchResult(req, total, events=events)
    if req.aggregate == "count":
        return SearchResult(req, total)
    if req.aggregate == "tracks":
        tracked = f if req.tracked_only else q.And(*(([f] if f else []) + [q.Exists("track_id")]))
        streams = store.count(tracked, distinct="stream_id")
        if streams > MAX_TRACK_STREAMS:
            raise QueryError(
                f"streams: tracks can be counted over at most {MAX_TRACK_STREAMS} streams "
                f"at once; {streams} match, name some with streams"
            )
        per_stream = store.aggregate(
            tracked, q.Terms("stream_id", size=MAX_TRACK_STREAMS, distinct="track_id")
        )
        return SearchResult(
            req, total, tracks=sum(b.count for b in per_stream), buckets=tuple(per_stream)
        )
    if req.aggregate == "histogram":
        _check_histogram(store, f, req.interval)
        buckets = store.aggregate(f, q.Histogram(req.interval))
        return SearchResult(req, total, buckets=tuple(buckets))
    assert req.group_by is not None  # checked by SearchRequest
    buckets = store.aggregate(f, q.Terms(req.group_by, size=req.limit))
    return SearchResult(req, total, buckets=tuple(buckets))
