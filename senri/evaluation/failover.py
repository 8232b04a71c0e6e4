"""The failover matrix: the demo graph on Kafka with a fault injected, against an undisturbed run.

Each run ingests the demo world's camera (10 frames/s) and microphone (1 s chunks) onto topics
of its own, runs the demo pipeline with N `senri worker` processes in one group into an
Elasticsearch index of its own, injects one fault, waits until the workers go idle and exit,
and compares the index and the results topic with the reference (one worker, no fault):

- lost: reference event ids missing; duplicated: ids the reference does not have (a track id
  reused after a restart gives new ids), and on the results topic, ids sent more than once;
- changed: ids present in both whose event differs (a track id, a transcript, a label).

Faults (`FAULTS`): ``kill -9`` of the worker holding the microphone mid-utterance, of the one
holding the camera mid-track, and of one between its state write and its commit; a rebalance
while a third worker joins; SIGTERM of a worker; a 10 s Elasticsearch outage (on a node of the
run's own, started under a temporary SENRI_HOME, so stopping it disturbs nobody).

    python benchmarks/failover.py            # prints the matrix
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from senri.connectors.kafka import changelog_topic, delete_topics
from senri.credentials import kafka_options
from senri.worlds import shapes
from senri.worlds.shapes.run import demo_pipeline

IDLE_S = 20.0
"""Workers exit after this long with nothing to do: longer than a group's session timeout
(10 s), so a survivor is still there when the group hands it a dead worker's partitions."""


@dataclass(frozen=True)
class Fault:
    """One fault: what to do (`action`) to whom (the worker holding `stream`), and when (once
    `stream`'s partition has committed past `at` records)."""

    name: str
    action: str  # none, kill, crash-after-results, crash-after-state, sigterm, join, es-outage
    stream: str = ""
    at: int = 0


FAULTS = (
    Fault("kill -9 mid-utterance", "kill", "mic1", 7),
    Fault("kill -9 mid-track", "kill", "cam1", 70),
    Fault("kill -9 between results and state", "crash-after-results", "cam1", 40),
    Fault("kill -9 between state and commit", "crash-after-state", "cam1", 40),
    Fault("rebalance: a third worker joins", "join", "cam1", 40),
    Fault("SIGTERM of a worker", "sigterm", "cam1", 60),
    Fault("Elasticsearch outage", "es-outage", "cam1", 30),
)
OUTAGE_S = 10.0


@dataclass
class Outcome:
    """What one run stored and published, against the reference."""

    fault: str
    events: int = 0
    lost: int = 0
    duplicated: int = 0
    changed: int = 0
    topic_lost: int = 0
    topic_duplicated: int = 0
    topic_changed: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.changed
            or self.topic_lost
            or self.topic_duplicated
            or self.topic_changed
        )


Run = tuple[dict[str, dict[str, Any]], list[dict[str, Any]], float]
"""A run's stored events by id, the events on its results topic in order, its seconds."""


@dataclass
class _Worker:
    name: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def holds(self, topic: str) -> set[int]:
        """The partitions of `topic` this worker was last assigned (from its log)."""
        held: set[int] = set()
        for line in self.lines:
            found = re.search(r"partitions assigned: (.*)", line)
            if found:
                held = {
                    int(p.rsplit(":", 1)[1])
                    for p in found.group(1).split(", ")
                    if p.rsplit(":", 1)[0] == topic
                }
        return held


