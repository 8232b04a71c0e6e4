"""A single-node Elasticsearch 8 run as an embedded node by our small Java launcher.

The official distribution is not on Maven Central and its launcher refuses root and enforces
production bootstrap checks; the server jar, its libraries and the transport-netty4 module are on
Central, and `java/SenriElasticsearch.java` starts a `Node` from them directly. No x-pack is
loaded, so there is no security to switch off: plain HTTP, no passwords. What it lacks compared to
the distribution is the non-server modules (painless, analysis-common, mapper-extras, data
streams, ingest processors); see docs/services.md.
"""

from __future__ import annotations

from pathlib import Path

from senri.services.process import marker
from senri.services.resolve import LAUNCHER_CLASS, Jars
from senri.services.settings import Endpoint, extra_java_opts, heap, java_tool, listen_host

NAME = "elasticsearch"


def node_settings(state: Path, endpoint: Endpoint) -> dict[str, str]:
    """Node settings: single-node discovery, transport on the HTTP port + 100, bound to the
    endpoint's host (loopback by default) or to ``$SENRI_ELASTICSEARCH_LISTEN`` (`listen_host`)
    while publishing the endpoint's host."""
    host = "_local_" if endpoint.host == "localhost" else endpoint.host
    bind = listen_host(NAME)
    network = (
        {"network.host": host}
        if bind is None
        else {
            "network.bind_host": bind,
            "network.publish_host": host,
        }
    )
    return {
        "path.home": str(state),
        "path.data": str(state / "data"),
        "path.logs": str(state / "logs"),
        "cluster.name": "senri",
        "node.name": "senri-1",
        "discovery.type": "single-node",
        **network,
        "http.port": str(endpoint.port),
        "transport.port": str(endpoint.port + 100),
        # a nearly full developer disk must not turn every index read-only mid-test
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }


def prepare(jars: Jars, state: Path, endpoint: Endpoint) -> list[str]:
    """Create the state layout and return the launcher's command line."""
    for sub in ("config", "data", "logs", "plugins", "tmp"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    java = java_tool()
    memory = heap(NAME)
    settings = node_settings(state, endpoint)
    return [
        java,
        marker(NAME),
        f"-Xms{memory}",
        f"-Xmx{memory}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        "-Dfile.encoding=UTF-8",
        f"-Djava.io.tmpdir={state / 'tmp'}",
        "-Dlog4j2.disable.jmx=true",
        "-Dlog4j.shutdownHookEnabled=false",  # our hook logs the node's close, then log4j stops
        "-Dio.netty.noUnsafe=true",
        "-Dio.netty.noKeySetOptimization=true",
        "-Dio.netty.recycler.maxCapacityPerThread=0",
        "-Des.networkaddress.cache.ttl=60",
        *extra_java_opts(NAME),
        "-cp",
        f"{jars.elasticsearch_lib / '*'}:{jars.launcher}",
        LAUNCHER_CLASS,
        str(jars.elasticsearch_modules),
        *(f"{key}={value}" for key, value in settings.items()),
    ]
