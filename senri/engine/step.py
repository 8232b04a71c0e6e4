"""The one place operators process items: a node's step, and a graph's step over a micro-batch.

Every runtime and request-time path goes through `run_node`: the node's `where` filter
(`Node.admit`), chunks of its `BatchPolicy.max_size`, isolation of a bad item into a
`DeadLetter` with its reason (`senri.engine.isolate`, with a `Stateful` operator's state rolled
back first), and the runtime's metrics. The embedded runtime calls it per batch from its
node tasks; `run_step` runs one micro-batch through every node in topological order on one
thread, for the Kafka worker (a poll) and for `GraphSession` (a request). With
`finishing=True` each operator's `finish()` results (open spans) flow on downstream too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from senri.engine.graph import Graph, Node
from senri.engine.isolate import process_isolated
from senri.engine.metrics import RuntimeMetrics
from senri.engine.operator import Operator
from senri.records import DeadLetter, EventBatch, FrameDetections


def stamp(node: str, items: list[Any]) -> list[Any]:
    """Name `node` on the results it made: the ids of the events they give include it."""
    return [
        replace(item, node=node) if isinstance(item, FrameDetections | EventBatch) else item
        for item in items
    ]


def run_node(
    node: Node,
    op: Operator[Any, Any],
    items: list[Any],
    metrics: RuntimeMetrics | None = None,
) -> tuple[list[Any], list[DeadLetter], int]:
    """`items` through one node: filtered, chunked, bad items isolated; counted in `metrics`.

    Returns the results, the dead letters, and how many items passed the `where` filter.
    """
    kept = items if node.where is None else [x for x in map(node.admit, items) if x is not None]
    out: list[Any] = []
    dead: list[DeadLetter] = []
    size = node.batch.max_size
    stage = None if metrics is None else metrics.stage(node.name)
    for start in range(0, len(kept), size):
        chunk = kept[start : start + size]
        started = time.perf_counter()
        results, failed = process_isolated(node, op, chunk)
        out.extend(stamp(node.name, results))
        dead.extend(failed)
        if stage is not None:
            stage.batch_size.observe(len(chunk))
            stage.latency.observe(time.perf_counter() - started)
    if stage is not None:
        stage.items_in.inc(len(items))
        stage.items_out.inc(len(out))
        stage.dead_letters.inc(len(dead))
    return out, dead, len(kept)


@dataclass
class StepResult:
    """What one step made: items per output, dead letters, items processed per node."""

    outputs: dict[str, list[Any]] = field(default_factory=dict)
    dead: list[DeadLetter] = field(default_factory=list)
    processed: dict[str, int] = field(default_factory=dict)
    made: dict[str, list[Any]] = field(default_factory=dict)
    """Every input's and node's items, for callers that read more than the outputs."""


def run_step(
    graph: Graph,
    ops: Mapping[str, Operator[Any, Any]],
    inputs: Mapping[str, list[Any]],
    *,
    finishing: bool = False,
    metrics: RuntimeMetrics | None = None,
) -> StepResult:
    """Run `inputs` (records per graph input) through every node; collect outputs and dead."""
    made: dict[str, list[Any]] = {name: list(inputs.get(name, [])) for name in graph.inputs}
    result = StepResult(made=made)
    for name, node in graph.nodes.items():
        op = ops[name]
        items = [item for src in node.sources for item in made.get(src, [])]
        out, dead, taken = run_node(node, op, items, metrics)
        result.dead.extend(dead)
        if finishing:
            final = stamp(name, op.finish())
            out.extend(final)
            if metrics is not None:
                metrics.items_out.labels(name).inc(len(final))
        made[name] = out
        result.processed[name] = taken
    for name, output in graph.outputs.items():
        result.outputs[name] = [item for src in output.sources for item in made.get(src, [])]
    return result
