"""One micro-batch through a validated `Graph`, synchronously: the worker's unit of work.

The Kafka worker decodes a poll's records, then runs them through every node in topological
order here, on one thread: each node gets the outputs of its sources, filtered by its `where`
(`Node.admit`, shared with the embedded runtime), in chunks of its `BatchPolicy.max_size`. A
chunk that raises is retried item by item, so only the bad item becomes a `DeadLetter` and the
rest go on (`senri.engine.isolate`, shared with the embedded runtime).
With `finishing=True` each operator's `finish()` results (open spans) flow on downstream too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from senri.engine.graph import Graph
from senri.engine.isolate import process_isolated
from senri.engine.operator import Operator
from senri.records import DeadLetter


@dataclass
class StepResult:
    """What one step made: items per output, dead letters, items processed per node."""

    outputs: dict[str, list[Any]] = field(default_factory=dict)
    dead: list[DeadLetter] = field(default_factory=list)
    processed: dict[str, int] = field(default_factory=dict)


def run_step(
    graph: Graph,
    ops: Mapping[str, Operator[Any, Any]],
    inputs: Mapping[str, list[Any]],
    *,
    finishing: bool = False,
) -> StepResult:
    """Run `inputs` (records per graph input) through every node; collect outputs and dead."""
    made: dict[str, list[Any]] = {name: list(inputs.get(name, [])) for name in graph.inputs}
    result = StepResult()
    for name, node in graph.nodes.items():
        op = ops[name]
        items = [item for src in node.sources for item in made.get(src, [])]
        kept = [x for x in (node.admit(item) for item in items) if x is not None]
        out: list[Any] = []
        size = node.batch.max_size
        for start in range(0, len(kept), size):
            results, dead = process_isolated(node, op, kept[start : start + size])
            out.extend(results)
            result.dead.extend(dead)
        if finishing:
            out.extend(op.finish())
        made[name] = out
        result.processed[name] = len(kept)
    for name, output in graph.outputs.items():
        result.outputs[name] = [item for src in output.sources for item in made.get(src, [])]
    return result
