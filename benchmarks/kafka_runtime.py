"""The Kafka runtime against the embedded one on the same graph, and ingest against raw producers.

On the synthetic camera (motion → track → colour, the demo's video graph) it prints
  - throughput: frames/s of the embedded runtime (frames already decoded in memory) and of one
    Kafka worker over pre-ingested frames (busy time: first poll to last commit), with a
    transaction per batch (the default) and without (`kafka -t`), and their ratios to embedded;
  - a worker on `--hd` 1080p frames (the camera's, enlarged), on one decode thread and on its
    default `decode_threads`: at that size the JPEG decode is most of a frame's cost;
  - latency at a steady `--rate` below capacity: p50/p99 seconds from a frame's production
    (Kafka: the record's produce timestamp; embedded: the source yielding it) to its results
    being stored (Kafka: the offset commit after the store flushed);
  - ingest records/s of the camera's packets (`senri ingest video --packets`: demux, produce)
    against kafka-python sending the same envelopes pre-encoded;
  - ingest MB/s of envelopes: `senri.ingest` (read video, JPEG-encode, produce), a raw
    kafka-python producer sending the same pre-encoded envelopes with the same settings, and
    Kafka's own `ProducerPerformance` with the same record size and producer settings, with the
    ratios to senri ingest.
Topics are made under `senri.bench.<random>` and deleted at the end.

Run: `python benchmarks/kafka_runtime.py [--frames 400] [--hd 120] [--rate 20] [--bus kafka://HOST:PORT]`
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2

from senri import codec
from senri.connectors import VideoSource
from senri.connectors.kafka import (
    BusProducer,
    TopicSpec,
    compression_type,
    delete_topics,
    ensure_topics,
    envelope_headers,
    parse_bus,
)
from senri.connectors.packets import PacketSource
from senri.engine import spec
from senri.engine.graph import Graph, build
from senri.engine.kafka_runtime import KafkaWorker, WorkerConfig
from senri.engine.local import LocalRuntime
from senri.engine.sinks import MemorySink
from senri.ingest import ingest
from senri.services import kafka_bootstrap
from senri.services.resolve import resolve, resolved
from senri.worlds import shapes

GRAPH = """
name: bench
inputs: {{frames: {{topic: {topic}, schema: frame}}}}
graph:
  motion: {{op: vision.motion, from: frames, batch: 8}}
  track: {{op: vision.track, from: motion}}
  colour: {{op: vision.colour, from: track, where: "tracker_id >= 0"}}
outputs: {{events: {{store: events, from: [colour]}}}}
"""


PASSES = 5
"""Times the camera file is read for the packet ingest figures (it is 200 packets long)."""


def frames(video: Path, n: int) -> list[Any]:
    """`n` frames as the wire carries them, the 200-frame video repeated as streams cam0, cam1…"""
    out: list[Any] = []
    stream = 0
    while len(out) < n:
        src = VideoSource(video, f"cam{stream}", start_time=0.0, max_frames=n - len(out))
        out.extend(codec.decode(codec.encode(f)) for f in src)
        stream += 1
    return out


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _TimedSink(MemorySink):
    """Records when each frame's result arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    def write(self, items: list[Any]) -> None:
        now = time.perf_counter()
        for item in items:
            self.arrived[item.key] = now


def embedded(graph: Graph, data: list[Any], rate: float | None) -> tuple[float, list[float]]:
    """frames/s and per-frame latencies of the embedded runtime (paced when `rate`)."""
    emitted: dict[str, float] = {}

    def source() -> Iterator[Any]:
        interval = 0.0 if rate is None else 1.0 / rate
        start = time.perf_counter()
        for i, f in enumerate(data):
            if interval:
                time.sleep(max(0.0, start + i * interval - time.perf_counter()))
            emitted[f.key] = time.perf_counter()
            yield f

    sink = _TimedSink()
    report = LocalRuntime(graph, sources={"frames": source()}, sinks={"events": sink}).run()
    lat = [sink.arrived[k] - t for k, t in emitted.items() if k in sink.arrived]
    return len(data) / report.seconds, lat


