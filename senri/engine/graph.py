"""Validated operator graphs, built from a `PipelineSpec` before anything runs.

`build()` collects every problem at once — unknown operator, unknown setting, missing input,
type mismatch on an edge, cycle, bad `where` predicate, bad sink — each with its YAML line and a
suggested fix, and raises `PipelineError`. A `Graph` that comes back is safe to hand to a runtime.

Example:
    >>> from senri.engine import spec
    >>> g = build(spec.parse_yaml('''
    ... inputs: {frames: {video: cam.mp4}}
    ... graph: {motion: {op: vision.motion, from: frames}}
    ... outputs: {events: {store: events, from: [motion]}}
    ... '''))
    >>> list(g.nodes)
    ['motion']
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from senri.engine import settings
from senri.engine.operator import (
    BatchPolicy,
    Device,
    Operator,
    OperatorRegistry,
    Stateless,
    declares_state,
    registry,
)
from senri.engine.predicate import Predicate, PredicateError
from senri.engine.spec import InputSpec, NodeSpec, OutputSpec, PipelineSpec
from senri.errors import GraphError, PipelineError
from senri.records import (
    AudioChunk,
    DeadLetter,
    Embedding,
    Frame,
    FrameDetections,
    HasEvents,
    ImageItem,
    VideoPacket,
)

SOURCE_TYPES: dict[str, type] = {
    "video": Frame,
    "packets": VideoPacket,
    "audio": AudioChunk,
    "images": ImageItem,
    "catalog": ImageItem,
}
TOPIC_SCHEMAS: dict[str, type] = {
    "frame": Frame,
    "packet": VideoPacket,
    "audio": AudioChunk,
    "image": ImageItem,
}
SINK_KINDS: dict[str, type] = {"store": HasEvents, "jsonl": HasEvents, "collection": Embedding}
"""Output kinds: an event store, a JSON-lines file, a vector collection (senri.indexes)."""
DETECTION_FIELDS = ("label", "confidence", "class_id", "tracker_id", "area")


@dataclass
class Node:
    """One operator in a validated graph."""

    name: str
    op_cls: type[Operator[Any, Any]]
    params: dict[str, Any]
    sources: list[str]
    batch: BatchPolicy
    where: Predicate | None = None
    device: Device | None = None
    fields: tuple[str, ...] = ()

    @property
    def input_type(self) -> type:
        return self.op_cls.input_type

    @property
    def output_type(self) -> type:
        return self.op_cls.output_type

    def create(self) -> Operator[Any, Any]:
        return self.op_cls(**self.params)

    def admit(self, item: Any) -> Any | None:
        """Filter one input by the node's `where`: detections are masked, other records dropped."""
        if self.where is None:
            return item
        if isinstance(item, FrameDetections):
            d = item.detections
            labels = d.data.get("label")
            mask = []
            for i in range(len(d)):
                row: dict[str, Any] = {
                    "label": None if labels is None else str(labels[i]),
                    "confidence": float(d.confidence[i]),
                    "class_id": int(d.class_id[i]),
                    "tracker_id": int(d.tracker_id[i]),
                    "area": float(d.area[i]),
                    "stream_id": item.stream_id,
                }
                row.update(
                    {
                        k: v[i].item() if hasattr(v[i], "item") else v[i]
                        for k, v in d.data.items()
                        if k != "label"
                    }
                )
                mask.append(self.where(row))
            return dataclasses.replace(
                item, detections=d[[i for i, keep in enumerate(mask) if keep]]
            )
        row = {name: getattr(item, name, None) for name in self.where.fields}
        return item if self.where(row) else None


@dataclass
class Graph:
    """A checked graph: inputs, nodes in topological order, outputs (sinks), dead-letter target."""

    name: str
    inputs: dict[str, InputSpec]
    nodes: dict[str, Node]
    outputs: dict[str, OutputSpec]
    dlq: str | None = None
    input_types: dict[str, type] = field(default_factory=dict)

    def type_of(self, name: str) -> type:
        if name in self.input_types:
            return self.input_types[name]
        return self.nodes[name].output_type

    def consumers(self, name: str) -> Iterator[str]:
        """Nodes and outputs that read from `name`."""
        for node in self.nodes.values():
            if name in node.sources:
                yield node.name
        for out in self.outputs.values():
            if name in out.sources:
                yield f"output:{out.name}"


