"""Ingest: read a video, audio file or image folder and produce its records onto Kafka.

Frames go as JPEG envelopes, audio as PCM16 chunk envelopes, images as image envelopes (never raw
arrays), keyed by stream id, to `senri.frames.<stream>` / `senri.audio.<stream>` /
`senri.images.<collection>` unless a topic is given. Topics are created (idempotently) with
`partitions` partitions. Sending goes through `BusProducer`, which blocks and resends through a
broker restart rather than dropping. A corrupt item the source reports goes to `senri.dlq` with
its reason; the rest of the stream goes on.

Example:
    report = ingest_video("camera.mp4", "cam1", "localhost:9092", fps=10)
    print(report.records, report.megabytes_per_s)
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from senri.connectors import AudioSource, ImageFolderSource, VideoSource
from senri.connectors.health_topic import HealthReporter, health_topic_spec
from senri.connectors.kafka import (
    DLQ_TOPIC,
    BusProducer,
    TopicSpec,
    audio_topic,
    ensure_topics,
    frames_topic,
    images_topic,
    packets_topic,
    topic_partitions,
)
from senri.engine.health import StreamHealth, coloured
from senri.engine.metrics import RuntimeMetrics
from senri.records import DeadLetter


@dataclass
class IngestReport:
    """What one ingest sent: records, dead letters, bytes (envelopes), seconds, where to."""

    topic: str
    records: int = 0
    dead_letters: int = 0
    bytes: int = 0
    seconds: float = 0.0
    compression: str = ""
    resent: int = 0
    stopped: str = ""
    """Why it ended before its source did: "interrupted" (Ctrl-C), "duration"; "" if not."""
    outages: int = 0
    """Times the source's stream went down (a camera that refused or dropped)."""
    health: list[str] = field(default_factory=list)
    """The stream's last state, when it ended down: "cam1: down since …, …, gave up"."""

    @property
    def megabytes_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


