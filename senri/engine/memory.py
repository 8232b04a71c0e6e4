"""Running a graph over Python objects: in-memory input, in-memory output.

For notebooks, tests and benchmarks: feed records from any iterable through a few nodes and
get the last node's results back, on the same `LocalRuntime` a pipeline file uses.

Example:
    results, report = run_in_memory(
        {"motion": {"op": "vision.motion", "from": "items"}}, frames, input_type=Frame
    )
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from senri.engine import spec
from senri.engine.graph import build
from senri.engine.local import LocalRuntime, RunReport
from senri.engine.operator import OperatorRegistry, registry
from senri.engine.sinks import MemorySink


def memory_runtime(
    nodes: Mapping[str, Mapping[str, Any]],
    items: Iterable[Any],
    *,
    input_type: type,
    ops: OperatorRegistry = registry,
    queue_size: int = 64,
) -> tuple[LocalRuntime, MemorySink]:
    """A runtime whose input ``items`` reads `items` and whose output collects the last node's."""
    doc = {
        "inputs": {"items": {"memory": "python"}},
        "graph": {name: dict(body) for name, body in nodes.items()},
        "outputs": {"out": {"memory": "python", "from": [list(nodes)[-1]]}},
    }
    graph = build(
        spec.from_mapping(doc),
        ops=ops,
        input_types={"items": input_type},
        sink_kinds={"memory": object},
    )
    sink = MemorySink()
    runtime = LocalRuntime(
        graph, sources={"items": iter(items)}, sinks={"out": sink}, queue_size=queue_size
    )
    return runtime, sink


def run_in_memory(
    nodes: Mapping[str, Mapping[str, Any]],
    items: Iterable[Any],
    *,
    input_type: type,
    ops: OperatorRegistry = registry,
    queue_size: int = 64,
) -> tuple[list[Any], RunReport]:
    """Run `items` through `nodes` (the first reads from ``items``); the last node's results."""
    runtime, sink = memory_runtime(
        nodes, items, input_type=input_type, ops=ops, queue_size=queue_size
    )
    report = runtime.run()
    return sink.items, report
