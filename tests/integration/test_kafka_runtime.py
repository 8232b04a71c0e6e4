"""The distributed runtime on the real local Kafka: ingest, workers, dead letters, crash recovery.

Each test makes its own topics and consumer groups named after itself and deletes them after.
The reference for "right" is the embedded runtime running the same graph over the same records
passed through the wire codec (JPEG frames, PCM16 audio), so both see identical pixels and
samples: event ids, counts and contents must match exactly. The broker comes from
`python -m senri.services up --only kafka`; the tests skip, saying so, when none answers.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from senri import codec
from senri.connectors import AudioSource, VideoSource
from senri.connectors.kafka import (
    BusProducer,
    changelog_topic,
    delete_topics,
    envelope_headers,
)
from senri.engine import spec
from senri.engine.graph import Graph, build
from senri.engine.kafka_runtime import KafkaWorker, WorkerConfig, worker_sinks
from senri.engine.local import LocalRuntime
from senri.engine.sinks import MemorySink, events_of
from senri.indexes.events.stores import open_store
from senri.ingest import ingest, ingest_audio, ingest_video
from senri.records import AudioChunk, Event
from senri.worlds import shapes

pytestmark = pytest.mark.integration

DEADLINE_S = 90.0
VIDEO_GRAPH = """
  motion: {op: vision.motion, from: frames, batch: 8}
  track: {op: vision.track, from: motion}
  colour: {op: vision.colour, from: track, where: "tracker_id >= 0"}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("world")
    shapes.generate(root, seed=7)
    return root


class Names:
    """Topic and group names unique to one test; every topic made is deleted afterwards."""

    def __init__(self, test_name: str) -> None:
        base = re.sub(r"[^A-Za-z0-9._-]", "-", test_name)[:120]
        self.prefix = f"senri.test.{base}.{uuid.uuid4().hex[:8]}"

    def __call__(self, what: str) -> str:
        return f"{self.prefix}.{what}"

    @property
    def group(self) -> str:
        return self("group")

    def all_topics(self, existing: Iterable[str]) -> list[str]:
        state = changelog_topic(self.group)  # a worker's default state topic
        return [t for t in existing if t.startswith(self.prefix) or t == state]


@pytest.fixture
def names(request: pytest.FixtureRequest, bootstrap: str) -> Iterator[Names]:
    from kafka import KafkaAdminClient

    made = Names(request.node.name)
    yield made
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="senri-test")
    try:
        delete_topics(bootstrap, made.all_topics(admin.list_topics()))
        groups = [g for g, *_ in admin.list_consumer_groups() if g.startswith(made.prefix)]
        if groups:
            admin.delete_consumer_groups(groups)
    finally:
        admin.close()


def pipeline(names: Names, graph: str, *, audio: bool = False) -> Graph:
    """A graph reading this test's topics: frames (and sound), events into a store."""
    inputs = f"  frames: {{topic: {names('frames')}, schema: frame}}\n"
    sources = "colour" if "colour:" in graph else "motion"
    if audio:
        inputs += f"  sound: {{topic: {names('audio')}, schema: audio}}\n"
        graph += "  loudness: {op: audio.loudness, from: sound, threshold_db: -40}\n"
        sources += ", loudness"
    text = (
        f"name: {names('pipe')}\ninputs:\n{inputs}graph:{graph}"
        f"outputs:\n  events: {{store: events, from: [{sources}]}}\n"
    )
    return build(spec.parse_yaml(text))


def config(bootstrap: str, names: Names, **kw: Any) -> WorkerConfig:
    return WorkerConfig(
        bootstrap,
        group=names.group,
        results_topic=names("results"),
        dlq_topic=names("dlq"),
        changelog_topic=names("state"),
        **kw,
    )


def wire(records: Iterable[Any]) -> Iterator[Any]:
    """Records as a worker sees them: through the codec (JPEG, PCM16) and back."""
    return (codec.decode(codec.encode(r)) for r in records)


def embedded_events(graph: Graph, sources: dict[str, Iterable[Any]]) -> dict[str, Event]:
    """The embedded runtime's events for the same graph and records, by id."""
    sink = MemorySink()
    LocalRuntime(graph, sources=sources, sinks={"events": sink}).run()
    return {e.id: e for e in events_of(sink.items)}


