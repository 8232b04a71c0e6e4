"""CLI for the distributed mode: `senri ingest video|audio|images ...` and `senri worker ...`.

Mounted into the main command with::

    from senri.bus_cli import ingest_app, worker
    app.add_typer(ingest_app, name="ingest")
    app.command("worker")(worker)

It also runs on its own: ``python -m senri.bus_cli ingest video cam.mp4 --stream cam1``.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from senri.cli_options import (
    ALLOW_DEAD_LETTERS,
    BUS_HELP,
    DEAD_LETTER_EXIT,
    STORE_HELP,
    exit_on_dead_letters,
)
from senri.engine.health import coloured

if TYPE_CHECKING:
    from senri.engine.kafka_runtime import Crash

HEALTH_PORT_HELP = (
    "Serve /healthz (each stream up, or down since when and why) and Prometheus /metrics "
    "(senri_stream_up) on 127.0.0.1:PORT while ingesting (0: off)."
)
PARTITIONS_HELP = (
    "Partitions of the topic when ingest creates it (default: $SENRI_KAFKA_PARTITIONS or 3)."
)
ingest_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Produce video, audio or images onto Kafka. Exit status: 0 sent; 1 an error stopped "
    f"it; {DEAD_LETTER_EXIT} sent, but items went to the dead-letter topic "
    "(unless --allow-dead-letters).",
    no_args_is_help=True,
)
console = Console(stderr=True, soft_wrap=True)


def _bootstrap(bus: str | None) -> str:
    from senri.connectors.kafka import parse_bus
    from senri.services import kafka_bootstrap

    try:
        return parse_bus(bus) if bus else kafka_bootstrap()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--bus") from None


INTERRUPTED_EXIT = 130
"""`senri ingest` stopped by Ctrl-C (after sending and counting what it had read)."""
DURATION_HELP = "Stop after N seconds (a live camera has no end); checked as records arrive."


def _summary(report: Any) -> None:
    ended = {"interrupted": " (interrupted)", "duration": " (--duration reached)"}
    console.print(
        f"[green]sent[/] {report.records} records ({report.bytes / 1e6:.1f} MB, "
        f"{report.compression}) to [bold]{escape(report.topic)}[/] in {report.seconds:.1f}s "
        f"({report.megabytes_per_s:.1f} MB/s){ended.get(report.stopped, '')}; "
        f"dead letters: {report.dead_letters}"
        + (f"; the stream went down {report.outages} times" if report.outages else "")
    )
    for line in report.health:  # it ended down: say so, with why
        console.print(coloured(line))


def _run_ingest(
    fn: Any, *args: Any, allow_dead_letters: bool, metrics_port: int = 0, **kwargs: Any
) -> None:
    """Run one ingest; exit 1 on an error, `DEAD_LETTER_EXIT` if it dead-lettered anything."""
    from senri.engine.metrics import RuntimeMetrics
    from senri.errors import SenriError

    if metrics_port:
        metrics = kwargs["metrics"] = RuntimeMetrics()
        metrics.serve(metrics_port)
    try:
        report = fn(*args, progress=True, **kwargs)
    except (SenriError, ValueError, TimeoutError) as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    _summary(report)
    if report.stopped == "interrupted":
        raise typer.Exit(INTERRUPTED_EXIT)
    where = f"topic {kwargs['dlq_topic']}"
    exit_on_dead_letters(report.dead_letters, where, allow_dead_letters, console)


@ingest_app.command("video")
def ingest_video(
    source: str = typer.Argument(..., help="Video file or camera URL (rtsp://, http://)."),
    stream: str = typer.Option(..., "--stream", help="Stream id (the message key)."),
    fps: float | None = typer.Option(None, "--fps", help="Keep at most N frames per second."),
    bus: str | None = typer.Option(None, "--bus", help=BUS_HELP),
    topic: str | None = typer.Option(
        None, "--topic", help="Default: senri.frames.STREAM (senri.packets.STREAM with --packets)."
    ),
    partitions: int | None = typer.Option(
        None, "--partitions", min=1, help=PARTITIONS_HELP, show_default=False
    ),
    dlq: str = typer.Option("senri.dlq", "--dlq", help="Where unreadable items go."),
    allow_dead_letters: bool = ALLOW_DEAD_LETTERS,
    rate: float | None = typer.Option(None, "--rate", help="Send at most N records per second."),
    start_time: float | None = typer.Option(None, "--start-time", help="Epoch of pts 0."),
    max_frames: int | None = typer.Option(None, "--max-frames", min=1),
    duration: float | None = typer.Option(None, "--duration", min=0.0, help=DURATION_HELP),
    metrics_port: int = typer.Option(0, "--metrics-port", min=0, help=HEALTH_PORT_HELP),
    packets: bool = typer.Option(
        False,
        "--packets",
        help="Send the camera's own compressed packets (H.264/H.265, one record per access "
        "unit, keyframe flag and time in headers) to senri.packets.STREAM, undecoded; the "
        "pipeline decodes them with decode.video. Default: decoded frames as JPEG.",
    ),
) -> None:
    """Produce a video's frames as JPEG envelopes keyed by stream id, or with --packets its
    compressed packets as they are (no decode at ingest, the camera's bitrate on the wire).

    Exits 0 when all went through, 1 on an error, 3 when something went to the dead letters,
    130 on Ctrl-C (after a summary of what was sent).
    """
    from senri.ingest import ingest_video as run

    _run_ingest(
        run,
        source,
        stream,
        _bootstrap(bus),
        fps=fps,
        topic=topic,
        start_time=start_time,
        max_frames=max_frames,
        duration=duration,
        partitions=partitions,
        rate=rate,
        dlq_topic=dlq,
        allow_dead_letters=allow_dead_letters,
        packets=packets,
        metrics_port=metrics_port,
    )


@ingest_app.command("audio")
def ingest_audio(
    source: str = typer.Argument(..., help="Audio file or URL."),
    stream: str = typer.Option(..., "--stream", help="Stream id (the message key)."),
    chunk_seconds: float = typer.Option(1.0, "--chunk-seconds"),
    sample_rate: int = typer.Option(16000, "--sample-rate"),
    bus: str | None = typer.Option(None, "--bus", help=BUS_HELP),
    topic: str | None = typer.Option(None, "--topic", help="Default: senri.audio.STREAM."),
    partitions: int | None = typer.Option(
        None, "--partitions", min=1, help=PARTITIONS_HELP, show_default=False
    ),
    dlq: str = typer.Option("senri.dlq", "--dlq", help="Where unreadable items go."),
    allow_dead_letters: bool = ALLOW_DEAD_LETTERS,
    rate: float | None = typer.Option(None, "--rate", help="Send at most N chunks per second."),
    start_time: float | None = typer.Option(None, "--start-time", help="Epoch of pts 0."),
    duration: float | None = typer.Option(None, "--duration", min=0.0, help=DURATION_HELP),
    metrics_port: int = typer.Option(0, "--metrics-port", min=0, help=HEALTH_PORT_HELP),
) -> None:
    """Produce PCM16 audio chunks keyed by stream id (exit statuses as `ingest video`)."""
    from senri.ingest import ingest_audio as run

    _run_ingest(
        run,
        source,
        stream,
        _bootstrap(bus),
        chunk_seconds=chunk_seconds,
        sample_rate=sample_rate,
        topic=topic,
        start_time=start_time,
        duration=duration,
        partitions=partitions,
        rate=rate,
        dlq_topic=dlq,
        allow_dead_letters=allow_dead_letters,
        metrics_port=metrics_port,
    )


@ingest_app.command("images")
def ingest_images(
    folder: str = typer.Argument(..., help="Folder of images."),
    collection: str = typer.Option(..., "--collection", help="Collection name (the key)."),
    bus: str | None = typer.Option(None, "--bus", help=BUS_HELP),
    topic: str | None = typer.Option(None, "--topic", help="Default: senri.images.COLLECTION."),
    partitions: int | None = typer.Option(
        None, "--partitions", min=1, help=PARTITIONS_HELP, show_default=False
    ),
    dlq: str = typer.Option("senri.dlq", "--dlq", help="Where unreadable items go."),
    allow_dead_letters: bool = ALLOW_DEAD_LETTERS,
    rate: float | None = typer.Option(None, "--rate", help="Send at most N images per second."),
    recursive: bool = typer.Option(True, "--recursive/--no-recursive"),
) -> None:
    """Produce a folder's images as image envelopes keyed by collection."""
    from senri.ingest import ingest_images as run

    _run_ingest(
        run,
        folder,
        collection,
        _bootstrap(bus),
        topic=topic,
        recursive=recursive,
        partitions=partitions,
        rate=rate,
        dlq_topic=dlq,
        allow_dead_letters=allow_dead_letters,
    )


def worker(
    pipeline: Path = typer.Argument(..., exists=True, dir_okay=False, help="Pipeline YAML."),
    bus: str | None = typer.Option(None, "--bus", help=BUS_HELP),
    store: str = typer.Option("sqlite:events.sqlite", "--store", help=STORE_HELP),
    group: str | None = typer.Option(
        None, "--group", help="Default: senri.worker.NAME (the pipeline's name)."
    ),
    results: str | None = typer.Option(None, "--results", help="Default: senri.results.NAME."),
    dlq: str = typer.Option("senri.dlq", "--dlq", help="Dead-letter topic."),
    stop_when_idle: float | None = typer.Option(
        None, "--stop-when-idle", help="Flush open spans and exit after N idle seconds."
    ),
    max_message_bytes: int | None = typer.Option(
        None,
        "--max-message-bytes",
        min=1,
        help="Largest envelope decoded; a bigger one is dead-lettered. Default: 16 MiB.",
    ),
    max_poll_records: int = typer.Option(256, "--max-poll-records", min=1),
    decode_threads: int | None = typer.Option(
        None,
        "--decode-threads",
        min=1,
        help="Threads that decode each polled batch's JPEG frames. Default: the cores, at most 8.",
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:N or auto."),
    client_id: str = typer.Option(
        "senri-worker", "--client-id", help="How this worker names itself to the brokers."
    ),
    metrics_port: int = typer.Option(
        0, help="Serve Prometheus metrics on HOST:PORT (items, batches, restores; 0: off)."
    ),
    metrics_host: str = typer.Option(
        "127.0.0.1",
        help="Interface the metrics listen on; 0.0.0.0 in a container, so Prometheus and the "
        "orchestrator's probes reach them.",
    ),
    transactions: bool = typer.Option(
        True,
        help="Commit each batch's results, dead letters, state and offsets as one Kafka "
        "transaction (exactly-once for read_committed readers). Off: at-least-once topics.",
    ),
) -> None:
    """Run a pipeline as one worker of a Kafka consumer group (Ctrl-C commits and leaves).

    Takes the pipelines `senri run` takes: a file or camera input reads the topic of its stream
    that `senri ingest` writes (senri.frames.STREAM, senri.audio.STREAM, senri.images.STREAM).
    A {topic: NAME, schema: frame|audio|image} input reads NAME.
    """
    from senri.engine.kafka_runtime import (
        KafkaWorker,
        WorkerConfig,
        input_topics,
        worker_sinks,
    )
    from senri.engine.operator import Device
    from senri.engine.run import load_graph
    from senri.errors import PipelineError

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("senri.engine.kafka_runtime").setLevel(logging.INFO)  # assignments
    try:
        graph = load_graph(pipeline)
    except PipelineError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    config = WorkerConfig(
        _bootstrap(bus),
        group=group,
        results_topic=results,
        dlq_topic=dlq,
        stop_when_idle_s=stop_when_idle,
        max_poll_records=max_poll_records,
        device=Device.parse(device),
        client_id=client_id,
        transactional=transactions,
        crash=_chaos_crash(),
    )
    if max_message_bytes is not None:
        config.max_message_bytes = max_message_bytes
    if decode_threads is not None:
        config.decode_threads = decode_threads
    from senri.errors import StoreError
    from senri.indexes.events.stores import open_store

    try:
        event_store = open_store(store)
    except StoreError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    try:
        from senri.engine.metrics import RuntimeMetrics

        metrics = RuntimeMetrics()
        if metrics_port:
            metrics.serve(metrics_port, metrics_host)
        sinks = worker_sinks(graph, event_store, config.bootstrap)
        runner = KafkaWorker(graph, config, sinks, metrics)
    except ValueError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: runner.stop())
    console.print(f"worker of group [bold]{escape(runner.group)}[/] on {config.bootstrap}")
    for name, topic in input_topics(graph).items():
        console.print(f"  input {escape(name)} ← {escape(topic)}")
    try:
        report = runner.run()
    finally:
        event_store.close()
    console.print(
        f"[green]done[/]: {report.consumed} records, {report.events} events, "
        f"{report.dead_letters} dead letters, {report.commits} commits in {report.seconds:.1f}s"
    )


def _chaos_crash() -> Crash | None:
    """``SENRI_CHAOS_CRASH=results|state:TOPIC:OFFSET`` (failover tests only; see `Crash`)."""
    import os

    from senri.engine.kafka_runtime import Crash as _Crash

    value = os.environ.get("SENRI_CHAOS_CRASH")
    return _Crash.parse(value, os.environ.get("SENRI_CHAOS_CRASH_MARKER")) if value else None


app = typer.Typer(
    rich_markup_mode="markdown", help="senri distributed mode (Kafka).", no_args_is_help=True
)
app.add_typer(ingest_app, name="ingest")
app.command("worker")(worker)

if __name__ == "__main__":
    app()
