"""A single-node Apache Kafka 3.9 in KRaft mode: one JVM is both broker and controller.

`prepare` writes `server.properties` and a log4j config into the state directory, formats the
storage once (`kafka.tools.StorageTool format --ignore-formatted` with a cluster id kept next to
the data), and returns the `kafka.Kafka` command line. Every replication factor is 1 and topics are
auto-created, which is what a developer machine and the integration tests want.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

from senri.services.process import marker
from senri.services.resolve import Jars
from senri.services.settings import (
    Endpoint,
    ServiceError,
    extra_java_opts,
    heap,
    java_tool,
    listen_host,
)

NAME = "kafka"

_LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.raft=WARN
log4j.logger.org.apache.kafka.controller=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
"""


def server_properties(
    state: Path, endpoint: Endpoint, overrides: Mapping[str, str] | None = None
) -> str:
    """KRaft combined-mode config; the controller listens on the client port + 1. Clients are
    told `endpoint`; the broker binds ``$SENRI_KAFKA_LISTEN`` when set (`listen_host`), else
    the same address. `overrides` replace or add broker settings (listeners with TLS and SASL,
    for instance)."""
    controller = Endpoint(endpoint.host, endpoint.port + 1)
    bind = listen_host(NAME) or endpoint.host
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{controller}",
        "listeners": f"PLAINTEXT://{bind}:{endpoint.port},CONTROLLER://{bind}:{controller.port}",
        "advertised.listeners": f"PLAINTEXT://{endpoint}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(state / "data"),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "auto.create.topics.enable": "true",
        "delete.topic.enable": "true",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
        **(overrides or {}),
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def prepare(
    jars: Jars, state: Path, endpoint: Endpoint, overrides: Mapping[str, str] | None = None
) -> list[str]:
    """Write the configuration, format the storage if new, and return the broker's command;
    `overrides` as for `server_properties`."""
    config = state / "config"
    config.mkdir(parents=True, exist_ok=True)
    (state / "data").mkdir(exist_ok=True)
    properties = config / "server.properties"
    properties.write_text(server_properties(state, endpoint, overrides))
    (config / "log4j.properties").write_text(_LOG4J)
    java = _java_command(jars, state, "kafka-format")
    if not (state / "data" / "meta.properties").exists():
        cluster_id = _cluster_id(state)
        format_command = [
            *java,
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={cluster_id}",  # one token: an id may start with "-"
            "-c",
            str(properties),
            "--ignore-formatted",
        ]
        result = subprocess.run(format_command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise ServiceError(f"formatting Kafka storage in {state / 'data'} failed:\n{output}")
    memory = heap(NAME)
    return [
        *_java_command(jars, state, NAME, f"-Xms{memory}", f"-Xmx{memory}"),
        "kafka.Kafka",
        str(properties),
    ]


def _java_command(jars: Jars, state: Path, tag: str, *memory: str) -> list[str]:
    java = java_tool()
    return [
        java,
        marker(tag),
        *memory,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{state / 'config' / 'log4j.properties'}",
        f"-Dkafka.logs.dir={state / 'logs'}",
        *extra_java_opts(NAME),
        "-cp",
        str(jars.kafka_lib / "*"),
    ]


def _cluster_id(state: Path) -> str:
    """The KRaft cluster id (22-character URL-safe base64 UUID), created once per data dir."""
    path = state / "cluster-id"
    if path.exists():
        return path.read_text().strip()
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    path.write_text(cluster_id + "\n")
    return cluster_id
