"""A camera's compressed packets on Kafka give the events its decoded frames give.

The demo world's camera goes onto a topic as H.264 packets (`senri ingest video --packets`:
no decode at ingest), and a worker runs decode.video → motion → tracking → colour on them.
The embedded runtime runs the same graph on the file's decoded frames. Every event must be
the same, the wire must carry far fewer bytes than JPEG frames, and a second worker that takes
the stream over from the first one's changelog, mid-GOP, must give no event twice and lose none.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from senri.connectors.packets import PacketSource
from senri.engine import spec
from senri.engine.graph import build
from senri.engine.kafka_runtime import KafkaWorker, WorkerConfig, worker_sinks
from senri.engine.run import run_file
from senri.indexes.events.sqlite import SqliteEventStore
from senri.ingest import ingest, ingest_video
from senri.records import VideoPacket
from senri.services import kafka_bootstrap
from senri.worlds import shapes
from tests.kafka_prefix import own_topics, stored_events

pytestmark = pytest.mark.e2e

GRAPH = {
    "decode": {"op": "decode.video", "from": "frames", "fps": 10},
    "motion": {"op": "vision.motion", "from": "decode"},
    "track": {"op": "vision.track", "from": "motion"},
    "colour": {"op": "vision.colour", "from": "track", "where": "tracker_id >= 0"},
}


@pytest.fixture
def prefix() -> Iterator[str]:
    with own_topics("packets") as made:
        yield made


def _worker(graph: Any, prefix: str, store: SqliteEventStore, **kw: Any) -> KafkaWorker:
    config = WorkerConfig(
        kafka_bootstrap(),
        group=f"{prefix}.group",
        results_topic=f"{prefix}.results",
        dlq_topic=f"{prefix}.dlq",
        stop_when_idle_s=3.0,
        max_poll_records=16,
        **kw,
    )
    return KafkaWorker(graph, config, worker_sinks(graph, store, kafka_bootstrap()))


def test_packets_on_kafka_give_the_events_of_decoded_frames(prefix: str, tmp_path: Path) -> None:
    world = shapes.generate(tmp_path / "world", seed=7)
    start = float(shapes.load_truth(world.truth)["start_time"])
    embedded_doc = {
        "name": "packets",
        "inputs": {"frames": {"packets": str(world.video), "stream": "cam1", "start_time": start}},
        "graph": GRAPH,
        "outputs": {"events": {"store": "events", "from": ["colour"]}},
    }
    pipeline = tmp_path / "packets.yaml"
    pipeline.write_text(yaml.safe_dump(embedded_doc))
    embedded = run_file(pipeline, tmp_path / "embedded")
    assert embedded.report.dead_letters == 0

    topic, jpeg_topic = f"{prefix}.packets", f"{prefix}.frames"
    sent = ingest_video(
        str(world.video), "cam1", kafka_bootstrap(), topic=topic, start_time=start, packets=True
    )
    jpeg = ingest_video(
        str(world.video), "cam1", kafka_bootstrap(), topic=jpeg_topic, start_time=start
    )
    assert sent.records == 200 and sent.dead_letters == 0
    assert sent.bytes * 5 < jpeg.bytes, (sent.bytes, jpeg.bytes)  # the camera's bitrate

    doc = dict(embedded_doc, inputs={"frames": {"topic": topic, "schema": "packet"}})
    graph = build(spec.from_mapping(doc))
    store = SqliteEventStore(tmp_path / "kafka.sqlite")
    report = _worker(graph, prefix, store).run()
    store.close()
    assert report.dead_letters == 0
    here, there = stored_events(embedded.stores["events"]), stored_events(tmp_path / "kafka.sqlite")
    assert len(here) > 100 and {e["kind"] for e in here.values()} == {"motion"}
    assert set(there) == set(here)
    assert [i for i in here if here[i] != there[i]] == []


def _committed(group: str) -> int:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap(), client_id="senri-test")
    try:
        return sum(meta.offset for meta in admin.list_consumer_group_offsets(group).values())
    finally:
        admin.close()


def test_a_worker_killed_mid_gop_is_taken_over_exactly(prefix: str, tmp_path: Path) -> None:
    """kill -9 the worker once it has committed packets up to inside a GOP, whose B-frames
    are still in its decoder; the next worker starts from the changelog's kept packets and
    the store ends with exactly the embedded run's events."""
    world = shapes.generate(tmp_path / "world", seed=7)
    start = float(shapes.load_truth(world.truth)["start_time"])
    packets = [p for p in PacketSource(world.video, "cam1", start_time=start)]
    cut = [i for i, p in enumerate(packets) if isinstance(p, VideoPacket) and p.keyframe][2] + 4
    topic, db = f"{prefix}.packets", tmp_path / "events.sqlite"
    doc = {
        "name": "packets",
        "inputs": {"frames": {"topic": topic, "schema": "packet"}},
        "graph": GRAPH,
        "outputs": {"events": {"store": "events", "from": ["colour"]}},
    }
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(yaml.safe_dump(doc))
    from_file = {"packets": str(world.video), "stream": "cam1", "start_time": start}
    embedded_doc = dict(doc, inputs={"frames": from_file})
    (tmp_path / "embedded.yaml").write_text(yaml.safe_dump(embedded_doc))
    expected = stored_events(
        run_file(tmp_path / "embedded.yaml", tmp_path / "embedded").stores["events"]
    )

    def worker(*extra: str) -> subprocess.Popen[str]:
        cmd = [
            sys.executable, "-m", "senri.bus_cli", "worker", str(pipeline), "--store",
            f"sqlite:{db}", "--group", f"{prefix}.group", "--results", f"{prefix}.results",
            "--dlq", f"{prefix}.dlq", *extra,
        ]  # fmt: skip
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    ingest(packets[:cut], topic, kafka_bootstrap(), partitions=1, dlq_topic=f"{prefix}.dlq")
    first = worker("--max-poll-records", "2")
    try:
        deadline = time.monotonic() + 120
        while _committed(f"{prefix}.group") < cut:
            if time.monotonic() > deadline or first.poll() is not None:
                first.kill()
                pytest.fail(f"the first worker did not commit in time: {first.communicate()[0]}")
            time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    ingest(packets[cut:], topic, kafka_bootstrap(), partitions=1, dlq_topic=f"{prefix}.dlq")
    second = worker("--stop-when-idle", "2")
    out, _ = second.communicate(timeout=300)
    assert second.returncode == 0, out
    assert f"restored {topic}:0 from the changelog: state at offset {cut} (cam1)" in out
    got = stored_events(db)
    assert set(got) == set(expected), (len(got), len(expected))
    assert [i for i in expected if expected[i] != got[i]] == []
