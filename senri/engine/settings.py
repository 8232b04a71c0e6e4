"""Typed operator settings: one pydantic model per operator, checked when a graph is built.

An operator declares its settings once, as the typed keyword parameters of its constructor
(``def __init__(self, min_score: float = 0.3, model: ModelName = "detector/coco")``);
`settings_model` turns that signature into a pydantic model, so ``min_score: high`` fails at
``senri validate`` with its YAML line and the expected type, not when the operator is created,
and `schema` exports every operator's settings as JSON Schema (``senri operators --schema``).
Value checks that belong to the type go into the annotation
(``Annotated[float, Field(gt=0, lt=1)]``); checks across settings stay in the constructor.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from senri.engine.operator import Operator, OperatorRegistry

Fraction = typing.Annotated[float, Field(gt=0, lt=1)]
"""A setting strictly between 0 and 1 (a score threshold)."""


class SettingsError(ValueError):
    """Settings that do not fit their types: ``(setting, message)`` pairs, one per problem."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{key}: {msg}" for key, msg in problems))
        self.problems = problems


def settings_model(cls: type[Operator[Any, Any]]) -> type[BaseModel]:
    """The pydantic model of `cls`'s settings, from its constructor's annotations."""
    hints = typing.get_type_hints(cls.__init__, include_extras=True)
    fields: dict[str, Any] = {}
    for name, param in OperatorRegistry.params_of(cls).items():
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (hints.get(name, Any), default)
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, title=cls.name)
    model: type[BaseModel] = create_model(
        f"{cls.__name__}Settings",
        __config__=config,
        __doc__=inspect.getdoc(cls),
        **fields,
    )
    return model


_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_DESCRIBED = {
    "a model card": "model card (senri models list)",
    "a model card or none": "model card (senri models list) or none",
}
"""How the JSON-schema description of a model setting's type reads in `senri operators`."""


def _expected(cls: type[Operator[Any, Any]], key: str) -> str:
    """The type a setting wants, as a person reads it: ``float > 0, < 1``, ``model card``."""
    field = settings_model(cls).model_fields.get(key)
    if field is None or field.annotation is None:
        return "a value"
    ann = field.annotation
    text = ann.__name__ if isinstance(ann, type) else str(ann).replace("typing.", "")
    bounds = []
    for meta in field.metadata:
        bounds += [f"{op} {getattr(meta, k)}" for k, op in _BOUNDS.items() if hasattr(meta, k)]
        text = _DESCRIBED.get(str(getattr(meta, "json_schema", {}).get("description")), text)
    return ", ".join([f"{text} {bounds[0]}", *bounds[1:]]) if bounds else text


def validate(cls: type[Operator[Any, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """`params` checked and converted to `cls`'s setting types (only the keys given).

    Raises `SettingsError` naming each setting that does not fit and the type it wants;
    unknown and missing settings are the graph builder's to report (with their own hints).
    """
    model = settings_model(cls)
    known = {k: v for k, v in params.items() if k in model.model_fields}
    try:
        checked = model.model_validate(known)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            if error["type"] == "missing":
                continue
            key = str(error["loc"][0]) if error["loc"] else "?"
            given = error.get("input")
            problems.append(
                (key, f"{error['msg']} (got {given!r}; expected {_expected(cls, key)})")
            )
        if problems:
            raise SettingsError(problems) from None
        return known
    return {k: getattr(checked, k) for k in known}


def schema(cls: type[Operator[Any, Any]]) -> dict[str, Any]:
    """JSON Schema of `cls`'s settings, with what it takes and gives."""
    doc = settings_model(cls).model_json_schema()
    doc["x-senri"] = {
        "takes": getattr(cls.input_type, "__name__", str(cls.input_type)),
        "gives": getattr(cls.output_type, "__name__", str(cls.output_type)),
    }
    return doc


def describe(cls: type[Operator[Any, Any]]) -> list[tuple[str, str]]:
    """``(setting, "type = default")`` rows of `cls`'s settings, for people."""
    rows = []
    for key, field in settings_model(cls).model_fields.items():
        default = "required" if field.is_required() else repr(field.default)
        rows.append((key, f"{_expected(cls, key)} = {default}"))
    return rows


def reference(classes: list[type[Operator[Any, Any]]]) -> str:
    """A Markdown section of every operator's settings (docs/pipelines.md holds it verbatim)."""
    lines = []
    for cls in classes:
        doc = schema(cls)["x-senri"]
        lines += ["", f"#### `{cls.name}` ({doc['takes']} → {doc['gives']})", ""]
        rows = describe(cls)
        if not rows:
            lines.append("No settings.")
            continue
        lines += ["| setting | type | default |", "|---|---|---|"]
        for key, value in rows:
            kind, _, default = value.rpartition(" = ")
            kind = kind.replace("|", "\\|")
            lines.append(f"| `{key}` | {kind} | `{default}` |")
    return "\n".join(lines[1:]) + "\n"