def kafka(
    graph: Graph,
    bootstrap: str,
    topic: str,
    data: list[Any],
    rate: float | None,
    prefix: str,
    transactional: bool = True,
    decode_threads: int | None = None,
) -> tuple[float, list[float]]:
    """frames/s (busy time) and latencies of one worker; paced ingest runs alongside it."""
    group = f"{prefix}.group.{uuid.uuid4().hex[:6]}"
    cfg = WorkerConfig(
        bootstrap,
        group=group,
        results_topic=f"{prefix}.results",
        dlq_topic=f"{prefix}.dlq",
        changelog_topic=f"{prefix}.state",
        max_poll_records=64,
        transactional=transactional,
    )
    if decode_threads is not None:
        cfg.decode_threads = decode_threads
    worker = KafkaWorker(graph, cfg, {"events": MemorySink()})
    if rate is None:
        ingest(data, topic, bootstrap, partitions=1, dlq_topic=f"{prefix}.dlq")
    thread = threading.Thread(target=worker.run)
    thread.start()
    if rate is not None:
        while not worker.assigned:
            time.sleep(0.05)
        ingest(data, topic, bootstrap, partitions=1, rate=rate, dlq_topic=f"{prefix}.dlq")
    while worker.report.consumed < len(data):
        time.sleep(0.05)
    worker.stop()
    thread.join()
    r = worker.report
    busy = (r.last_commit_at or 0.0) - (r.first_poll_at or 0.0)
    return len(data) / busy if busy > 0 else float("nan"), r.latencies


