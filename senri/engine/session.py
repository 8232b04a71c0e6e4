"""Request-time graphs: operators set up once, then run on items a caller hands in.

Per-frame VQA, similar-by-image, face search and the HTTP API answer one request at a time,
not a stream; they still run their models as a graph through `run_step`, so batching, the
device, dead letters and metrics are the engine's, as in a pipeline. A session holds its
operators between requests (models load once) and runs one request at a time (operators are
not thread-safe)::

    session = GraphSession.of({"detect": {"op": "vision.detect", "from": "frames"}},
                              inputs={"frames": Frame})
    (found,) = session.run(frames=[frame]).outputs["detect"]
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from senri.engine import spec
from senri.engine.graph import Graph, build
from senri.engine.metrics import RuntimeMetrics
from senri.engine.operator import Device, Operator
from senri.engine.step import StepResult, run_step


class GraphSession:
    """A validated graph whose operators are created and set up once, run on demand."""

    def __init__(
        self, graph: Graph, *, device: Device | None = None, metrics: RuntimeMetrics | None = None
    ) -> None:
        self.graph = graph
        self.device = device or Device("cpu")
        self.metrics = metrics or RuntimeMetrics()
        self._ops: dict[str, Operator[Any, Any]] = {}
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def of(
        cls,
        nodes: Mapping[str, Mapping[str, Any]],
        *,
        inputs: Mapping[str, type],
        outputs: Mapping[str, list[str]] | None = None,
        device: Device | None = None,
    ) -> GraphSession:
        """A session over `nodes` (pipeline YAML's ``graph:`` as a mapping) fed by `inputs`
        (name → record type). `outputs` name what `run` returns (default: every node)."""
        wanted = outputs if outputs is not None else {name: [name] for name in nodes}
        doc = {
            "name": "session",
            "inputs": {name: {"memory": "python"} for name in inputs},
            "graph": {name: dict(body) for name, body in nodes.items()},
            "outputs": {name: {"memory": "python", "from": src} for name, src in wanted.items()},
        }
        graph = build(
            spec.from_mapping(doc), input_types=dict(inputs), sink_kinds={"memory": object}
        )
        return cls(graph, device=device)

    def setup(self) -> GraphSession:
        """Create and set up every operator (load models); idempotent."""
        with self._lock:
            self._setup()
        return self

    def operator(self, name: str) -> Operator[Any, Any]:
        """Node `name`'s operator, created (not yet set up) if need be: a caller may hand it
        something already loaded, which its idempotent `setup` then keeps."""
        with self._lock:
            if name not in self._ops:
                self._ops[name] = self.graph.nodes[name].create()
            return self._ops[name]

    def _setup(self) -> None:
        if self._ready:
            return
        for name, node in self.graph.nodes.items():
            op = self._ops.get(name) or node.create()
            op.setup(node.device or self.device)
            self._ops[name] = op
        self._ready = True

    def run(self, *, finishing: bool = False, **inputs: list[Any]) -> StepResult:
        """Run the items of each named input through the graph; outputs and dead letters.

        Stateful operators keep their state between runs, as over a stream; `finishing` ends
        the streams after these items, so what operators hold back (open spans) comes out.
        """
        unknown = sorted(set(inputs) - set(self.graph.inputs))
        if unknown:
            raise ValueError(f"no input {unknown[0]!r}; inputs: {', '.join(self.graph.inputs)}")
        with self._lock:
            self._setup()
            return run_step(
                self.graph, self._ops, inputs, finishing=finishing, metrics=self.metrics
            )

    def close(self) -> None:
        """Tear every operator down (models released); the session sets up again if run."""
        with self._lock:
            for op in self._ops.values():
                op.teardown()
            self._ops.clear()
            self._ready = False
