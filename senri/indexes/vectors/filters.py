"""Metadata filters for vector collections, and their pure-Python reference evaluator.

A collection item carries flat metadata: ``{key: str | int | float | bool}``. Filters select items
by that metadata and are applied *inside* the nearest-neighbour search (the collection turns the
matching items into a FAISS ID selector), so ``k`` hits come back whenever ``k`` items match.

Two spellings, freely mixed:

- senri's event-query objects (`senri.indexes.events.query`): ``Eq``, ``In``, ``Range``, ``Exists``,
  ``And``, ``Or``, ``Not``. Their fields are event fields (``label``, ``time``, ``source`` …) or
  ``attributes.<name>``; on a collection ``attributes.<name>`` reads metadata key ``<name>`` and a
  plain field reads the metadata key of the same name. ``Text`` is refused.
- ``MetaEq``, ``MetaIn``, ``MetaRange``, ``MetaExists``, ``MetaAnd``, ``MetaOr``, ``MetaNot``, the
  same operators over any metadata key (letters, digits, underscores).

Example:
    >>> f = MetaAnd(MetaEq("category", "shoe"), MetaRange("price", lt=100))
    >>> meta_matches(f, {"category": "shoe", "price": 80.0})
    True
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from senri.errors import QueryError
from senri.indexes.events import query as q

Scalar = str | int | float | bool
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_SCALAR = (str, int, float, bool)


def check_key(key: Any) -> str:
    """Validate a metadata key (also used for the keys of stored metadata)."""
    if not isinstance(key, str) or _KEY.match(key) is None:
        raise QueryError(
            f"metadata key {key!r} must be 1-64 letters, digits or underscores, not starting "
            "with a digit"
        )
    return key


def check_value(key: str, value: Any) -> None:
    """Metadata values are scalars; floats must be finite so filters and JSON agree."""
    if not isinstance(value, _SCALAR):
        raise QueryError(
            f"metadata value for {key!r} must be a string, number or bool; "
            f"got {type(value).__name__}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise QueryError(f"metadata value for {key!r} must be finite; got {value!r}")


def _bound(b: Any) -> None:
    if b is not None and (isinstance(b, bool) or not isinstance(b, int | float) or math.isnan(b)):
        raise QueryError(f"range bounds must be numbers; got {b!r}")


@dataclass(frozen=True)
class MetaEq:
    key: str
    value: Scalar

    def __post_init__(self) -> None:
        check_value(check_key(self.key), self.value)


@dataclass(frozen=True)
class MetaIn:
    key: str
    values: tuple[Scalar, ...]

    def __init__(self, key: str, values: Iterable[Scalar]) -> None:
        object.__setattr__(self, "key", check_key(key))
        object.__setattr__(self, "values", tuple(values))
        if not self.values:
            raise QueryError(f"MetaIn({key!r}) needs at least one value")
        for v in self.values:
            check_value(key, v)


@dataclass(frozen=True)
class MetaRange:
    """Numeric bounds on a key; bools and strings never match (time is epoch seconds)."""

    key: str
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None

    def __post_init__(self) -> None:
        check_key(self.key)
        bounds = (self.gte, self.gt, self.lte, self.lt)
        if all(b is None for b in bounds):
            raise QueryError(f"MetaRange({self.key!r}) needs at least one bound")
        for b in bounds:
            _bound(b)


@dataclass(frozen=True)
class MetaExists:
    key: str

    def __post_init__(self) -> None:
        check_key(self.key)


@dataclass(frozen=True)
class MetaAnd:
    clauses: tuple[MetaFilter, ...]

    def __init__(self, *clauses: MetaFilter) -> None:
        object.__setattr__(self, "clauses", tuple(clauses))
        _check_clauses("MetaAnd", self.clauses)


@dataclass(frozen=True)
class MetaOr:
    clauses: tuple[MetaFilter, ...]

    def __init__(self, *clauses: MetaFilter) -> None:
        object.__setattr__(self, "clauses", tuple(clauses))
        _check_clauses("MetaOr", self.clauses)


@dataclass(frozen=True)
class MetaNot:
    clause: MetaFilter

    def __post_init__(self) -> None:
        _check_clauses("MetaNot", (self.clause,))


_META_TYPES = (MetaEq, MetaIn, MetaRange, MetaExists, MetaAnd, MetaOr, MetaNot)
_QUERY_TYPES = (q.Eq, q.In, q.Range, q.Exists, q.And, q.Or, q.Not)
MetaFilter = (
    MetaEq
    | MetaIn
    | MetaRange
    | MetaExists
    | MetaAnd
    | MetaOr
    | MetaNot
    | q.Eq
    | q.In
    | q.Range
    | q.Exists
    | q.And
    | q.Or
    | q.Not
)


def _check_clauses(name: str, clauses: tuple[Any, ...]) -> None:
    if not clauses:
        raise QueryError(f"{name} needs at least one clause")
    for c in clauses:
        check_filter(c)


def check_filter(f: Any) -> None:
    """Refuse anything that is not a metadata filter (``Text`` included), naming what was given."""
    if isinstance(f, _META_TYPES):
        return
    if isinstance(f, q.Text):
        raise QueryError("Text filters are not supported on vector collections; use MetaEq/MetaIn")
    if isinstance(f, _QUERY_TYPES):
        for c in getattr(f, "clauses", ()):
            check_filter(c)
        if isinstance(f, q.Not):
            check_filter(f.clause)
        return
    raise QueryError(f"a vector-collection filter must be a Meta*/query filter, not {f!r}")


def _key(field: str) -> str:
    return field[len("attributes.") :] if field.startswith("attributes.") else field


def _in_range(v: Any, gte: Any, gt: Any, lte: Any, lt: Any) -> bool:
    if not isinstance(v, int | float) or isinstance(v, bool):
        return False
    return (
        (gte is None or v >= gte)
        and (gt is None or v > gt)
        and (lte is None or v <= lte)
        and (lt is None or v < lt)
    )


def meta_matches(f: MetaFilter | q.Filter | None, md: Mapping[str, Any]) -> bool:
    """Whether metadata `md` satisfies `f` (None matches everything); the reference semantics."""
    if f is None:
        return True
    if isinstance(f, MetaEq):
        return bool(md.get(f.key) == f.value)
    if isinstance(f, q.Eq):
        return bool(md.get(_key(f.field)) == f.value)
    if isinstance(f, MetaIn):
        return md.get(f.key) in f.values
    if isinstance(f, q.In):
        return md.get(_key(f.field)) in f.values
    if isinstance(f, MetaRange):
        return _in_range(md.get(f.key), f.gte, f.gt, f.lte, f.lt)
    if isinstance(f, q.Range):
        return _in_range(md.get(_key(f.field)), f.gte, f.gt, f.lte, f.lt)
    if isinstance(f, MetaExists):
        return md.get(f.key) is not None
    if isinstance(f, q.Exists):
        return md.get(_key(f.field)) is not None
    if isinstance(f, MetaAnd | q.And):
        return all(meta_matches(c, md) for c in f.clauses)
    if isinstance(f, MetaOr | q.Or):
        return any(meta_matches(c, md) for c in f.clauses)
    if isinstance(f, MetaNot | q.Not):
        return not meta_matches(f.clause, md)
    raise QueryError(f"not a vector-collection filter: {f!r}")