def raw_producer(bootstrap: str, topic: str, values: list[tuple[bytes, bytes, Any]]) -> float:
    """MB/s of kafka-python sending pre-encoded envelopes with BusProducer's settings."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        compression_type=compression_type(),
        linger_ms=20,
        batch_size=256 * 1024,
    )
    started = time.perf_counter()
    for key, value, headers in values:
        producer.send(topic, key=key, value=value, headers=headers)
    producer.flush()
    seconds = time.perf_counter() - started
    producer.close()
    return sum(len(v) for _, v, _ in values) / 1e6 / seconds


def producer_performance(bootstrap: str, topic: str, records: int, size: int) -> str:
    """Kafka's ProducerPerformance line with the same settings (kafka-tools is one of the jars
    `senri services` resolves and caches)."""
    jars = resolved() or resolve(say=lambda _: None)
    cmd = [
        "java", "-cp", f"{jars.kafka_lib}/*",
        "org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
        "--num-records", str(records), "--record-size", str(size), "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all",
        f"compression.type={compression_type()}", "linger.ms=20", "batch.size=262144",
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    last = [line for line in out.splitlines() if "records sent" in line]
    return last[-1] if last else f"no result: {out[-300:]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--rate", type=float, default=20.0, help="frames/s for latency")
    parser.add_argument("--bus", default=None)
    parser.add_argument(
        "--hd", type=int, default=120, help="1080p frames for the worker's decode figure (0: none)"
    )
    args = parser.parse_args()
    bootstrap = parse_bus(args.bus) if args.bus else kafka_bootstrap()
    prefix = f"senri.bench.{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        shapes.generate(Path(tmp), seed=7)
        video = Path(tmp) / "camera.mp4"
        data = frames(video, args.frames)
        paced = data[: min(len(data), int(args.rate * 10))]
        topics = [f"{prefix}.{name}" for name in ("t1", "t2", "ing", "raw", "perf", "t0", "t3")]
        try:
            print(f"graph: motion → track → colour; {len(data)} frames; broker {bootstrap}")
            ensure_topics(bootstrap, [TopicSpec(t, 1) for t in topics])
            graph = build(spec.parse_yaml(GRAPH.format(topic=topics[0])))
            e_fps, _ = embedded(graph, data, None)
            k_fps, _ = kafka(graph, bootstrap, topics[0], data, None, prefix)
            graph = build(spec.parse_yaml(GRAPH.format(topic=topics[5])))
            n_fps, _ = kafka(graph, bootstrap, topics[5], data, None, prefix, False)
            print(f"throughput  embedded {e_fps:8.1f} frames/s")
            print(f"            kafka    {k_fps:8.1f} frames/s   ratio {k_fps / e_fps:.2f}"
                  "   (a transaction per batch)")  # fmt: skip
            print(f"            kafka    {n_fps:8.1f} frames/s   ratio {n_fps / e_fps:.2f}"
                  "   (--no-transactions)")  # fmt: skip
            if args.hd:
                hd_topics = [f"{prefix}.hd{n}" for n in range(2)]
                topics.extend(hd_topics)
                ensure_topics(bootstrap, [TopicSpec(t, 1) for t in hd_topics])
                hd = [replace(f, image=cv2.resize(f.image, (1920, 1080))) for f in data[: args.hd]]
                for threads, topic in zip(
                    sorted({1, WorkerConfig("").decode_threads}), hd_topics, strict=False
                ):
                    graph = build(spec.parse_yaml(GRAPH.format(topic=topic)))
                    fps, _ = kafka(
                        graph, bootstrap, topic, hd, None, prefix, decode_threads=threads
                    )
                    print(f"1080p       kafka    {fps:8.1f} frames/s   ({len(hd)} frames, "
                          f"--decode-threads {threads})")  # fmt: skip
            graph = build(spec.parse_yaml(GRAPH.format(topic=topics[1])))
            _, e_lat = embedded(graph, paced, args.rate)
            _, k_lat = kafka(graph, bootstrap, topics[1], paced, args.rate, prefix)
            graph = build(spec.parse_yaml(GRAPH.format(topic=topics[6])))
            _, n_lat = kafka(graph, bootstrap, topics[6], paced, args.rate, prefix, False)
            for name, lat in (("embedded", e_lat), ("kafka", k_lat), ("kafka -t", n_lat)):
                print(
                    f"latency @ {args.rate:g} fps {name:8} p50 {pct(lat, 0.5) * 1000:7.1f} ms"
                    f"  p99 {pct(lat, 0.99) * 1000:7.1f} ms  (n={len(lat)})"
                )

            raw = VideoSource(video, "cam0", start_time=0.0)
            started, cpu = time.perf_counter(), time.process_time()
            with BusProducer(bootstrap) as producer:
                report = ingest(
                    raw,
                    topics[2],
                    bootstrap,
                    partitions=1,
                    producer=producer,
                    dlq_topic=f"{prefix}.dlq",
                )
            senri_mbs = report.bytes / 1e6 / (time.perf_counter() - started)
            jpeg_cpu = (time.process_time() - cpu) / max(report.records, 1)
            ensure_topics(bootstrap, [TopicSpec(f"{topics[2]}.packets", 1)])
            started, cpu = time.perf_counter(), time.process_time()
            with BusProducer(bootstrap) as producer:
                packets = ingest(
                    (p for _ in range(PASSES) for p in PacketSource(video, "cam0", start_time=0.0)),
                    f"{topics[2]}.packets",
                    bootstrap,
                    partitions=1,
                    producer=producer,
                    dlq_topic=f"{prefix}.dlq",
                )
            packet_s = time.perf_counter() - started
            packet_cpu = (time.process_time() - cpu) / max(packets.records, 1)
            print(
                f"ingest      JPEG     {report.bytes / max(report.records, 1) / 1e3:8.1f} kB/frame"
                f"  {jpeg_cpu * 1e3:6.2f} ms CPU/frame ({report.records} frames)"
            )
            per_packet = packets.bytes / max(packets.records, 1) / 1e3
            print(
                f"            packets  {per_packet:8.1f} kB/frame"
                f"  {packet_cpu * 1e3:6.2f} ms CPU/frame ({packets.records} packets in"
                f" {packet_s:.2f} s; no decode)"
            )
            topics.append(f"{topics[2]}.packets")
            kept = [p for p in PacketSource(video, "cam0", start_time=0.0)]
            sent = [(b"cam0", codec.encode(p), envelope_headers(p)) for p in kept] * PASSES
            raw_packets = raw_producer(bootstrap, f"{topics[3]}.packets", sent)
            topics.append(f"{topics[3]}.packets")
            raw_rate = raw_packets * 1e6 / statistics.mean(len(v) for _, v, _ in sent)
            senri_rate = packets.records / packet_s
            print(
                f"            packets  {senri_rate:8.0f} records/s (demux + produce), raw "
                f"{raw_rate:.0f} records/s (kafka-python, pre-encoded)"
                f"   ratio senri/raw {senri_rate / raw_rate:.2f}"
            )
            values = [
                (f.stream_id.encode(), codec.encode(f), envelope_headers(f)) for f in data[:200]
            ]
            raw_mbs = raw_producer(bootstrap, topics[3], values * 5)
            size = int(statistics.mean(len(v) for _, v, _ in values))
            print(f"ingest      senri    {senri_mbs:8.1f} MB/s (read + JPEG + produce)")
            print(f"            raw      {raw_mbs:8.1f} MB/s (kafka-python, pre-encoded)"
                  f"   ratio senri/raw {senri_mbs / raw_mbs:.2f}")  # fmt: skip
            perf = producer_performance(bootstrap, topics[4], 1000, size)
            print(f"            ProducerPerformance ({size} B records): {perf}")
            match = re.search(r"\(([\d.]+) MB/sec\)", perf)
            if match:
                print(
                    f"            ratio senri/ProducerPerformance {senri_mbs / float(match[1]):.2f}"
                )
        finally:
            delete_topics(bootstrap, [*topics, f"{prefix}.results", f"{prefix}.dlq"])
            delete_topics(bootstrap, [f"{prefix}.state"])
            delete_groups(bootstrap, prefix)


def delete_groups(bootstrap: str, prefix: str) -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        groups = [g for g, *_ in admin.list_consumer_groups() if g.startswith(prefix)]
        if groups:
            admin.delete_consumer_groups(groups)
    finally:
        admin.close()


if __name__ == "__main__":
    main()
