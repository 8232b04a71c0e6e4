"""senri's own typed query model for event stores, and its pure-Python reference evaluator.

Filters (combine freely):
    Eq(field, value)                 exact match
    In(field, values)                any of the values
    Range(field, gte=, gt=, lte=, lt=)   numeric bounds (time is epoch seconds)
    Exists(field)                    the field has a value
    Text(query)                      every word of `query` appears in the event's text
    And(...), Or(...), Not(f)

Fields: id, stream_id, time, end_time, kind, label, confidence, track_id, text, source, and
``attributes.<name>`` for any attribute name made of letters, digits and underscores.

Aggregations: ``count(filter, distinct=field)``, `Terms(field, size, distinct)` (group-by) and
`Histogram(interval_seconds, distinct)` over time. Every backend compiles these objects itself;
user text only ever reaches a backend as a bound value, never as query syntax.

Example:
    >>> f = And(Eq("stream_id", "cam3"), Eq("attributes.colour", "red"), Range("time", gte=36000))
    >>> matches(f, Event("1", "cam3", 40000.0, "object", "car", attributes={"colour": "red"}))
    True
"""

from __future__ import annotations

import math
import operator
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from senri.errors import QueryError
from senri.records import Event

FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "stream_id": (str,),
    "time": (int, float),
    "end_time": (int, float),
    "kind": (str,),
    "label": (str,),
    "confidence": (int, float),
    "track_id": (int,),
    "text": (str,),
    "source": (str,),
}
NUMERIC = {"time", "end_time", "confidence", "track_id"}
_ATTR = re.compile(r"^attributes\.([A-Za-z_][A-Za-z0-9_]{0,63})$")
_WORD = re.compile(r"\w+", re.UNICODE)
SCALAR = (str, int, float, bool)
MAX_LIMIT = 10_000
_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def check_field(name: str) -> str | None:
    """Validate a field name; returns the attribute name for ``attributes.x``, else None."""
    if name in FIELD_TYPES:
        return None
    m = _ATTR.match(name)
    if m is None:
        raise QueryError(
            f"unknown field {name!r}: use one of {', '.join(FIELD_TYPES)} or attributes.<name>"
        )
    return m.group(1)


def _check_value(name: str, value: Any) -> None:
    if not isinstance(value, SCALAR):
        raise QueryError(
            f"value for {name!r} must be a string, number or bool; got {type(value).__name__}"
        )
    types = FIELD_TYPES.get(name)
    if types is not None and (
        not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
    ):
        raise QueryError(
            f"value for {name!r} must be {' or '.join(t.__name__ for t in types)}; got {value!r}"
        )


def words(text: str | None) -> list[str]:
    """Lower-cased word tokens, the unit `Text` matches on."""
    return _WORD.findall(text.lower()) if text else []


@dataclass(frozen=True)
class Eq:
    field: str
    value: Any

    def __post_init__(self) -> None:
        check_field(self.field)
        _check_value(self.field, self.value)


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Any, ...]

    def __init__(self, field: str, values: Iterable[Any]) -> None:
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "values", tuple(values))
        check_field(field)
        if not self.values:
            raise QueryError(f"In({field!r}) needs at least one value")
        for v in self.values:
            _check_value(field, v)


@dataclass(frozen=True)
class Range:
    field: str
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None

    def __post_init__(self) -> None:
        attr = check_field(self.field)
        if attr is None and self.field not in NUMERIC:
            raise QueryError(
                f"Range needs a numeric field ({', '.join(sorted(NUMERIC))}); got {self.field!r}"
            )
        bounds = (self.gte, self.gt, self.lte, self.lt)
        if all(b is None for b in bounds):
            raise QueryError(f"Range({self.field!r}) needs at least one bound")
        for b in bounds:
            if b is not None and (
                isinstance(b, bool) or not isinstance(b, int | float) or math.isnan(b)
            ):
                raise QueryError(f"Range bounds must be numbers; got {b!r}")

    def bounds(self) -> list[tuple[str, float]]:
        ops = (("gte", ">="), ("gt", ">"), ("lte", "<="), ("lt", "<"))
        return [
            (op, float(getattr(self, name))) for name, op in ops if getattr(self, name) is not None
        ]


@dataclass(frozen=True)
class Exists:
    field: str

    def __post_init__(self) -> None:
        check_field(self.field)


@dataclass(frozen=True)
class Text:
    query: str

    def __post_init__(self) -> None:
        if not isinstance(self.query, str) or not words(self.query):
            raise QueryError("Text needs at least one word")
        if len(self.query) > 1000:
            raise QueryError("Text query longer than 1000 characters")


@dataclass(frozen=True)
class And:
    clauses: tuple[Filter, ...]

    def __init__(self, *clauses: Filter) -> None:
        object.__setattr__(self, "clauses", tuple(clauses))
        _check_clauses("And", self.clauses)


@dataclass(frozen=True)
class Or:
    clauses: tuple[Filter, ...]

    def __init__(self, *clauses: Filter) -> None:
        object.__setattr__(self, "clauses", tuple(clauses))
        _check_clauses("Or", self.clauses)


