"""The demo pipeline gives the same events embedded and on Kafka, ids and payloads alike.

The demo world's camera and microphone are ingested onto topics of this test's own, and a
worker runs the demo graph (motion, tracking, colour, loudness, voice, speech, dialect, sounds)
on them; the embedded runtime runs the same pipeline file through the wire codec
(``senri run --wire``: the JPEG frames and PCM16 audio a worker decodes). Every event id must
be the same, and so must every event.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from senri.engine import spec
from senri.engine.graph import build
from senri.engine.kafka_runtime import KafkaWorker, WorkerConfig, worker_sinks
from senri.engine.run import run_file
from senri.indexes.events.sqlite import SqliteEventStore
from senri.ingest import ingest_audio, ingest_video
from senri.services import kafka_bootstrap
from senri.worlds import shapes
from senri.worlds.shapes.run import demo_pipeline
from tests.kafka_prefix import own_topics, stored_events

pytestmark = pytest.mark.e2e


@pytest.fixture
def prefix() -> Iterator[str]:
    with own_topics("agree") as made:
        yield made


def test_the_demo_gives_the_same_events_embedded_and_on_kafka(prefix: str, tmp_path: Path) -> None:
    world = shapes.generate(tmp_path / "world", seed=7)
    truth = shapes.load_truth(world.truth)
    pipeline = demo_pipeline(world, truth)
    embedded = run_file(pipeline, tmp_path / "embedded", wire=True)
    assert embedded.report.dead_letters == 0

    bootstrap, start = kafka_bootstrap(), float(truth["start_time"])
    frames, sound = f"{prefix}.frames", f"{prefix}.audio"
    ingest_video(str(world.video), "cam1", bootstrap, topic=frames, start_time=start)
    ingest_audio(str(world.audio), "mic1", bootstrap, topic=sound, start_time=start)
    doc = yaml.safe_load(pipeline.read_text())  # the same graph, reading the topics
    doc["inputs"] = {
        "frames": {"topic": frames, "schema": "frame"},
        "sound": {"topic": sound, "schema": "audio"},
    }
    graph = build(spec.from_mapping(doc))
    store = SqliteEventStore(tmp_path / "kafka.sqlite")
    config = WorkerConfig(
        bootstrap,
        group=f"{prefix}.group",
        results_topic=f"{prefix}.results",
        dlq_topic=f"{prefix}.dlq",
        stop_when_idle_s=3.0,
        max_poll_records=16,
    )
    report = KafkaWorker(graph, config, worker_sinks(graph, store, bootstrap)).run()
    store.close()
    assert report.dead_letters == 0

    here, there = stored_events(embedded.stores["events"]), stored_events(tmp_path / "kafka.sqlite")
    assert len(here) > 200 and {e["kind"] for e in here.values()} >= {"motion", "transcript"}
    assert set(there) == set(here)
    changed = [i for i in here if here[i] != there[i]]
    assert changed == []