class Scenario:
    """The demo world on Kafka and Elasticsearch; `run(fault)` gives its `Outcome`s' inputs."""

    def __init__(
        self,
        root: Path,
        bootstrap: str,
        es_url: str,
        *,
        say: Callable[[str], None] = print,
        verbose: bool = False,
        transactions: bool = True,
        packets: bool = False,
    ) -> None:
        self.root = Path(root)
        self.packets = packets
        """The camera as its compressed packets (`ingest video --packets`, `decode.video`)."""
        self.verbose = verbose
        self.transactions = transactions
        self.env = dict(os.environ)
        """Workers' environment (a private Elasticsearch node changes SENRI_HOME here)."""
        self.bootstrap = bootstrap
        self.es_url = es_url.rstrip("/")
        self.say = say
        self.world = shapes.generate(self.root / "world", seed=7)
        self.truth = shapes.load_truth(self.world.truth)
        self.pipeline_doc = yaml.safe_load(demo_pipeline(self.world, self.truth).read_text())
        self.prefix = f"senri.chaos.{uuid.uuid4().hex[:8]}"
        self.frames, self.audio = f"{self.prefix}.frames", f"{self.prefix}.audio"
        self._ingest()

    def _ingest(self) -> None:
        from senri.connectors.kafka import TopicSpec, ensure_topics
        from senri.ingest import ingest_audio, ingest_video

        ensure_topics(self.bootstrap, [TopicSpec(self.frames, 3), TopicSpec(self.audio, 3)])
        start = float(self.truth["start_time"])
        ingest_video(
            str(self.world.video),
            "cam1",
            self.bootstrap,
            topic=self.frames,
            start_time=start,
            packets=self.packets,
        )
        ingest_audio(
            str(self.world.audio), "mic1", self.bootstrap, topic=self.audio, start_time=start
        )

    def run(self, fault: Fault, workers: int = 2) -> Run:
        """Run the graph with `workers` processes and `fault`; the stored events by id, the
        events on the results topic in order, and the seconds it took."""
        tag = re.sub(r"[^a-z0-9]+", "-", fault.name.lower()).strip("-")[:40]
        run_id = f"{self.prefix}.{tag}"
        index = run_id.replace(".", "-")
        doc = dict(self.pipeline_doc)
        doc["name"] = run_id
        doc["inputs"] = {
            "frames": {"topic": self.frames, "schema": "packet" if self.packets else "frame"},
            "sound": {"topic": self.audio, "schema": "audio"},
        }
        if self.packets:  # the graph decodes the camera's packets first
            nodes = {
                name: dict(node, **({"from": "decode"} if node.get("from") == "frames" else {}))
                for name, node in doc["graph"].items()
            }
            doc["graph"] = {"decode": {"op": "decode.video", "from": "frames"}, **nodes}
        pipeline = self.root / f"{tag}.yaml"
        pipeline.write_text(yaml.safe_dump(doc, sort_keys=False))
        group, results = f"{run_id}.group", f"{run_id}.results"
        with contextlib.ExitStack() as stack:
            es_url = self.es_url
            if fault.action == "es-outage":
                es_url = stack.enter_context(_private_elasticsearch(self.root / "es-outage"))
            started = time.monotonic()
            procs = [
                self._spawn(pipeline, es_url, index, group, results, f"w{n}", fault)
                for n in range(workers)
            ]
            try:
                if fault.action != "none":
                    self._inject(fault, procs, pipeline, es_url, index, group, results)
                for w in procs:
                    w.process.wait(timeout=600)
            finally:
                for w in procs:
                    if w.process.poll() is None:
                        w.process.kill()
            seconds = time.monotonic() - started
            for w in procs:  # the fault's victim exits -9 (kill), 137 (crash) or 0 (SIGTERM)
                if w.process.returncode not in (0, -9, 137):
                    tail = " | ".join(w.lines[-3:])[-400:]
                    self.say(f"  {w.name} failed (exit {w.process.returncode}): {tail}")
            if (
                fault.action.startswith("crash-after-")
                and not (self.root / f"{group}.crashed").exists()
            ):
                raise RuntimeError(f"{fault.name}: no worker reached the crash point")
            stored = self._stored(es_url, index)
        if self.verbose:  # what each worker was given, restored and did
            for w in procs:
                for line in w.lines:
                    if any(word in line for word in ("restored", "assigned", "done", "rror")):
                        self.say(f"    [{w.name}] {line[-220:]}")
        published = self._published(results)
        self._forget(run_id, group, index)
        return stored, published, seconds

    def _spawn(
        self,
        pipeline: Path,
        es_url: str,
        index: str,
        group: str,
        results: str,
        name: str,
        fault: Fault,
    ) -> _Worker:
        env = dict(self.env)
        if fault.action.startswith("crash-after-"):  # whoever holds the camera, once
            point = fault.action.removeprefix("crash-after-")
            env["SENRI_CHAOS_CRASH"] = f"{point}:{self.frames}:{fault.at}"
            env["SENRI_CHAOS_CRASH_MARKER"] = str(self.root / f"{group}.crashed")
        command = [
            sys.executable, "-m", "senri", "worker", str(pipeline),
            "--bus", f"kafka://{self.bootstrap}",
            "--store", f"elasticsearch://{es_url.split('://', 1)[-1]}/{index}",
            "--group", group, "--results", results, "--dlq", f"{group}.dlq",
            "--stop-when-idle", str(IDLE_S), "--max-poll-records", "4", "--client-id", name,
            "--transactions" if self.transactions else "--no-transactions",
        ]  # fmt: skip
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        worker = _Worker(name, process)

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                worker.lines.append(line.rstrip())

        threading.Thread(target=read, daemon=True).start()
        return worker

    def _committed(self, group: str, topic: str) -> dict[int, int]:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(
            bootstrap_servers=self.bootstrap, client_id="senri-chaos", **kafka_options()
        )
        try:
            offsets = admin.list_consumer_group_offsets(group)
        except Exception:  # the group does not exist yet
            return {}
        finally:
            admin.close()
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}

    def _inject(
        self,
        fault: Fault,
        procs: list[_Worker],
        pipeline: Path,
        es_url: str,
        index: str,
        group: str,
        results: str,
    ) -> None:
        topic = self.frames if fault.stream == "cam1" else self.audio
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if max(self._committed(group, topic).values(), default=0) >= fault.at:
                break
            if all(w.process.poll() is not None for w in procs):
                tail = "\n".join(procs[0].lines[-10:])
                raise RuntimeError(
                    f"{fault.name}: every worker exited early; the first said\n{tail}"
                )
            time.sleep(0.05)
        else:
            raise TimeoutError(f"{fault.name}: the workers never reached record {fault.at}")
        if fault.action.startswith("crash-after-"):
            return  # the worker crashes itself (SENRI_CHAOS_CRASH)
        if fault.action == "join":
            procs.append(self._spawn(pipeline, es_url, index, group, results, "w9", fault))
            return
        if fault.action == "es-outage":
            from senri.services import manager

            self.say(f"  {fault.name}: stopping Elasticsearch for {OUTAGE_S:g} s")
            manager.down(only="elasticsearch", say=lambda _: None)
            time.sleep(OUTAGE_S)
            manager.up(only="elasticsearch", say=lambda _: None)
            return
        partition = self._partition_of(procs, topic, group)
        victim = next(w for w in procs if partition in w.holds(topic))
        sig = signal.SIGKILL if fault.action == "kill" else signal.SIGTERM
        self.say(f"  {fault.name}: {sig.name} to {victim.name} (holds {topic}:{partition})")
        victim.process.send_signal(sig)

    def _partition_of(self, procs: list[_Worker], topic: str, group: str) -> int:
        """The partition of `topic` the stream's records are on (the one that has committed)."""
        committed = self._committed(group, topic)
        return max(committed, key=lambda p: committed[p])

    def _stored(self, es_url: str, index: str) -> dict[str, dict[str, Any]]:
        from senri.indexes.events.elasticsearch import ElasticsearchEventStore
        from senri.indexes.events.query import Query

        store = ElasticsearchEventStore(es_url, index)
        try:
            return {e.id: e.to_dict() for e in store.search(Query(limit=10_000))}
        finally:
            store.close()

    def _published(self, topic: str) -> list[dict[str, Any]]:
        """The results topic's events in order, as a read_committed consumer sees them."""
        from senri import codec
        from senri.connectors.kafka import read_to_end

        records = read_to_end(self.bootstrap, topic, timeout_s=60.0)
        return [codec.decode(m.value).to_dict() for m in records if m.value]

    def _forget(self, run_id: str, group: str, index: str) -> None:
        import urllib.request

        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(
            bootstrap_servers=self.bootstrap, client_id="senri-chaos", **kafka_options()
        )
        try:
            doomed = [t for t in admin.list_topics() if t.startswith(run_id)]
            delete_topics(self.bootstrap, [*doomed, changelog_topic(group)])
            admin.delete_consumer_groups([group])
        except Exception as exc:  # cleaning up must not hide the outcome
            self.say(f"  (could not clean up {run_id}: {exc})")
        finally:
            admin.close()
        request = urllib.request.Request(f"{self.es_url}/{index}", method="DELETE")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=30).close()

    def close(self) -> None:
        delete_topics(self.bootstrap, [self.frames, self.audio])


