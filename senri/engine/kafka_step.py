"""One micro-batch through a validated `Graph`, synchronously: the worker's unit of work.

The Kafka worker decodes a poll's records, then runs them through every node in topological
order here, on one thread: each node gets the outputs of its sources, filtered by its `where`
(`apply_where`, shared with the embedded runtime), in chunks of its `BatchPolicy.max_size`. A
chunk that raises is retried item by item, so only the bad item becomes a `DeadLetter` and the
rest go on (the same isolation as `senri.engine.local`, copied minimally; see docs/distributed.md).
With `finishing=True` each operator's `finish()` results (open spans) flow on downstream too.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from senri.engine.graph import Graph, Node
from senri.engine.local import apply_where
from senri.engine.operator import Operator, Stateful
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
        kept = [x for x in (apply_where(node, item) for item in items) if x is not None]
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


def process_isolated(
    node: Node, op: Operator[Any, Any], items: list[Any]
) -> tuple[list[Any], list[DeadLetter]]:
    """Run one batch; on failure retry item by item so only the bad item is dead-lettered.

    A `Stateful` operator may have updated its state for the items before the one that raised;
    its per-stream state is put back as it was before the batch, so the retry does not apply
    those items twice.
    """
    before = _snapshot(op, items)
    try:
        out = op.process(items)
        if len(out) != len(items):
            raise RuntimeError(f"operator returned {len(out)} results for {len(items)} inputs")
        return out, []
    except Exception:
        if len(items) == 1:
            return [], [_letter(node, items[0])]
        if isinstance(op, Stateful):
            for stream, state in before.items():
                op.restore(stream, state)
    results: list[Any] = []
    dead: list[DeadLetter] = []
    for item in items:
        try:
            results.extend(op.process([item]))
        except Exception:
            dead.append(_letter(node, item))
    return results, dead


def _snapshot(op: Operator[Any, Any], items: list[Any]) -> dict[str, Any]:
    if not isinstance(op, Stateful):
        return {}
    streams = {str(getattr(item, "stream_id", "")) for item in items}
    return {stream: copy.deepcopy(op.snapshot(stream)) for stream in streams}


def _letter(node: Node, item: Any) -> DeadLetter:
    exc = sys.exc_info()[1]
    return DeadLetter(
        stream_id=str(getattr(item, "stream_id", "")),
        key=str(getattr(item, "key", "")),
        stage=node.name,
        reason=f"{node.op_cls.name} failed: {exc}",
        error=type(exc).__name__,
        time=time.time(),
    )