def stored(path: Path) -> dict[str, tuple[Any, ...]]:
    """The store's events by id, as comparable rows."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT id, kind, label, track_id, bbox, time, end_time FROM events")
        return {r[0]: r[1:] for r in rows}


def as_rows(events: dict[str, Event], tmp_path: Path) -> dict[str, tuple[Any, ...]]:
    """Expected events as `stored` reads them, after the same trip through a sqlite store."""
    path = tmp_path / f"expected-{uuid.uuid4().hex[:6]}.sqlite"
    store = open_store(f"sqlite:{path}")
    store.put(list(events.values()))
    store.close()
    return stored(path)


def consume_all(bootstrap: str, topic: str, expect: int) -> list[Any]:
    """Read `topic` from the start until `expect` messages arrived (or the deadline)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    got: list[Any] = []
    deadline = time.monotonic() + DEADLINE_S
    try:
        while len(got) < expect and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                got.extend(batch)
    finally:
        consumer.close()
    return got


def test_worker_matches_embedded_runtime(
    bootstrap: str, names: Names, world: Path, tmp_path: Path
) -> None:
    video, audio = str(world / "camera.mp4"), str(world / "audio.wav")
    frames = ingest_video(
        video, "cam1", bootstrap, topic=names("frames"), start_time=0.0, dlq_topic=names("dlq")
    )
    chunks = ingest_audio(
        audio, "mic1", bootstrap, topic=names("audio"), start_time=0.0, dlq_topic=names("dlq")
    )
    assert (frames.records, frames.dead_letters) == (200, 0)
    assert chunks.records > 0

    graph = pipeline(names, VIDEO_GRAPH, audio=True)
    store = open_store(f"sqlite:{tmp_path / 'events.sqlite'}")
    worker = KafkaWorker(
        graph, config(bootstrap, names, stop_when_idle_s=2.0), worker_sinks(graph, store, bootstrap)
    )
    report = worker.run()
    store.close()

    expected = embedded_events(
        graph,
        {
            "frames": wire(VideoSource(video, "cam1", start_time=0.0)),
            "sound": wire(AudioSource(audio, "mic1", start_time=0.0)),
        },
    )
    got = stored(tmp_path / "events.sqlite")
    assert report.consumed == 200 + chunks.records
    assert report.dead_letters == 0
    assert len(expected) > 20
    assert {"motion", "sound"} <= {e.kind for e in expected.values()}
    assert got == as_rows(expected, tmp_path)
    results = consume_all(bootstrap, names("results"), len(expected))
    assert {codec.decode(m.value).id for m in results} == set(expected)
    assert all(dict(m.headers)["senri.schema"] == b"event/1" for m in results)


