"""How events look inside Elasticsearch, and senri's typed queries compiled to its query DSL.

Document layout (one index per store, mapping installed by an index template):

- the event's own fields as `Event.to_dict()` writes them (so `_source` rebuilds the exact
  event, attribute types included); `attributes` itself is stored but not indexed;
- `attr_s.<name>` keyword, `attr_i.<name>` long, `attr_f.<name>` double, `attr_b.<name>`
  boolean: each attribute is indexed in the sub-object of its Python type. An attribute that is
  a number in one event and a string in another therefore never conflicts, and filters compare
  like the reference evaluator: strings exactly, numbers numerically, bools as bools (with
  Python's ``True == 1 == 1.0``);
- `words`: the lower-cased `\\w+` words of `text` (`query.words`), so `Text` is a conjunction
  of exact `term` queries with the reference's tokenisation; `text` itself is also a `text`
  field (standard analyzer) for people exploring the index, with `text.raw` for `Eq`.

Every user value reaches Elasticsearch only inside term/terms/range/exists queries; field names
come from `query.check_field`, which admits only known fields and `attributes.<identifier>`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from senri.errors import StoreError
from senri.indexes.events import query as q
from senri.records import Event

KEYWORD = {"id", "stream_id", "kind", "label", "source"}
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
# attribute sub-objects by Python type; order = priority when a group-by key is rebuilt
ATTR_KINDS: tuple[tuple[str, str], ...] = (
    ("attr_s", "keyword"),
    ("attr_i", "long"),
    ("attr_f", "double"),
    ("attr_b", "boolean"),
)
_QUERYABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")  # as query.check_field
# numbers and bools again as doubles, where Python-equal values (1, 1.0, True) coincide: for
# counting distinct attribute values (doc values only)
_ATTR_OBJECTS = (*(prefix for prefix, _ in ATTR_KINDS), "attr_n")
MATCH_NONE: dict[str, Any] = {"match_none": {}}
Normalize = Callable[[Any], Any]


def mappings() -> dict[str, Any]:
    """The index mapping: fixed fields strict, attributes typed by dynamic templates."""
    templates = [
        {
            f"{prefix}_{kind}": {
                "path_match": f"{prefix}.*",
                "mapping": {"type": kind, "ignore_above": 8191}
                if kind == "keyword"
                else {"type": kind},
            }
        }
        for prefix, kind in ATTR_KINDS
    ]
    props: dict[str, Any] = {name: {"type": "keyword"} for name in sorted(KEYWORD)}
    props |= {
        "time": {"type": "double"},
        "end_time": {"type": "double"},
        "@timestamp": {"type": "date", "format": "epoch_millis"},
        "confidence": {"type": "double"},
        "track_id": {"type": "long"},
        "bbox": {"type": "float", "index": False, "doc_values": False},
        "text": {
            "type": "text",
            "analyzer": "standard",
            "fields": {"raw": {"type": "keyword", "ignore_above": 8191}},
        },
        "words": {"type": "keyword", "ignore_above": 8191},
        "attributes": {"type": "object", "enabled": False},
    }
    templates.append(
        {"attr_n": {"path_match": "attr_n.*", "mapping": {"type": "double", "index": False}}}
    )
    props |= {prefix: {"type": "object", "dynamic": True} for prefix in _ATTR_OBJECTS}
    return {
        "dynamic": "strict",
        "dynamic_templates": templates,
        "_source": {"excludes": [*_ATTR_OBJECTS, "words"]},
        "properties": props,
    }


def _attr_prefix(value: Any) -> str | None:
    if isinstance(value, bool):
        return "attr_b"
    if isinstance(value, int):
        return "attr_i"
    if isinstance(value, float):
        return "attr_f"
    if isinstance(value, str):
        return "attr_s"
    return None


def to_document(event: Event) -> dict[str, Any]:
    """The `_source` of one event; raises `StoreError` for an attribute that cannot be indexed."""
    doc = event.to_dict()
    doc["@timestamp"] = round(event.time * 1000)
    if event.text is not None:
        doc["words"] = sorted(set(q.words(event.text)))
    typed: dict[str, dict[str, Any]] = {}
    for name, value in event.attributes.items():
        if value is None:
            continue
        prefix = _attr_prefix(value)
        if prefix is None:
            raise StoreError(
                f"event {event.id!r}: attribute {name!r} cannot be indexed: got "
                f"{type(value).__name__} {value!r}, expected a string, number or bool"
            )
        if not _QUERYABLE.fullmatch(name):
            continue  # kept in `attributes`, but no query could name it, so not indexed
        if isinstance(value, float) and not math.isfinite(value):
            raise StoreError(f"event {event.id!r}: attribute {name!r} is {value!r}, not finite")
        typed.setdefault(prefix, {})[name] = value
        if not isinstance(value, str) and abs(value) < 2.0**1023:
            typed.setdefault("attr_n", {})[name] = float(value)
    doc.update(typed)
    return doc


def public_field(es_field: str) -> str:
    """The senri field name behind an index field (``attr_i.speed`` -> ``attributes.speed``)."""
    head, _, rest = es_field.partition(".")
    if rest and head in _ATTR_OBJECTS:
        return f"attributes.{rest}"
    if es_field in ("text.raw", "words"):
        return "text"
    return es_field


# ---- filters ------------------------------------------------------------------------------


def _bool(**clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": clauses}


def _any(queries: list[dict[str, Any]]) -> dict[str, Any]:
    if not queries:
        return MATCH_NONE
    if len(queries) == 1:
        return queries[0]
    return {"bool": {"should": queries, "minimum_should_match": 1}}


def _plain_field(name: str) -> str:
    return "text.raw" if name == "text" else name


def _attr_terms(attr: str, values: Iterable[Any]) -> list[dict[str, Any]]:
    """term(s) queries for attribute values, honouring Python's ``True == 1 == 1.0``."""
    buckets: dict[str, list[Any]] = {prefix: [] for prefix, _ in ATTR_KINDS}
    for v in values:
        if isinstance(v, str):
            buckets["attr_s"].append(v)
            continue
        if isinstance(v, float) and not math.isfinite(v):
            continue  # indexed values are finite: nothing equals nan or inf
        integral = isinstance(v, int) or (isinstance(v, float) and v.is_integer())
        if integral and LONG_MIN <= v <= LONG_MAX:
            buckets["attr_i"].append(int(v))
        if float(v) == v:
            buckets["attr_f"].append(float(v))
        if v == 0 or v == 1:
            buckets["attr_b"].append(bool(v))
    out = []
    for prefix, vals in buckets.items():
        unique = list(dict.fromkeys(vals))
        field = f"{prefix}.{attr}"
        if len(unique) == 1:
            out.append({"term": {field: unique[0]}})
        elif unique:
            out.append({"terms": {field: unique}})
    return out


