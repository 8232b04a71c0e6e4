"""Glue for running a pipeline file on the embedded runtime: sources, sinks, stores, DLQ.

Relative media paths in a pipeline resolve against the pipeline file's folder; stores and
JSON-lines outputs go to the run's output folder (``<out>/<store>.sqlite``, ``<out>/dlq.jsonl``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from senri.engine import spec as spec_mod
from senri.engine.graph import Graph, build
from senri.engine.local import LocalRuntime, RunReport
from senri.engine.metrics import RuntimeMetrics
from senri.engine.operator import Device
from senri.engine.sinks import JsonlSink, Sink, StoreSink
from senri.errors import GraphError, PipelineError
from senri.indexes.events.sqlite import SqliteEventStore


@dataclass
class RunResult:
    """A finished run: the runtime's report and where its outputs are."""

    report: RunReport
    out_dir: Path
    stores: dict[str, Path] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    dlq: Path | None = None


def load_graph(path: str | Path) -> Graph:
    """Parse and validate a pipeline file; raises `PipelineError` listing every problem."""
    return build(spec_mod.load(path))


def _resolve(value: Any, base: Path) -> Any:
    if isinstance(value, str) and "://" not in value and not Path(value).is_absolute():
        return str(base / value)
    return value


def open_sources(graph: Graph, base: Path) -> dict[str, Any]:
    """Open each input's source; Kafka topics need the distributed runtime."""
    from senri.connectors import open_source

    sources = {}
    for name, inp in graph.inputs.items():
        if inp.kind == "topic":
            raise PipelineError(
                [
                    GraphError(
                        f"input '{name}' reads a Kafka topic",
                        line=inp.line,
                        hint="run it with `senri worker` on Kafka",
                    )
                ],
                None,
            )
        settings = dict(inp.settings)
        stream = str(settings.pop("stream", name))
        settings[inp.kind] = _resolve(settings[inp.kind], base)
        sources[name] = open_source(settings, stream)
    return sources


@dataclass(frozen=True)
class Probe:
    """What opening one input and reading its first item found."""

    input: str
    ok: bool
    message: str


def probe_sources(graph: Graph, base: Path, timeout: float = 15.0) -> list[Probe]:
    """Open every non-Kafka input and wait up to `timeout` s for its first item: a wrong URL,
    a camera that refuses or a file that does not decode fails here, with the reason, instead
    of retrying forever in a run. Live sources get one connection attempt."""
    probes = []
    for name, inp in graph.inputs.items():
        if inp.kind == "topic":
            probes.append(Probe(name, True, f"Kafka topic {inp.settings.get('topic', '')!r}"))
            continue
        settings = dict(inp.settings)
        stream = str(settings.pop("stream", name))
        settings[inp.kind] = _resolve(settings[inp.kind], base)
        if inp.kind in ("video", "packets"):
            settings["reconnect"] = {"max_attempts": 1, "initial": 0.0, "jitter": 0.0}
        probes.append(_probe(name, settings, stream, timeout))
    return probes


def _probe(name: str, settings: dict[str, Any], stream: str, timeout: float) -> Probe:
    import threading
    import time

    from senri.connectors import open_source
    from senri.records import AudioChunk, DeadLetter, Frame, ImageItem, VideoPacket

    started = time.perf_counter()
    try:
        source = open_source(settings, stream)
    except Exception as exc:  # the source's own constructor: a bad path, a bad option
        return Probe(name, False, str(exc))
    got: list[Any] = []

    def first() -> None:
        try:
            got.append(next(iter(source), None))
        except Exception as exc:  # a source that raises instead of dead-lettering
            got.append(exc)

    reader = threading.Thread(target=first, daemon=True)
    reader.start()
    reader.join(timeout)
    close = getattr(source, "close", None)
    if close is not None:
        close()
    seconds = time.perf_counter() - started
    item = got[0] if got else TimeoutError(f"nothing read within {timeout:g} s")
    if isinstance(item, Frame):
        return Probe(
            name, True, f"{item.width}x{item.height} frames, the first after {seconds:.2f} s"
        )
    if isinstance(item, AudioChunk):
        return Probe(name, True, f"audio at {item.sample_rate} Hz, the first after {seconds:.2f} s")
    if isinstance(item, ImageItem):
        return Probe(name, True, f"images, the first after {seconds:.2f} s")
    if isinstance(item, VideoPacket):
        return Probe(name, True, f"{item.codec} packets, the first after {seconds:.2f} s")
    if isinstance(item, DeadLetter):
        return Probe(name, False, item.reason)
    if item is None:
        return Probe(name, False, "the source ended without an item")
    if isinstance(item, Exception):
        return Probe(name, False, str(item))
    return Probe(name, True, f"{type(item).__name__} items, the first after {seconds:.2f} s")


def open_sinks(graph: Graph, out_dir: Path) -> tuple[dict[str, Sink], RunResult]:
    sinks: dict[str, Sink] = {}
    result = RunResult(RunReport(), out_dir)
    stores: dict[str, SqliteEventStore] = {}
    for name, out in graph.outputs.items():
        if out.kind == "store":
            path = out_dir / f"{out.target}.sqlite"
            store = stores.setdefault(out.target, SqliteEventStore(path))
            sinks[name] = StoreSink(store)
            result.stores[out.target] = path
        elif out.kind == "collection":
            from senri.indexes.vectors.collections import CollectionSink, collection_path

            sinks[name] = CollectionSink(out.target)
            result.files[name] = collection_path(out.target)
        else:
            path = Path(_resolve(out.target, out_dir))
            sinks[name] = JsonlSink(path)
            result.files[name] = path
    return sinks, result


def run_file(path: str | Path, out_dir: str | Path, **options: Any) -> RunResult:
    """Validate and run a pipeline file to completion; `options` as for `run_graph`."""
    pipeline = Path(path)
    return run_graph(load_graph(pipeline), pipeline.parent, out_dir, **options)


def run_graph(
    graph: Graph,
    base: Path,
    out_dir: str | Path,
    *,
    device: Device | None = None,
    metrics: RuntimeMetrics | None = None,
    queue_size: int = 64,
    on_start: Any = None,
    wire: bool = False,
) -> RunResult:
    """Run a validated graph on the embedded runtime; media paths resolve against `base`.

    `on_start(runtime)` is called before running (the CLI uses it to hook Ctrl-C to `stop()`).
    With `wire`, records go through the wire codec first (JPEG frames, PCM16 audio), so the run
    gives exactly the events a Kafka worker gives for the same media.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sources = open_sources(graph, base)
    if wire:
        from senri.codec import ThroughWire

        sources = {name: ThroughWire(source) for name, source in sources.items()}
    sinks, result = open_sinks(graph, out)
    result.dlq = Path(_resolve(graph.dlq, base)) if graph.dlq else out / "dlq.jsonl"
    runtime = LocalRuntime(
        graph,
        sources=sources,
        sinks=sinks,
        dlq=JsonlSink(result.dlq),
        device=device,
        metrics=metrics,
        queue_size=queue_size,
    )
    if on_start is not None:
        on_start(runtime)
    result.report = runtime.run()
    return result