@dataclass(frozen=True)
class Not:
    clause: Filter

    def __post_init__(self) -> None:
        _check_clauses("Not", (self.clause,))


Filter = Eq | In | Range | Exists | Text | And | Or | Not
_FILTER_TYPES = (Eq, In, Range, Exists, Text, And, Or, Not)


def _check_clauses(name: str, clauses: Sequence[Any]) -> None:
    if not clauses:
        raise QueryError(f"{name} needs at least one clause")
    for c in clauses:
        if not isinstance(c, _FILTER_TYPES):
            raise QueryError(f"{name} clause must be a filter, not {type(c).__name__}")


@dataclass(frozen=True)
class Query:
    """A search: which events, in what order, how many."""

    filter: Filter | None = None
    sort: str = "time"
    descending: bool = False
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if self.sort not in FIELD_TYPES or self.sort == "text":
            raise QueryError(f"cannot sort by {self.sort!r}")
        if not 0 <= self.limit <= MAX_LIMIT:
            raise QueryError(f"limit must be within 0..{MAX_LIMIT}; got {self.limit}")
        if self.offset < 0:
            raise QueryError("offset must be >= 0")


@dataclass(frozen=True)
class Terms:
    """Group by the values of `field`; each bucket counts events, or distinct `distinct` values."""

    field: str
    size: int = 10
    distinct: str | None = None

    def __post_init__(self) -> None:
        check_field(self.field)
        if self.field == "text":
            raise QueryError("cannot group by text")
        if self.distinct is not None:
            check_field(self.distinct)
        if not 1 <= self.size <= 1000:
            raise QueryError("Terms.size must be within 1..1000")


@dataclass(frozen=True)
class Histogram:
    """Events (or distinct values) per time bucket of `interval` seconds.

    Buckets whose count is 0 are omitted, including buckets whose events all lack the
    `distinct` field, as with `Terms`.
    """

    interval: float
    distinct: str | None = None

    def __post_init__(self) -> None:
        if not self.interval >= 1:
            raise QueryError("Histogram.interval must be at least 1 second")
        if self.distinct is not None:
            check_field(self.distinct)


Aggregation = Terms | Histogram


@dataclass(frozen=True)
class Bucket:
    key: Any
    count: int


# ---- the reference evaluator -------------------------------------------------------------


def value_of(event: Event, name: str) -> Any:
    attr = check_field(name)
    if attr is not None:
        return event.attributes.get(attr)
    return getattr(event, name)


def matches(f: Filter | None, event: Event) -> bool:
    """Whether `event` satisfies filter `f` (None matches everything)."""
    if f is None:
        return True
    if isinstance(f, Eq):
        return bool(value_of(event, f.field) == f.value)
    if isinstance(f, In):
        return value_of(event, f.field) in f.values
    if isinstance(f, Range):
        v = value_of(event, f.field)
        if not isinstance(v, int | float) or isinstance(v, bool):
            return False
        return all(_OPS[op](v, b) for op, b in f.bounds())
    if isinstance(f, Exists):
        return value_of(event, f.field) is not None
    if isinstance(f, Text):
        have = set(words(event.text))
        return all(w in have for w in words(f.query))
    if isinstance(f, And):
        return all(matches(c, event) for c in f.clauses)
    if isinstance(f, Or):
        return any(matches(c, event) for c in f.clauses)
    return not matches(f.clause, event)


def search(events: Iterable[Event], q: Query) -> list[Event]:
    hits = [e for e in events if matches(q.filter, e)]
    present = [e for e in hits if value_of(e, q.sort) is not None]
    missing = [e for e in hits if value_of(e, q.sort) is None]
    present.sort(key=lambda e: (value_of(e, q.sort), e.id), reverse=q.descending)
    missing.sort(key=lambda e: e.id, reverse=q.descending)
    return (present + missing)[q.offset : q.offset + q.limit]


def count(events: Iterable[Event], f: Filter | None, distinct: str | None = None) -> int:
    hits = [e for e in events if matches(f, e)]
    if distinct is None:
        return len(hits)
    return len({v for e in hits if (v := value_of(e, distinct)) is not None})


def aggregate(events: Iterable[Event], f: Filter | None, agg: Aggregation) -> list[Bucket]:
    groups: dict[Any, list[Event]] = defaultdict(list)
    for e in events:
        if not matches(f, e):
            continue
        if isinstance(agg, Terms):
            key = value_of(e, agg.field)
            if key is None:
                continue
        else:
            key = math.floor(e.time / agg.interval) * agg.interval
        groups[key].append(e)
    distinct = agg.distinct
    counts = Counter(
        {
            k: len(v)
            if distinct is None
            else len({x for e in v if (x := value_of(e, distinct)) is not None})
            for k, v in groups.items()
        }
    )
    if isinstance(agg, Histogram):
        return [Bucket(float(k), counts[k]) for k in sorted(counts) if counts[k] > 0]
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return [Bucket(k, c) for k, c in ranked[: agg.size] if c > 0]