@contextlib.contextmanager
def _private_elasticsearch(home: Path) -> Iterator[str]:
    """A node of the run's own (its own SENRI_HOME and a free port), stopped afterwards."""
    import socket

    from senri.services import elasticsearch_url, manager

    saved = {k: os.environ.get(k) for k in ("SENRI_HOME", "SENRI_ELASTICSEARCH")}

    def free(port: int) -> bool:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
            return True

    port = next(p for p in range(19_300, 19_900) if free(p) and free(p + 100))  # HTTP, transport
    os.environ["SENRI_HOME"] = str(home)
    os.environ["SENRI_ELASTICSEARCH"] = f"http://localhost:{port}"
    try:
        manager.up(only="elasticsearch", say=lambda _: None)
        yield elasticsearch_url()
    finally:
        manager.down(only="elasticsearch", say=lambda _: None)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def compare(
    fault: str,
    reference: dict[str, dict[str, Any]],
    stored: dict[str, dict[str, Any]],
    published: list[dict[str, Any]],
    seconds: float,
) -> Outcome:
    """Lost, duplicated and changed events, in the store and on the results topic."""
    out = Outcome(fault, events=len(stored), seconds=seconds)
    out.lost = len(set(reference) - set(stored))
    out.duplicated = len(set(stored) - set(reference))
    changed = [i for i in set(stored) & set(reference) if stored[i] != reference[i]]
    out.changed = len(changed)
    counts = Counter(e["id"] for e in published)
    out.topic_lost = len(set(reference) - set(counts))
    out.topic_duplicated = sum(n - 1 for n in counts.values()) + len(set(counts) - set(reference))
    last = {e["id"]: e for e in published}
    out.topic_changed = sum(1 for i in set(last) & set(reference) if last[i] != reference[i])
    for i in sorted(set(reference) - set(stored))[:3]:
        out.examples.append(f"lost {_describe(reference[i])}")
    for i in sorted(set(stored) - set(reference))[:3]:
        out.examples.append(f"unexpected {_describe(stored[i])}")
    for i in sorted(changed)[:3]:
        diff = {
            k: (reference[i][k], stored[i][k])
            for k in reference[i]
            if reference[i][k] != stored[i][k]
        }
        out.examples.append(
            f"changed {_describe(reference[i])}: {json.dumps(diff, default=str)[:200]}"
        )
    return out


