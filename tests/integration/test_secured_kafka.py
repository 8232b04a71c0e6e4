"""Every Kafka client senri makes speaks SASL over TLS when the environment says so.

A broker of our own (the services' Kafka jars, its own port and data) listens with SASL_SSL
only for clients (PLAIN, one user) and a certificate made here with openssl. Through it, with
nothing but `SENRI_KAFKA_*` variables set: topics are made, a video is ingested, a worker runs
a graph and writes its results, and a vector replica follows a topic. A wrong password and a
client that does not trust the certificate both fail, saying why.
"""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from senri import codec
from senri.connectors.kafka import (
    KafkaAccessError,
    TopicSpec,
    ensure_topics,
    read_to_end,
)
from senri.credentials import CredentialsError, kafka_options
from senri.engine import spec
from senri.engine.graph import build
from senri.engine.kafka_runtime import KafkaWorker, WorkerConfig, worker_sinks
from senri.indexes.events.stores import open_store
from senri.indexes.vectors.replica import VectorReplica, publish
from senri.ingest import ingest_images, ingest_video
from senri.services import kafka as kafka_service
from senri.services.resolve import resolved
from senri.services.settings import Endpoint
from senri.worlds import shapes
from tests.serving import self_signed

pytestmark = pytest.mark.integration
USER, PASSWORD = "senri-worker", "correct horse battery staple"


