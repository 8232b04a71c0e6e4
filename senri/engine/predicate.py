"""`where` predicates: a tiny, safe expression language over record and detection fields.

Allowed: field names, string/number/bool/None literals, tuples and lists of literals,
comparisons (== != < <= > >= in, not in), `and`, `or`, `not`. Nothing else is evaluated — no
calls, attributes or subscripts — so a pipeline file can never run code.

Example:
    >>> p = Predicate.compile("label in ('car', 'bus') and confidence>0.5", ["label", "confidence"])
    >>> p({"label": "car", "confidence": 0.9})
    True
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}

Row = Mapping[str, Any]
Eval = Callable[[Row], Any]


class PredicateError(ValueError):
    """A `where` expression that cannot be compiled; the message says what to change."""


@dataclass(frozen=True)
class Predicate:
    """A compiled `where` expression; call it with a mapping of field values."""

    text: str
    fields: frozenset[str]
    _fn: Eval

    @classmethod
    def compile(cls, text: str, allowed: Collection[str]) -> Predicate:
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise PredicateError(f"'{text}' is not a valid expression ({exc.msg})") from None
        used: set[str] = set()
        fn = _build(tree.body, frozenset(allowed), used)
        return cls(text, frozenset(used), fn)

    def __call__(self, row: Row) -> bool:
        try:
            return bool(self._fn(row))
        except TypeError:
            return False  # comparing a missing (None) field with a number is simply "no match"


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool | None):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _literal(node.operand)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return frozenset(_literal(e) for e in node.elts)
    raise PredicateError(f"only literals may appear here, not '{ast.unparse(node)}'")


def _build(node: ast.expr, allowed: frozenset[str], used: set[str]) -> Eval:
    if isinstance(node, ast.BoolOp):
        parts = [_build(v, allowed, used) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda row: all(p(row) for p in parts)
        return lambda row: any(p(row) for p in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _build(node.operand, allowed, used)
        return lambda row: not inner(row)
    if isinstance(node, ast.Compare):
        return _compare(node, allowed, used)
    if isinstance(node, ast.Name):
        return _name(node, allowed, used)
    if isinstance(node, ast.Constant | ast.Tuple | ast.List | ast.Set | ast.UnaryOp):
        value = _literal(node)
        return lambda row: value
    raise PredicateError(
        f"'{ast.unparse(node)}' is not allowed; use fields, literals, comparisons, and/or/not"
    )


def _name(node: ast.Name, allowed: frozenset[str], used: set[str]) -> Eval:
    if node.id in ("True", "False", "None"):
        value = {"True": True, "False": False, "None": None}[node.id]
        return lambda row: value
    if node.id not in allowed:
        close = difflib.get_close_matches(node.id, sorted(allowed), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"fields: {', '.join(sorted(allowed))}"
        raise PredicateError(f"unknown field '{node.id}' ({hint})")
    used.add(node.id)
    name = node.id
    return lambda row: row.get(name)


def _compare(node: ast.Compare, allowed: frozenset[str], used: set[str]) -> Eval:
    left = _build(node.left, allowed, used)
    steps = []
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        fn = _COMPARE.get(type(op))
        if fn is None:
            raise PredicateError(f"operator '{type(op).__name__}' is not supported")
        steps.append((fn, _build(comparator, allowed, used)))

    def evaluate(row: Row) -> bool:
        current = left(row)
        for fn, right in steps:
            value = right(row)
            if not fn(current, value):
                return False
            current = value
        return True

    return evaluate