def _input_type(inp: InputSpec) -> tuple[type | None, GraphError | None]:
    if inp.kind == "topic":
        schema = str(inp.settings.get("schema", "frame"))
        if schema not in TOPIC_SCHEMAS:
            return None, GraphError(
                f"input '{inp.name}': unknown topic schema '{schema}'",
                line=inp.line,
                hint=f"schema is one of {', '.join(TOPIC_SCHEMAS)}",
            )
        return TOPIC_SCHEMAS[schema], None
    if inp.kind not in SOURCE_TYPES:
        return None, GraphError(
            f"input '{inp.name}': unknown source kind '{inp.kind}'",
            line=inp.line,
            hint=f"use one of {', '.join([*SOURCE_TYPES, 'topic'])}",
        )
    from senri.connectors import SOURCE_KINDS

    valid = (*SOURCE_KINDS[inp.kind], "stream")
    unknown = [k for k in inp.settings if k != inp.kind and k not in valid]
    if unknown:
        return None, GraphError(
            f"input '{inp.name}': unknown {inp.kind} option '{unknown[0]}'",
            line=inp.line,
            hint=_suggest(unknown[0], list(valid)),
        )
    return SOURCE_TYPES[inp.kind], None


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"known names: {', '.join(known) or '(none)'}"


def _type_name(t: type) -> str:
    return getattr(t, "__name__", str(t))


def _accepts(wanted: type, given: type) -> bool:
    return wanted is object or issubclass(given, wanted)


def build(
    spec: PipelineSpec,
    ops: OperatorRegistry = registry,
    *,
    input_types: Mapping[str, type] | None = None,
    sink_kinds: Mapping[str, type] | None = None,
) -> Graph:
    """Check a spec against the operator registry and return a runnable `Graph`.

    `input_types` fixes the record type of inputs fed from Python (in-memory sources) and
    `sink_kinds` adds sink kinds a Python caller provides; both skip the file-source checks.
    """
    import senri.operators  # noqa: F401 - registers the built-in operators

    errors: list[GraphError] = []
    given_types = dict(input_types or {})
    sinks = {**SINK_KINDS, **(sink_kinds or {})}
    input_types = {}
    for inp in spec.inputs.values():
        if inp.name in given_types:
            input_types[inp.name] = given_types[inp.name]
            continue
        t, err = _input_type(inp)
        if err:
            errors.append(err)
        elif t is not None:
            input_types[inp.name] = t
    for name in spec.nodes:
        if name in spec.inputs:
            errors.append(
                GraphError(
                    f"'{name}' is both an input and a node",
                    line=spec.nodes[name].line,
                    hint="rename one of them",
                )
            )
    nodes: dict[str, Node] = {}
    for ns in spec.nodes.values():
        node = _build_node(ns, ops, errors)
        if node is not None:
            nodes[ns.name] = node
    if not spec.inputs:
        errors.append(
            GraphError(
                "the pipeline has no inputs", hint="add inputs: {frames: {video: camera.mp4}}"
            )
        )
    known = [*spec.inputs, *spec.nodes]
    _check_edges(spec, nodes, input_types, known, errors)
    order = _topological(spec, errors)
    _check_where(spec, nodes, input_types, order, errors)
    _check_outputs(spec, nodes, input_types, known, sinks, errors)
    if errors:
        raise PipelineError(errors, spec.source)
    return Graph(
        name=spec.name,
        inputs=dict(spec.inputs),
        nodes={n: nodes[n] for n in order},
        outputs=dict(spec.outputs),
        dlq=spec.dlq,
        input_types=input_types,
    )


