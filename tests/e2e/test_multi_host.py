"""senri across four hosts: Kafka and Elasticsearch on one, a worker on each of two more, the
API on the fourth, and a camera host ingesting the demo world; the answers match the truth.

The hosts are network namespaces on one bridge (`tests.netns`), with addresses that only they
hold and no route out. Nothing is on localhost: the broker binds every interface of its host
(``SENRI_KAFKA_LISTEN=0.0.0.0``) and advertises the host's address, Elasticsearch publishes it,
the workers and the API reach both by that address, and the API listens on its own address
with keys. The two workers share the input topics (one partition each), so each handles one
of the camera and the microphone. The events in Elasticsearch must be the embedded run's, and
the API's answers the world's truth.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from senri.api.app import create_app
from senri.api.auth import KeyRing
from senri.engine.run import run_file
from senri.worlds import shapes
from senri.worlds.shapes.run import demo_pipeline
from tests import netns

pytestmark = pytest.mark.e2e
PY = sys.executable
INDEX = "senri-multihost"


@pytest.fixture(scope="module")
def network() -> Iterator[netns.Network]:
    reason = netns.available()
    if reason is not None:
        pytest.skip(f"{reason}; CI runs this test as root")
    net = netns.Network(["data", "worker1", "worker2", "api"])
    try:
        yield net
    finally:
        net.close()


def _wait(what: str, check: Any, timeout: float, log: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    said = log.read_text()[-3000:] if log is not None and log.exists() else ""
    pytest.fail(f"{what} within {timeout:g} s\n{said}")


def _assigned(log: Path) -> str | None:
    """The partitions a worker's log says it holds now (None before its first assignment)."""
    lines = re.findall(r"partitions assigned: (.*)", log.read_text()) if log.exists() else []
    return lines[-1].strip() if lines else None


CLIENT = """
import json, sys, time, urllib.request
base, key, questions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def call(path, body=None):
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, headers=headers, data=data)
    with urllib.request.urlopen(request, timeout=60) as r:
        return json.load(r)
for _ in range(120):
    try:
        urllib.request.urlopen(base + "/healthz", timeout=2).close()
        break
    except OSError:
        time.sleep(0.5)
out = {"answers": {q: call("/ask", {"question": q}) for q in questions},
       "motion": call("/events", {"kinds": ["motion"], "aggregate": "count"})}
print(json.dumps(out))
"""


def test_demo_world_across_four_hosts(network: netns.Network, tmp_path: Path) -> None:
    import os

    data, w1, w2, api = (network[n] for n in ("data", "worker1", "worker2", "api"))
    world = shapes.generate(tmp_path / "world", seed=7)
    truth = shapes.load_truth(world.truth)
    pipeline = demo_pipeline(world, truth)
    cam, mic = truth["stream_ids"]["video"], truth["stream_ids"]["audio"]
    bus, store = f"kafka://{data.address}:9092", f"elasticsearch://{data.address}:9200/{INDEX}"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SENRI_KAFKA", "SENRI_ELAS"))}
    on_data = {**base, "SENRI_HOME": str(tmp_path / "data-home"),
               "SENRI_KAFKA": f"{data.address}:9092", "SENRI_KAFKA_LISTEN": "0.0.0.0",
               "SENRI_ELASTICSEARCH": f"http://{data.address}:9200",
               "SENRI_KAFKA_HEAP": "256m", "SENRI_ELASTICSEARCH_HEAP": "512m"}  # fmt: skip
    up = data.run([PY, "-m", "senri.services", "up"], on_data, timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        # the hosts reach the data host by its address; this machine's services are not there
        reach = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 3)"
        assert w1.run([PY, "-c", reach, data.address, "9092"], base).returncode == 0
        assert w1.run([PY, "-c", reach, "127.0.0.1", "9200"], base).returncode != 0
        for host in (data, w1, w2, api):  # and no host has a way out
            routes = host.run(["ip", "route", "show"], base).stdout
            assert "default" not in routes and "10.231.0.0/24" in routes, routes

        topics = (f"from senri.connectors.kafka import TopicSpec, ensure_topics; ensure_topics("
                  f"'{data.address}:9092', [TopicSpec('senri.frames.{cam}', 1), "
                  f"TopicSpec('senri.audio.{mic}', 1)])")  # fmt: skip
        made = w1.run([PY, "-c", topics], base)
        assert made.returncode == 0, made.stderr
        logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
        worker = [PY, "-m", "senri", "worker", str(pipeline), "--bus", bus, "--store", store,
                  "--stop-when-idle", "20"]  # fmt: skip
        workers = [
            host.start([*worker, "--client-id", name], base, log)
            for host, name, log in ((w1, "worker1", logs[0]), (w2, "worker2", logs[1]))
        ]

        def shared() -> bool:
            held = [_assigned(log) for log in logs]
            return all(held) and held[0] != held[1]

        _wait("the two workers did not share the partitions", shared, 240, logs[0])
        start = str(truth["start_time"])
        for kind, media, stream in (("video", world.video, cam), ("audio", world.audio, mic)):
            argv = [PY, "-m", "senri", "ingest", kind, str(media), "--stream", stream,
                    "--bus", bus, "--partitions", "1", "--start-time", start]  # fmt: skip
            sent = w1.run(argv, base)
            assert sent.returncode == 0, sent.stdout + sent.stderr
        for proc, log in zip(workers, logs, strict=True):
            _wait("a worker did not finish", lambda p=proc: p.poll() is not None, 600, log)
            assert proc.returncode == 0, log.read_text()[-3000:]
        handled = [int(re.findall(r"done: (\d+) records", log.read_text())[0]) for log in logs]
        assert all(n > 0 for n in handled), handled  # each worker did its share

        ring = KeyRing(tmp_path / "keys.json")
        key = ring.create("investigator", ["read", "ask"])
        ring.save()
        api.start([PY, "-m", "senri", "serve", "--host", api.address, "--port", "8000",
                   "--store", store, "--api-keys", str(ring.path)], base,
                  tmp_path / "api.log")  # fmt: skip
        colours = truth["summary"]["objects_by_colour"]
        questions = [f"how many objects were on {cam}?", "what was said?",
                     *(f"how many {c} things passed the camera?" for c in colours)]  # fmt: skip
        asked = w2.run([PY, "-c", CLIENT, f"http://{api.address}:8000", key,
                        json.dumps(questions)], base, timeout=300)  # fmt: skip
        assert asked.returncode == 0, asked.stderr + (tmp_path / "api.log").read_text()[-3000:]
        there = json.loads(asked.stdout)
    finally:
        data.run([PY, "-m", "senri.services", "down"], on_data, timeout=120)

    answers = there["answers"]
    total = answers[questions[0]]
    assert total["value"] == truth["summary"]["objects"], total["answer"]
    for colour, n in colours.items():
        got = answers[f"how many {colour} things passed the camera?"]
        assert got["value"] == n, (colour, got["answer"])
    # the same questions on the embedded run of the same pipeline: the same answers
    embedded = run_file(pipeline, tmp_path / "embedded", wire=True)
    local = TestClient(create_app(store=f"sqlite:{embedded.stores['events']}"))
    for question in questions:
        here = local.post("/ask", json={"question": question}).json()
        assert (answers[question]["answer"], answers[question]["value"]) == (
            here["answer"], here["value"]), question  # fmt: skip
    motion = local.post("/events", json={"kinds": ["motion"], "aggregate": "count"}).json()
    assert there["motion"]["total"] == motion["total"] > 20
