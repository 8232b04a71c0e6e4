"""Pipeline specs: the YAML (or Python) description of a graph, with the line of every piece.

A spec is only parsed here; `senri.engine.graph.build` checks it against the operator registry.
Keeping the YAML line of each input, node and output lets every validation error point at it.

    name: demo
    inputs:  {frames: {video: camera.mp4, fps: 5}}
    graph:
      motion: {op: vision.motion, from: frames, batch: 8}
    outputs: {events: {store: events, from: [motion]}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from senri.errors import GraphError, PipelineError

NODE_KEYS = {"op", "from", "batch", "max_wait_ms", "where", "device", "params"}
TOP_KEYS = {"name", "inputs", "graph", "outputs", "dlq"}


@dataclass
class InputSpec:
    name: str
    kind: str
    settings: dict[str, Any]
    line: int | None = None


@dataclass
class NodeSpec:
    name: str
    op: str
    sources: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    batch: int | None = None
    max_wait_ms: float | None = None
    where: str | None = None
    device: str | None = None
    line: int | None = None
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int | None:
        return self.lines.get(key, self.line)


@dataclass
class OutputSpec:
    name: str
    kind: str
    target: str
    sources: list[str]
    line: int | None = None


@dataclass
class PipelineSpec:
    name: str
    inputs: dict[str, InputSpec] = field(default_factory=dict)
    nodes: dict[str, NodeSpec] = field(default_factory=dict)
    outputs: dict[str, OutputSpec] = field(default_factory=dict)
    dlq: str | None = None
    source: str | None = None


class _Lines(dict[str, Any]):
    """A mapping that remembers the 1-based line of itself and of each key."""

    line: int | None = None
    key_lines: dict[str, int]


def _construct(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = _Lines()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = str(_construct(key_node))
            out[key] = _construct(value_node)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(n) for n in node.value]
    return yaml.SafeLoader("").construct_object(node)  # scalars: ints, floats, bools, strings


def _key_line(mapping: Any, key: str) -> int | None:
    if isinstance(mapping, _Lines):
        return mapping.key_lines.get(key, mapping.line)
    return None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def parse_yaml(text: str, source: str | None = None) -> PipelineSpec:
    """Parse pipeline YAML; raises `PipelineError` listing every structural problem and line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PipelineError(
            [
                GraphError(
                    f"not valid YAML: {problem}", line=line, hint="check indentation and quoting"
                )
            ],
            source,
        ) from None
    doc = _construct(root) if root is not None else None
    if not isinstance(doc, dict):
        raise PipelineError(
            [
                GraphError(
                    "a pipeline must be a mapping with name, inputs, graph and outputs", line=1
                )
            ],
            source,
        )
    return from_mapping(doc, source)


def from_mapping(doc: Mapping[str, Any], source: str | None = None) -> PipelineSpec:
    """Build a spec from parsed YAML (or a plain dict built in Python)."""
    errors: list[GraphError] = []
    for key in doc:
        if key not in TOP_KEYS:
            errors.append(
                GraphError(
                    f"unknown top-level key '{key}'",
                    line=_key_line(doc, key),
                    hint=f"allowed keys: {', '.join(sorted(TOP_KEYS))}",
                )
            )
    spec = PipelineSpec(name=str(doc.get("name") or "pipeline"), source=source)
    dlq = doc.get("dlq")
    spec.dlq = None if dlq is None else str(dlq)
    _parse_inputs(doc, spec, errors)
    _parse_nodes(doc, spec, errors)
    _parse_outputs(doc, spec, errors)
    if errors:
        raise PipelineError(errors, source)
    return spec


def _section(doc: Mapping[str, Any], key: str, errors: list[GraphError]) -> Mapping[str, Any]:
    section = doc.get(key) or {}
    if not isinstance(section, Mapping):
        errors.append(GraphError(f"'{key}' must be a mapping of names", line=_key_line(doc, key)))
        return {}
    return section


def _parse_inputs(doc: Mapping[str, Any], spec: PipelineSpec, errors: list[GraphError]) -> None:
    inputs = _section(doc, "inputs", errors)
    for name, body in inputs.items():
        line = _key_line(inputs, name)
        if not isinstance(body, Mapping) or not body:
            errors.append(
                GraphError(
                    f"input '{name}' needs a source",
                    line=line,
                    hint="e.g. {video: camera.mp4, fps: 5} or {audio: mic.wav}",
                )
            )
            continue
        # the key naming the source, wherever it stands: {schema: packet, topic: t} is a topic
        kind = next((k for k in body if k in INPUT_KINDS), next(iter(body)))
        spec.inputs[name] = InputSpec(name, str(kind), dict(body), line)


INPUT_KINDS = ("topic", "video", "packets", "audio", "images", "catalog", "memory")
"""Keys that name an input's source; any other key of the input is one of its options."""


def _parse_nodes(doc: Mapping[str, Any], spec: PipelineSpec, errors: list[GraphError]) -> None:
    graph = _section(doc, "graph", errors)
    for name, body in graph.items():
        line = _key_line(graph, name)
        if not isinstance(body, Mapping):
            errors.append(
                GraphError(
                    f"node '{name}' must be a mapping", line=line, hint="{op: NAME, from: INPUT}"
                )
            )
            continue
        if "op" not in body:
            errors.append(
                GraphError(f"node '{name}' has no 'op'", line=line, hint="add op: <operator name>")
            )
            continue
        lines = dict(getattr(body, "key_lines", {}))
        params = dict(body.get("params") or {})
        for key, value in body.items():
            if key not in NODE_KEYS:
                params[key] = value  # operator settings may sit beside op/from for brevity
        batch = body.get("batch")
        wait = body.get("max_wait_ms")
        spec.nodes[name] = NodeSpec(
            name=name,
            op=str(body["op"]),
            sources=_as_list(body.get("from")),
            params=params,
            batch=None if batch is None else int(batch),
            max_wait_ms=None if wait is None else float(wait),
            where=None if body.get("where") is None else str(body["where"]),
            device=None if body.get("device") is None else str(body["device"]),
            line=line,
            lines=lines,
        )


def _parse_outputs(doc: Mapping[str, Any], spec: PipelineSpec, errors: list[GraphError]) -> None:
    outputs = _section(doc, "outputs", errors)
    for name, body in outputs.items():
        line = _key_line(outputs, name)
        kinds = [k for k in (body or {}) if k != "from"] if isinstance(body, Mapping) else []
        if not isinstance(body, Mapping) or len(kinds) != 1:
            errors.append(
                GraphError(
                    f"output '{name}' needs exactly one sink and a 'from'",
                    line=line,
                    hint="e.g. {store: events, from: [motion]} or {jsonl: x.jsonl, from: [motion]}",
                )
            )
            continue
        kind = kinds[0]
        spec.outputs[name] = OutputSpec(
            name, kind, str(body[kind]), _as_list(body.get("from")), line
        )


def load(path: str | Path) -> PipelineSpec:
    """Read and parse a pipeline file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise PipelineError(
            [GraphError(f"cannot read pipeline file: {exc.strerror}")], str(p)
        ) from None
    return parse_yaml(text, str(p))