def _build_node(ns: NodeSpec, ops: OperatorRegistry, errors: list[GraphError]) -> Node | None:
    cls = ops.get(ns.op)
    if cls is None:
        errors.append(
            GraphError(
                f"node '{ns.name}': unknown operator '{ns.op}'",
                line=ns.line_of("op"),
                hint=ops.suggest(ns.op),
            )
        )
        return None
    if not declares_state(cls):
        errors.append(
            GraphError(
                f"node '{ns.name}': operator '{ns.op}' declares neither Stateful "
                "(snapshot/restore) nor Stateless",
                line=ns.line_of("op"),
                hint="an operator that carries anything across items must snapshot it",
            )
        )
    if cls.in_flight > 1 and not issubclass(cls, Stateless):
        errors.append(
            GraphError(
                f"node '{ns.name}': operator '{ns.op}' keeps state but allows "
                f"{cls.in_flight} batches at once",
                line=ns.line_of("op"),
                hint="only a Stateless operator may run batches side by side (in_flight > 1)",
            )
        )
    accepted = OperatorRegistry.params_of(cls)
    for key in ns.params:
        if key not in accepted:
            errors.append(
                GraphError(
                    f"node '{ns.name}': operator '{ns.op}' has no setting '{key}'",
                    line=ns.line_of(key),
                    hint=_suggest(key, sorted(accepted)) if accepted else "it takes no settings",
                )
            )
    for key, param in accepted.items():
        if param.default is param.empty and key not in ns.params:
            errors.append(
                GraphError(
                    f"node '{ns.name}': operator '{ns.op}' needs setting '{key}'",
                    line=ns.line,
                    hint=f"add {key}: <value>",
                )
            )
    params = dict(ns.params)
    try:
        params = settings.validate(cls, params)
    except settings.SettingsError as exc:
        for key, problem in exc.problems:
            errors.append(
                GraphError(
                    f"node '{ns.name}': setting '{key}' of '{ns.op}': {problem}",
                    line=ns.line_of(key),
                    hint="`senri operators " + ns.op + "` lists its settings and their types",
                )
            )
    policy = cls.batch
    try:
        policy = BatchPolicy(
            ns.batch if ns.batch is not None else policy.max_size,
            ns.max_wait_ms if ns.max_wait_ms is not None else policy.max_wait_ms,
        )
    except ValueError as exc:
        errors.append(
            GraphError(
                f"node '{ns.name}': {exc}", line=ns.line_of("batch"), hint="batch must be >= 1"
            )
        )
    device = None
    if ns.device is not None:
        try:
            device = Device.parse(ns.device)
        except ValueError as exc:
            errors.append(GraphError(f"node '{ns.name}': {exc}", line=ns.line_of("device")))
    if not ns.sources:
        errors.append(
            GraphError(
                f"node '{ns.name}' has no 'from'",
                line=ns.line,
                hint="add from: <input or node name>",
            )
        )
    return Node(ns.name, cls, params, list(ns.sources), policy, None, device, tuple(cls.fields))


def _given_type(
    name: str, input_types: Mapping[str, type], nodes: Mapping[str, Node]
) -> type | None:
    """The record type an input or node emits; None when it failed to build."""
    if name in input_types:
        return input_types[name]
    return nodes[name].output_type if name in nodes else None


def _check_edges(
    spec: PipelineSpec,
    nodes: dict[str, Node],
    input_types: dict[str, type],
    known: list[str],
    errors: list[GraphError],
) -> None:
    for ns in spec.nodes.values():
        node = nodes.get(ns.name)
        for src in ns.sources:
            if src not in known:
                errors.append(
                    GraphError(
                        f"node '{ns.name}' reads from '{src}', which does not exist",
                        line=ns.line_of("from"),
                        hint=_suggest(src, known),
                    )
                )
                continue
            given = _given_type(src, input_types, nodes)
            if node is None or given is None:
                continue
            if not _accepts(node.input_type, given):
                fits = [
                    k
                    for k in known
                    if (t := _given_type(k, input_types, nodes)) is not None
                    and _accepts(node.input_type, t)
                ]
                errors.append(
                    GraphError(
                        f"type mismatch on edge {src} → {ns.name}: "
                        f"'{ns.op}' takes {_type_name(node.input_type)} "
                        f"but '{src}' gives {_type_name(given)}",
                        line=ns.line_of("from"),
                        hint=f"read from a node that gives {_type_name(node.input_type)}"
                        + (f": {', '.join(fits)}" if fits else ""),
                    )
                )