def _range(field: str, bounds: list[tuple[str, float]], integral: bool) -> dict[str, Any]:
    """A range query; infinite bounds are resolved here (indexed numbers are finite)."""
    body: dict[str, Any] = {}
    for op, b in bounds:
        lower = op in (">=", ">")
        if math.isinf(b):
            if (b > 0) == lower:
                return MATCH_NONE  # above +inf or below -inf
            continue  # no constraint
        if integral:  # exact integer bounds for a long field, as Python compares int to float
            if op == ">=":
                body["gte"] = math.ceil(b)
            elif op == ">":
                body["gte"] = math.floor(b) + 1
            elif op == "<=":
                body["lte"] = math.floor(b)
            else:
                body["lte"] = math.ceil(b) - 1
        else:
            body[{">=": "gte", ">": "gt", "<=": "lte", "<": "lt"}[op]] = b
    if not body:
        return {"exists": {"field": field}}
    return {"range": {field: body}}


def compile_filter(f: q.Filter | None) -> dict[str, Any]:
    """The query DSL for a filter (``match_all`` for None)."""
    if f is None:
        return {"match_all": {}}
    if isinstance(f, q.Eq | q.In):
        values = [f.value] if isinstance(f, q.Eq) else list(f.values)
        attr = q.check_field(f.field)
        if attr is not None:
            return _any(_attr_terms(attr, values))
        field = _plain_field(f.field)
        unique = list(dict.fromkeys(values))
        if len(unique) == 1:
            return {"term": {field: unique[0]}}
        return {"terms": {field: unique}}
    if isinstance(f, q.Range):
        attr = q.check_field(f.field)
        if attr is None:
            return _range(f.field, f.bounds(), f.field == "track_id")
        return _any(
            [
                _range(f"attr_i.{attr}", f.bounds(), True),
                _range(f"attr_f.{attr}", f.bounds(), False),
            ]
        )
    if isinstance(f, q.Exists):
        return _any([{"exists": {"field": name}} for name, _ in index_fields(f.field)])
    if isinstance(f, q.Text):
        return _bool(filter=[{"term": {"words": w}} for w in dict.fromkeys(q.words(f.query))])
    if isinstance(f, q.And):
        return _bool(filter=[compile_filter(c) for c in f.clauses])
    if isinstance(f, q.Or):
        return _any([compile_filter(c) for c in f.clauses])
    return _bool(must_not=[compile_filter(f.clause)])


def sort_clause(query: q.Query) -> list[dict[str, Any]]:
    """Sort on the field, missing values last, then on id in the same direction."""
    order = "desc" if query.descending else "asc"
    tie = {"id": {"order": order}}
    if query.sort == "id":
        return [tie]
    return [{query.sort: {"order": order, "missing": "_last"}}, tie]


# ---- aggregation fields -------------------------------------------------------------------


def _as_bool(v: Any) -> bool:
    return v in (True, 1, "true")


def _as_int(v: Any) -> int:
    return int(v)


def _as_float(v: Any) -> float:
    return float(v)


def _as_str(v: Any) -> str:
    return str(v)


_NORMALIZE: dict[str, Normalize] = {
    "keyword": _as_str,
    "long": _as_int,
    "double": _as_float,
    "boolean": _as_bool,
}


def index_fields(name: str) -> list[tuple[str, Normalize]]:
    """The index fields holding a senri field, each with how to rebuild a key from ES's value."""
    attr = q.check_field(name)
    if attr is not None:
        return [(f"{prefix}.{attr}", _NORMALIZE[kind]) for prefix, kind in ATTR_KINDS]
    if name in KEYWORD or name == "text":
        return [(_plain_field(name), _as_str)]
    if name == "track_id":
        return [(name, _as_int)]
    return [(name, _as_float)]


def distinct_aggs(name: str) -> dict[str, Any]:
    """Cardinality aggregations whose values add up to the distinct values of a field.

    An attribute counts its strings and its numbers-or-bools (as doubles, so ``1``, ``1.0``
    and ``True`` are one value, as in a Python set). Exact up to ~40000 distinct values."""
    attr = q.check_field(name)
    fields = (
        [f"attr_s.{attr}", f"attr_n.{attr}"]
        if attr is not None
        else [field for field, _ in index_fields(name)]
    )
    return {
        f"distinct_{i}": {"cardinality": {"field": field, "precision_threshold": 40000}}
        for i, field in enumerate(fields)
    }


def distinct_value(aggs: dict[str, Any]) -> int:
    return sum(
        int(v["value"]) for k, v in aggs.items() if k.startswith("distinct_") and "value" in v
    )