def _describe(event: dict[str, Any]) -> str:
    text = f" {event['text']!r}" if event.get("text") else ""
    return f"{event['kind']}/{event['label']} of {event['stream_id']} at {event['time']:.2f}{text}"


def run_matrix(
    root: Path,
    bootstrap: str,
    es_url: str,
    faults: tuple[Fault, ...] = FAULTS,
    *,
    say: Callable[[str], None] = print,
    verbose: bool = False,
    transactions: bool = True,
    packets: bool = False,
) -> list[Outcome]:
    """The reference run, then one run per fault; an `Outcome` per fault."""
    scenario = Scenario(
        root,
        bootstrap,
        es_url,
        say=say,
        verbose=verbose,
        transactions=transactions,
        packets=packets,
    )
    try:
        reference, _, seconds = scenario.run(Fault("reference", "none"), workers=1)
        say(f"reference: {len(reference)} events in {seconds:.0f} s")
        outcomes = []
        for fault in faults:
            stored, published, seconds = scenario.run(fault)
            outcome = compare(fault.name, reference, stored, published, seconds)
            say(
                f"{fault.name}: lost {outcome.lost}, duplicated {outcome.duplicated}, "
                f"changed {outcome.changed} (results topic: {outcome.topic_lost} / "
                f"{outcome.topic_duplicated} / {outcome.topic_changed}) in {seconds:.0f} s"
            )
            for line in outcome.examples:
                say(f"    {line}")
            outcomes.append(outcome)
        return outcomes
    finally:
        scenario.close()