def _free_ports(n: int) -> int:
    """A port p with p .. p + n - 1 free."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        try:
            for extra in range(1, n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + extra))
        except OSError:
            continue
        return base
    raise AssertionError("no free ports")


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(bootstrap, CA file) of a SASL_SSL-only broker; stopped at the end."""
    jars = resolved()
    assert jars is not None, "the services' jars are resolved by `senri services up`"
    root = tmp_path_factory.mktemp("secure-kafka")
    cert, key = self_signed(root)
    server = root / "server.pem"  # the broker's PEM keystore: the key, then the certificate
    server.write_text(key.read_text() + cert.read_text())
    port = _free_ports(3)
    client, controller, internal = port, port + 1, port + 2
    login = "org.apache.kafka.common.security.plain.PlainLoginModule"
    jaas = f'{login} required user_{USER}="{PASSWORD}";'
    overrides = {
        "listeners": f"SASL_SSL://127.0.0.1:{client},CONTROLLER://127.0.0.1:{controller},"
        f"INTERNAL://127.0.0.1:{internal}",
        "advertised.listeners": f"SASL_SSL://127.0.0.1:{client},INTERNAL://127.0.0.1:{internal}",
        "inter.broker.listener.name": "INTERNAL",
        "listener.security.protocol.map": (
            "CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,SASL_SSL:SASL_SSL"
        ),
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_ssl.plain.sasl.jaas.config": jaas,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(server),
    }
    command = kafka_service.prepare(jars, root, Endpoint("127.0.0.1", client), overrides)
    log = (root / "broker.log").open("w")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", client), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    said = (root / "broker.log").read_text()[-3000:]
                    pytest.fail(f"the SASL_SSL broker did not start:\n{said}")
                time.sleep(0.5)
        yield f"127.0.0.1:{client}", cert
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def secured_env(secure_broker: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> str:
    bootstrap, cert = secure_broker
    monkeypatch.setenv("SENRI_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("SENRI_KAFKA_USERNAME", USER)
    monkeypatch.setenv("SENRI_KAFKA_PASSWORD", PASSWORD)
    monkeypatch.setenv("SENRI_KAFKA_CA_FILE", str(cert))
    return bootstrap


def test_ingest_worker_and_replica_through_sasl_ssl(secured_env: str, tmp_path: Path) -> None:
    bootstrap = secured_env
    prefix = f"senri.secure.{uuid.uuid4().hex[:8]}"
    world = shapes.generate(tmp_path / "world", seed=7)
    ensure_topics(bootstrap, [TopicSpec(f"{prefix}.frames")])
    sent = ingest_video(str(world.video), "cam1", bootstrap, topic=f"{prefix}.frames",
                        start_time=0.0, dlq_topic=f"{prefix}.dlq")  # fmt: skip
    assert sent.records >= 30 and sent.dead_letters == 0
    text = (
        f"name: {prefix}.pipe\n"
        f"inputs: {{frames: {{topic: {prefix}.frames, schema: frame}}}}\n"
        "graph: {motion: {op: vision.motion, from: frames}}\n"
        "outputs: {events: {store: events, from: [motion]}}\n"
    )
    graph = build(spec.parse_yaml(text))
    store = open_store(f"sqlite:{tmp_path / 'events.sqlite'}")
    config = WorkerConfig(bootstrap, group=f"{prefix}.group", results_topic=f"{prefix}.results",
                          dlq_topic=f"{prefix}.dlq", changelog_topic=f"{prefix}.state",
                          stop_when_idle_s=2.0)  # fmt: skip
    report = KafkaWorker(graph, config, worker_sinks(graph, store, bootstrap)).run()
    store.close()
    assert report.consumed == sent.records and report.dead_letters == 0
    results = [codec.decode(m.value) for m in read_to_end(bootstrap, f"{prefix}.results")]
    assert len(results) > 5 and {e.kind for e in results} == {"motion"}

    topic = f"{prefix}.vectors"
    ensure_topics(bootstrap, [TopicSpec.compacted(topic)])
    vectors = np.eye(3, 8, dtype=np.float32)
    assert publish(bootstrap, topic, ["a", "b", "c"], vectors) == 3
    with VectorReplica(bootstrap, topic, tmp_path / "replica", 8) as replica:
        replica.catch_up(timeout_s=60)
        assert len(replica) == 3 and replica.lag() == 0


def test_a_wrong_password_or_an_untrusted_broker_is_named(
    secured_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    topic = [TopicSpec(f"senri.secure.{uuid.uuid4().hex[:8]}")]
    monkeypatch.setenv("SENRI_KAFKA_PASSWORD", "guess")
    with pytest.raises(KafkaAccessError, match="Invalid username or password"):
        ensure_topics(secured_env, topic)
    with pytest.raises(KafkaAccessError, match="Invalid username or password"):
        ingest_images(str(tmp_path), "c", secured_env, topic=topic[0].name)  # what ingest meets
    monkeypatch.setenv("SENRI_KAFKA_PASSWORD", PASSWORD)
    monkeypatch.delenv("SENRI_KAFKA_CA_FILE")  # the system's CAs do not know this broker
    with pytest.raises(KafkaAccessError, match="CERTIFICATE_VERIFY_FAILED"):
        ensure_topics(secured_env, topic)


def test_settings_that_cannot_work_are_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SENRI_KAFKA_SECURITY_PROTOCOL", "SASL_TLS")
    with pytest.raises(CredentialsError, match="SENRI_KAFKA_SECURITY_PROTOCOL=SASL_TLS"):
        kafka_options()
    monkeypatch.setenv("SENRI_KAFKA_SECURITY_PROTOCOL", "sasl_ssl")
    with pytest.raises(CredentialsError, match="needs SENRI_KAFKA_USERNAME"):
        kafka_options()
    monkeypatch.setenv("SENRI_KAFKA_USERNAME", "u")
    (tmp_path / "pw").write_text("s3cret\n")
    monkeypatch.setenv("SENRI_KAFKA_PASSWORD_FILE", str(tmp_path / "pw"))
    monkeypatch.setenv("SENRI_KAFKA_CA_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(CredentialsError, match=r"missing\.pem: no such file"):
        kafka_options()
    monkeypatch.delenv("SENRI_KAFKA_CA_FILE")
    options = kafka_options()
    assert options["sasl_plain_password"] == "s3cret" and options["sasl_mechanism"] == "PLAIN"
    assert options["security_protocol"] == "SASL_SSL" and options["ssl_context"] is not None
    monkeypatch.setenv("SENRI_KAFKA_PASSWORD", "also")
    with pytest.raises(CredentialsError, match="not both"):
        kafka_options()