def _poison(good: Any, audio_chunk: Any) -> list[tuple[str, bytes, list[tuple[str, bytes]]]]:
    """(expected reason, value, headers) of each bad message."""
    valid = codec.encode(good)
    headers = envelope_headers(good)
    name_len = valid[4]
    version_at = 5 + name_len
    future = valid[:version_at] + (9).to_bytes(2, "big") + valid[version_at + 2 :]
    truncated = valid[: len(valid) // 2]
    return [
        ("not a senri envelope", os.urandom(300), []),
        ("unknown schema 'frame' version 9", future, headers),
        ("truncated JPEG", truncated, headers),
        ("exceeds the limit", valid[:8] + os.urandom(300_000), headers),
        ("which takes Frame", codec.encode(audio_chunk), envelope_headers(audio_chunk)),
    ]


def test_poison_messages_go_to_dlq(
    bootstrap: str, names: Names, world: Path, tmp_path: Path
) -> None:
    video = str(world / "camera.mp4")
    good = list(VideoSource(video, "cam1", start_time=0.0, max_frames=40))
    chunk = next(iter(AudioSource(str(world / "audio.wav"), "cam1", start_time=0.0)))
    poison = _poison(good[5], chunk)
    topic = names("frames")
    with BusProducer(bootstrap) as producer:
        ingest(good[:20], topic, bootstrap, partitions=1, dlq_topic=names("dlq"), producer=producer)
        for _, value, headers in poison:
            producer.send(topic, b"cam1", value, headers)
        ingest(good[20:], topic, bootstrap, partitions=1, dlq_topic=names("dlq"), producer=producer)

    graph = pipeline(names, VIDEO_GRAPH)
    store = open_store(f"sqlite:{tmp_path / 'events.sqlite'}")
    cfg = config(
        bootstrap,
        names,
        stop_when_idle_s=2.0,
        max_message_bytes=200_000,
        dlq_payload_limit=100_000,
    )
    report = KafkaWorker(graph, cfg, worker_sinks(graph, store, bootstrap)).run()
    store.close()

    assert report.consumed == len(good) + len(poison)
    assert report.processed["motion"] == len(good)
    expected = embedded_events(graph, {"frames": wire(good)})
    assert stored(tmp_path / "events.sqlite") == as_rows(expected, tmp_path)
    letters = consume_all(bootstrap, names("dlq"), len(poison))
    assert len(letters) == len(poison)
    for (reason, _, _), msg in zip(poison, sorted(letters, key=lambda m: m.offset), strict=True):
        h = dict(msg.headers)
        assert reason in h["senri.reason"].decode()
        assert h["senri.error"] == b"DecodeError"
        assert h["senri.source.topic"].decode() == topic
        assert h["senri.source.partition"] == b"0"
        assert int(h["senri.source.offset"]) in range(20, 20 + len(poison))
    assert dict(sorted(letters, key=lambda m: m.offset)[3].headers)["senri.payload-truncated-from"]


def test_failing_operator_item_goes_to_dlq(bootstrap: str, names: Names, world: Path) -> None:
    """An item an operator rejects is isolated from its batch, dead-lettered with where it came
    from, and the rest of the batch and the stream go on."""
    import numpy as np

    from senri.models import registry

    try:
        registry.resolve("vad/silero", fetch_missing=False)
    except Exception as exc:  # the model is fetched by `senri models fetch`, not by tests
        pytest.skip(f"vad/silero is not installed: {exc}")
    chunks = list(AudioSource(str(world / "audio.wav"), "mic1", start_time=0.0))
    bad = AudioChunk("mic1", 999, 0.0, 0.0, np.zeros(8000, np.float32), 8000)
    records = [*chunks[:5], bad, *chunks[5:]]
    topic = names("audio")
    ingest(records, topic, bootstrap, partitions=1, dlq_topic=names("dlq"))
    text = (
        f"name: {names('pipe')}\ninputs:\n  sound: {{topic: {topic}, schema: audio}}\n"
        "graph:\n  voice: {op: audio.vad, from: sound, batch: 8}\n"
        "outputs:\n  events: {store: events, from: [voice]}\n"
    )
    graph = build(spec.parse_yaml(text))
    cfg = config(bootstrap, names, stop_when_idle_s=2.0)
    report = KafkaWorker(graph, cfg, {"events": MemorySink()}).run()

    assert report.processed["voice"] == len(records)
    assert report.dead_letters == 1
    (letter,) = consume_all(bootstrap, names("dlq"), 1)
    h = dict(letter.headers)
    assert h["senri.stage"] == b"voice"
    assert h["senri.error"] == b"ValueError"
    assert b"16 kHz" in h["senri.reason"]
    assert (h["senri.source.topic"].decode(), h["senri.source.offset"]) == (topic, b"5")
    assert h["senri.key"] == b"mic1:999"
    assert codec.decode(letter.value).sample_rate == 8000


def _streams_per_partition(partitions: int) -> list[str]:
    """One stream id per partition under the producer's default (murmur2) partitioner."""
    from kafka.partitioner.default import murmur2

    chosen: dict[int, str] = {}
    for i in range(1000):
        name = f"cam{i}"
        chosen.setdefault((murmur2(name.encode()) & 0x7FFFFFFF) % partitions, name)
        if len(chosen) == partitions:
            return [chosen[p] for p in range(partitions)]
    raise AssertionError("no stream names cover every partition")


def _wait(condition: Any, what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_two_workers_share_partitions(
    bootstrap: str, names: Names, world: Path, tmp_path: Path
) -> None:
    from senri.connectors.kafka import TopicSpec, ensure_topics

    video, topic = str(world / "camera.mp4"), names("frames")
    ensure_topics(bootstrap, [TopicSpec(topic, 4)])
    streams = _streams_per_partition(4)
    graph = pipeline(names, VIDEO_GRAPH)
    store = open_store(f"sqlite:{tmp_path / 'events.sqlite'}")
    workers = [
        KafkaWorker(
            graph,
            config(bootstrap, names, max_poll_records=16),
            worker_sinks(graph, store, bootstrap),
        )
        for _ in range(2)
    ]
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    for t in threads:
        t.start()
    try:
        _wait(lambda: all(len(w.assigned) == 2 for w in workers), "both workers to hold 2")
        assert workers[0].assigned.isdisjoint(workers[1].assigned)
        for stream in streams:
            source = VideoSource(video, stream, start_time=0.0, max_frames=30)
            ingest(source, topic, bootstrap, partitions=4, dlq_topic=names("dlq"))
        _wait(lambda: sum(w.report.consumed for w in workers) == 4 * 30, "120 frames consumed")
    finally:
        for w in workers:
            w.stop()
        for t in threads:
            t.join(timeout=30)
    store.close()

    assert all(w.report.consumed > 0 for w in workers)
    expected: dict[str, Event] = {}
    for stream in streams:
        records = wire(VideoSource(video, stream, start_time=0.0, max_frames=30))
        expected.update(embedded_events(graph, {"frames": records}))
    assert stored(tmp_path / "events.sqlite") == as_rows(expected, tmp_path)


def _worker_process(pipeline_file: Path, db: Path, names: Names, *extra: str) -> Any:
    cmd = [
        sys.executable, "-m", "senri.bus_cli", "worker", str(pipeline_file),
        "--store", f"sqlite:{db}", "--group", names.group, "--results", names("results"),
        "--dlq", names("dlq"), *extra,
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _committed(bootstrap: str, group: str) -> int:
    """The offsets a group has committed, summed over its partitions."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="senri-test")
    try:
        return sum(meta.offset for meta in admin.list_consumer_group_offsets(group).values())
    finally:
        admin.close()


def test_worker_killed_mid_stream_resumes(
    bootstrap: str, names: Names, world: Path, tmp_path: Path
) -> None:
    """kill -9 a worker in the middle of a loud span; a new worker must finish the same span.

    The worker has committed every chunk up to a point inside the longest span when it is
    killed, so that span's start lives only in the changelog: equality with the embedded run
    shows the state came back, and the store shows nothing was lost or duplicated. The new
    worker says where it restored from, and it is where the first one stopped.
    (tests/integration/test_failover.py does the same with the whole demo graph.)
    """
    audio, db, topic = str(world / "audio.wav"), tmp_path / "events.sqlite", names("audio")
    graph_text = (
        f"name: {names('pipe')}\ninputs:\n  sound: {{topic: {topic}, schema: audio}}\n"
        "graph:\n  loudness: {op: audio.loudness, from: sound, threshold_db: -40}\n"
        "outputs:\n  events: {store: events, from: [loudness]}\n"
    )
    pipeline_file = tmp_path / "pipeline.yaml"
    pipeline_file.write_text(graph_text)
    open_store(f"sqlite:{db}").close()
    chunks = list(AudioSource(audio, "mic1", chunk_seconds=0.25, start_time=0.0))
    expected = embedded_events(build(spec.parse_yaml(graph_text)), {"sound": wire(chunks)})
    longest = max(expected.values(), key=lambda e: (e.end_time or e.time) - e.time)
    cut = int((longest.time + (longest.end_time or longest.time)) / 2 / 0.25)
    assert longest.time < cut * 0.25 < (longest.end_time or 0.0), "no span to cut inside"

    ingest(chunks[:cut], topic, bootstrap, partitions=1, dlq_topic=names("dlq"))
    first = _worker_process(pipeline_file, db, names, "--max-poll-records", "2")
    try:
        _wait(lambda: _committed(bootstrap, names.group) == cut, "the first worker to commit")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert longest.id not in stored(db)
    ingest(chunks[cut:], topic, bootstrap, partitions=1, dlq_topic=names("dlq"))
    second = _worker_process(pipeline_file, db, names, "--stop-when-idle", "2")
    out, _ = second.communicate(timeout=DEADLINE_S)
    assert second.returncode == 0, out
    assert f"restored {topic}:0 from the changelog: state at offset {cut} (mic1)" in out
    assert stored(db) == as_rows(expected, tmp_path)


def test_ingest_images_cli(bootstrap: str, names: Names, tmp_path: Path) -> None:
    import cv2
    import numpy as np
    from typer.testing import CliRunner

    from senri.bus_cli import app

    folder = tmp_path / "designs"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"d{i}.png"), np.full((8, 8, 3), 40 * i, np.uint8))
    topic = names("images")
    args = ["ingest", "images", str(folder), "--collection", "designs"]
    args += ["--bus", f"kafka://{bootstrap}", "--topic", topic, "--dlq", names("dlq")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    messages = consume_all(bootstrap, topic, 3)
    assert sorted(codec.decode(m.value).item_id for m in messages) == ["d0.png", "d1.png", "d2.png"]
    assert {m.key for m in messages} == {b"designs"}
    assert all(dict(m.headers)["senri.schema"] == b"image/1" for m in messages)


def test_ingest_exit_status_counts_dead_letters(
    bootstrap: str, names: Names, tmp_path: Path
) -> None:
    """An MP4 cut before its index: nothing sent, one dead letter, and the exit status says 3."""
    from typer.testing import CliRunner

    from senri.bus_cli import app
    from senri.cli_options import DEAD_LETTER_EXIT
    from tests.media import truncate, write_video

    video = truncate(write_video(tmp_path / "cut.mp4", frames=30, faststart=False), 0.3)
    args = ["ingest", "video", str(video), "--stream", "cam1", "--bus", f"kafka://{bootstrap}"]
    args += ["--topic", names("frames"), "--dlq", names("dlq")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == DEAD_LETTER_EXIT, result.output
    assert "sent 0 records" in result.output and "dead letters: 1" in result.output
    allowed = CliRunner().invoke(app, [*args, "--allow-dead-letters"])
    assert allowed.exit_code == 0, allowed.output
    dead = consume_all(bootstrap, names("dlq"), 2)  # on the --dlq topic, with the reason
    assert len(dead) == 2
    assert all(dict(m.headers)["senri.stream"] == b"cam1" for m in dead)
    assert all(dict(m.headers)["senri.reason"] for m in dead)


def test_ingest_stops_at_its_duration_and_sums_up_after_ctrl_c(
    bootstrap: str, names: Names, world: Path
) -> None:
    """--duration ends a paced ingest on time; SIGINT ends one with a summary and status 130,
    and every record it counts as sent is on the topic."""
    base = [sys.executable, "-m", "senri.bus_cli", "ingest", "video", str(world / "camera.mp4")]
    base += ["--stream", "cam1", "--bus", f"kafka://{bootstrap}", "--dlq", names("dlq")]
    base += ["--rate", "10"]
    timed = subprocess.run(
        [*base, "--topic", names("timed"), "--duration", "1.5"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120,
    )  # fmt: skip
    assert timed.returncode == 0, timed.stdout
    sent = int(re.search(r"sent (\d+) records", timed.stdout)[1])  # type: ignore[index]
    assert "(--duration reached)" in timed.stdout
    assert 12 <= sent <= 18  # 1.5 s at 10 records/s: the rate limiter paces from the first
    assert len(consume_all(bootstrap, names("timed"), sent)) == sent

    live = subprocess.Popen(
        [*base, "--topic", names("live")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    _wait(lambda: _end_offset(bootstrap, names("live")) >= 5, "the first records to arrive")
    live.send_signal(signal.SIGINT)
    out, _ = live.communicate(timeout=60)
    assert live.returncode == 130, out
    assert "(interrupted)" in out
    sent = int(re.search(r"sent (\d+) records", out)[1])  # type: ignore[index]
    assert 5 <= sent < 200  # stopped early: the camera has 200 frames
    assert len(consume_all(bootstrap, names("live"), sent)) == sent


def _end_offset(bootstrap: str, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        return sum(consumer.end_offsets(tps).values()) if tps else 0
    finally:
        consumer.close()


def test_a_worker_fills_a_vector_collection_that_a_replica_serves(
    bootstrap: str, names: Names, tmp_path: Path
) -> None:
    """Images ingested onto Kafka and embedded by a worker land on the collection's embeddings
    topic; a replica following it holds them, pHash and all."""
    import cv2
    import numpy as np
    from fastapi.testclient import TestClient

    from senri.api.app import create_app
    from senri.connectors.kafka import vectors_topic
    from senri.indexes.vectors.replica import VectorReplica
    from senri.ingest import ingest_images
    from senri.operators.embed import DIM

    folder = tmp_path / "designs"
    folder.mkdir()
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        image = np.full((64, 64, 3), colour, np.uint8)
        cv2.circle(image, (20 + 10 * i, 32), 12, (255, 255, 255), -1)
        cv2.imwrite(str(folder / f"d{i}.png"), image)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    topic = names("images")
    ingest_images(str(folder), "designs", bootstrap, topic=topic, dlq_topic=names("dlq"))
    collection = f"designs-{uuid.uuid4().hex[:8]}"
    text = (
        f"name: {names('pipe')}\n"
        f"inputs: {{images: {{topic: {topic}, schema: image}}}}\n"
        "graph: {embed: {op: vision.embed, from: images}}\n"
        f"outputs: {{vectors: {{collection: {collection}, from: [embed]}}}}\n"
    )
    graph = build(spec.parse_yaml(text))
    cfg = config(bootstrap, names, stop_when_idle_s=2.0)
    try:
        report = KafkaWorker(graph, cfg, worker_sinks(graph, None, bootstrap)).run()
        assert report.consumed == 4 and report.dead_letters == 1
        with VectorReplica(bootstrap, vectors_topic(collection), tmp_path / "replica", DIM) as r:
            r.catch_up(timeout_s=DEADLINE_S)
            assert len(r) == 3 and r.lag() == 0
            item = r.collection.get("d0.png")
            assert item is not None and len(str(item.metadata["phash"])) == 16
            # what `senri serve --follow kafka://... --collection NAME` serves
            client = TestClient(create_app(replicas={collection: r}))
            health = client.get("/healthz").json()["replicas"][collection]
            assert (health["items"], health["lag"]) == (3, 0)
            query = (folder / "d1.png").read_bytes()
            found = client.post(
                "/similar",
                data={"collection": collection, "k": "2"},
                files={"image": ("q.png", query, "image/png")},
            ).json()
            assert found["hits"][0]["id"] == "d1.png" and found["hits"][0]["same_product"]
    finally:
        delete_topics(bootstrap, [vectors_topic(collection)])
    (letter,) = consume_all(bootstrap, names("dlq"), 1)
    assert b"broken.png" in dict(letter.headers)["senri.reason"]


def _free_port_pair() -> int:
    """A port p with p and p + 1 free (the broker listens on p, its controller on p + 1)."""
    import socket

    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port < 65535:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise AssertionError("no free port pair")


@pytest.fixture
def private_kafka(bootstrap: str, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A second broker of our own (own port and SENRI_HOME), so restarting it hurts no one.

    Yields its bootstrap and a `services(command)` function running the services manager
    against it; it is stopped at the end.
    """
    port = _free_port_pair()
    env = {
        **os.environ,
        "SENRI_KAFKA": f"localhost:{port}",
        "SENRI_HOME": str(tmp_path / "home"),
        "SENRI_KAFKA_HEAP": "256m",
    }

    def services(command: str) -> None:
        cmd = [sys.executable, "-m", "senri.services", command, "--only", "kafka"]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    services("up")
    try:
        yield f"localhost:{port}", services
    finally:
        services("down")


def test_broker_restart_during_ingest_loses_nothing(
    private_kafka: tuple[str, Any], world: Path
) -> None:
    broker, services = private_kafka
    topic, frames = "senri.frames.restart", 150
    producers: list[BusProducer] = []
    failure: list[BaseException] = []
    finished = threading.Event()

    def send() -> None:
        try:
            source = VideoSource(str(world / "camera.mp4"), "cam1", max_frames=frames)
            with BusProducer(broker, window=10) as producer:
                producers.append(producer)
                ingest(source, topic, broker, partitions=1, rate=30.0, producer=producer)
        except BaseException as exc:  # reported below, on the test's thread
            failure.append(exc)
        finally:
            finished.set()

    sender = threading.Thread(target=send)
    sender.start()
    _wait(lambda: bool(producers) and producers[0].acked >= 10, "the first acks")
    assert not finished.is_set(), "ingest ended before the broker went down"
    services("down")
    time.sleep(1.0)
    services("up")
    sender.join(timeout=DEADLINE_S)
    assert not failure, failure
    assert not sender.is_alive()

    messages = consume_all(broker, topic, frames)
    seqs = [codec.decode(m.value).seq for m in messages]
    assert set(seqs) == set(range(frames))