class RateLimiter:
    """Paces calls to at most `rate` per second (None: no limit), without drifting."""

    def __init__(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be positive; got {rate}")
        self.interval = 0.0 if rate is None else 1.0 / rate
        self._next = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(self._next, now) + self.interval


def dead_letter_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """Headers of a source dead letter on `senri.dlq` (same names the worker uses)."""
    return [
        ("senri.reason", letter.reason.encode()),
        ("senri.error", letter.error.encode()),
        ("senri.stage", letter.stage.encode()),
        ("senri.stream", letter.stream_id.encode()),
        ("senri.key", letter.key.encode()),
    ]


def ingest(
    records: Iterable[Any],
    topic: str,
    bootstrap: str,
    *,
    partitions: int | None = None,
    rate: float | None = None,
    progress: bool = False,
    total: int | None = None,
    producer: BusProducer | None = None,
    dlq_topic: str = DLQ_TOPIC,
    duration: float | None = None,
    metrics: RuntimeMetrics | None = None,
) -> IngestReport:
    """Produce every record of `records` onto `topic` (created if missing); dead letters to DLQ.

    `partitions` is the new topic's count (default `topic_partitions()`); `rate` limits
    records per second; `duration` stops after that many seconds (a live camera
    has no end); `progress` shows a rich progress bar on stderr, counting sent records and dead
    letters apart. Ctrl-C stops reading, and what was read is still sent and counted.
    `metrics` gets the streams' health (the `senri_stream_up` gauge and ``/healthz``).
    """
    made = partitions if partitions is not None else topic_partitions()
    ensure_topics(bootstrap, [TopicSpec(topic, made), TopicSpec(dlq_topic, 1), health_topic_spec()])
    report = IngestReport(topic)
    limiter = RateLimiter(rate)
    own = producer is None
    prod = producer if producer is not None else BusProducer(bootstrap)
    report.compression = prod.compression
    started = time.perf_counter()
    bar = _progress_bar(topic, total) if progress else None
    say = None if bar is None else (lambda line: bar[0].console.print(coloured(line)))
    health = StreamHealth(say, metrics.stream_state if metrics is not None else None)
    reporter = HealthReporter(prod, health)  # to senri.health, for GET /status
    if metrics is not None:
        metrics.streams = health.snapshot
    try:
        try:
            for record in records:
                limiter.wait()
                health.seen(record)
                if isinstance(record, DeadLetter):
                    payload = record.payload or b""
                    prod.send(
                        dlq_topic, record.stream_id.encode(), payload, dead_letter_headers(record)
                    )
                    report.dead_letters += 1
                else:
                    report.bytes += prod.send_record(topic, record)
                    report.records += 1
                reporter.tick()
                if bar is not None:
                    bar[0].update(
                        bar[1],
                        completed=report.records,
                        sent=f"{report.bytes / 1e6:.1f} MB",
                        dead=f"{report.dead_letters} dead letters",
                    )
                if duration is not None and time.perf_counter() - started >= duration:
                    report.stopped = "duration"
                    break
        except KeyboardInterrupt:
            report.stopped = "interrupted"
        reporter.close()
        prod.flush()
    finally:
        if own:
            prod.close()
        if bar is not None:
            bar[0].stop()
    report.seconds = time.perf_counter() - started
    report.resent = prod.resent
    states = health.snapshot()
    report.outages = sum(h["outages"] for h in states.values())
    report.health = [line for line in health.lines() if ": down since" in line]
    return report


def _progress_bar(topic: str, total: int | None) -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[sent]}"),
        TextColumn("{task.fields[dead]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task(topic, total=total, sent="0.0 MB", dead="0 dead letters")
    bar.start()
    return bar, task


def _frame_count(path: Path) -> int | None:
    """The container's frame count when it states one (for the progress bar), else None."""
    try:
        import av

        with av.open(str(path)) as container:
            frames = container.streams.video[0].frames
            return int(frames) or None
    except Exception:  # only a progress hint: any failure means "unknown"
        return None


def ingest_video(
    source: str,
    stream: str,
    bootstrap: str,
    *,
    fps: float | None = None,
    topic: str | None = None,
    start_time: float | None = None,
    max_frames: int | None = None,
    packets: bool = False,
    **options: Any,
) -> IngestReport:
    """Produce the frames of a video file or camera URL onto `senri.frames.<stream>`; with
    `packets`, the camera's own compressed packets, undecoded, onto `senri.packets.<stream>`
    (a pipeline decodes them with `decode.video`, which also samples by fps)."""
    if packets:
        if fps is not None:
            raise ValueError("--fps samples decoded frames: give it to decode.video instead")
        from senri.connectors import PacketSource

        raw = PacketSource(source, stream, start_time=start_time, max_frames=max_frames)
        options.setdefault("total", None if "://" in source else _frame_count(Path(source)))
        return ingest(raw, topic or packets_topic(stream), bootstrap, **options)
    src = VideoSource(source, stream, fps=fps, start_time=start_time, max_frames=max_frames)
    total = None if fps or "://" in source else _frame_count(Path(source))
    options.setdefault("total", total)
    return ingest(src, topic or frames_topic(stream), bootstrap, **options)


def ingest_audio(
    source: str,
    stream: str,
    bootstrap: str,
    *,
    chunk_seconds: float = 1.0,
    sample_rate: int = 16000,
    topic: str | None = None,
    start_time: float | None = None,
    **options: Any,
) -> IngestReport:
    """Produce PCM16 chunks of an audio file or URL onto `senri.audio.<stream>`."""
    src = AudioSource(source, stream, chunk_seconds, sample_rate, start_time)
    return ingest(src, topic or audio_topic(stream), bootstrap, **options)


def ingest_images(
    folder: str,
    collection: str,
    bootstrap: str,
    *,
    topic: str | None = None,
    recursive: bool = True,
    **options: Any,
) -> IngestReport:
    """Produce the images of a folder onto `senri.images.<collection>`."""
    src = ImageFolderSource(folder, collection, recursive=recursive)
    options.setdefault("total", len(src.paths()))
    return ingest(src, topic or images_topic(collection), bootstrap, **options)