def _topological(spec: PipelineSpec, errors: list[GraphError]) -> list[str]:
    """Kahn's algorithm over node→node edges; reports one cycle with its path."""
    deps = {n: [s for s in ns.sources if s in spec.nodes] for n, ns in spec.nodes.items()}
    order: list[str] = []
    done: set[str] = set()
    pending = dict(deps)
    while pending:
        ready = [n for n, d in pending.items() if all(x in done for x in d)]
        if not ready:
            cycle = _find_cycle(pending)
            first = spec.nodes[cycle[0]]
            errors.append(
                GraphError(
                    "cycle: " + " → ".join([*cycle, cycle[0]]),
                    line=first.line_of("from"),
                    hint="graphs are acyclic; remove one of these 'from' edges",
                )
            )
            return [n for n in spec.nodes if n in done]
        for n in ready:
            order.append(n)
            done.add(n)
            del pending[n]
    return order


def _find_cycle(pending: dict[str, list[str]]) -> list[str]:
    start = next(iter(pending))
    path: list[str] = []
    node = start
    while node not in path:
        path.append(node)
        node = next(d for d in pending[node] if d in pending)
    return path[path.index(node) :][::-1]


def where_fields(record_type: type, upstream_fields: tuple[str, ...]) -> tuple[str, ...]:
    """The names a `where` predicate may use on records of `record_type`."""
    if issubclass(record_type, FrameDetections):
        return (*DETECTION_FIELDS, *upstream_fields, "stream_id")
    if dataclasses.is_dataclass(record_type):
        return tuple(
            f.name
            for f in dataclasses.fields(record_type)
            if f.type in ("str", "int", "float", "bool")
        )
    return ()


def _upstream_fields(name: str, spec: PipelineSpec, nodes: dict[str, Node]) -> tuple[str, ...]:
    seen: list[str] = []
    stack = [name]
    visited: set[str] = set()
    while stack:
        current = stack.pop()
        if current in visited or current not in nodes:
            continue
        visited.add(current)
        seen.extend(f for f in nodes[current].fields if f not in seen)
        stack.extend(nodes[current].sources)
    return tuple(seen)


def _check_where(
    spec: PipelineSpec,
    nodes: dict[str, Node],
    input_types: dict[str, type],
    order: list[str],
    errors: list[GraphError],
) -> None:
    for name in order:
        ns, node = spec.nodes[name], nodes.get(name)
        if ns.where is None or node is None:
            continue
        fields: set[str] = set()
        for src in ns.sources:
            given = _given_type(src, input_types, nodes)
            if given is not None:
                fields.update(where_fields(given, _upstream_fields(src, spec, nodes)))
        try:
            node.where = Predicate.compile(ns.where, fields)
        except PredicateError as exc:
            errors.append(
                GraphError(
                    f"node '{name}': bad where: {exc}",
                    line=ns.line_of("where"),
                    hint="e.g. where: \"label in ('car', 'bus') and confidence > 0.5\"",
                )
            )


def _check_outputs(
    spec: PipelineSpec,
    nodes: dict[str, Node],
    input_types: dict[str, type],
    known: list[str],
    sinks: Mapping[str, type],
    errors: list[GraphError],
) -> None:
    for out in spec.outputs.values():
        if out.kind not in sinks:
            errors.append(
                GraphError(
                    f"output '{out.name}': unknown sink '{out.kind}'",
                    line=out.line,
                    hint=f"use one of {', '.join(sinks)}",
                )
            )
            continue
        if not out.sources:
            errors.append(
                GraphError(
                    f"output '{out.name}' has no 'from'", line=out.line, hint="add from: [<node>]"
                )
            )
        for src in out.sources:
            if src not in known:
                errors.append(
                    GraphError(
                        f"output '{out.name}' reads from '{src}', which does not exist",
                        line=out.line,
                        hint=_suggest(src, known),
                    )
                )
                continue
            given = _given_type(src, input_types, nodes)
            wanted = sinks[out.kind]
            if given is not None and not (issubclass(given, wanted) or given is DeadLetter):
                errors.append(
                    GraphError(
                        f"output '{out.name}': '{src}' gives {_type_name(given)}, "
                        "which has no events to store",
                        line=out.line,
                        hint="store the results of an operator, e.g. vision.motion or audio.vad",
                    )
                )
