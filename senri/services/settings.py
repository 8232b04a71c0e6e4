"""Where the local services live and how they are reached, all overridable from the environment.

Two directories: the cache (`$SENRI_CACHE`, default `~/.cache/senri`) holds what can be fetched
again (the Maven repository, copied jars, the compiled launcher); the home (`$SENRI_HOME`, default
`~/.senri`) holds what a run produced (data, logs, pid files). Deleting the cache costs one
re-download; deleting the home loses topics and indices.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from senri.config import elasticsearch_url, kafka_bootstrap
from senri.errors import SenriError

DEFAULT_HEAP = "1g"


class ServiceError(SenriError):
    """A local service that cannot be resolved, started, reached or stopped; says why."""


def cache_dir() -> Path:
    """Re-creatable downloads: `$SENRI_CACHE`, default `~/.cache/senri`."""
    return Path(os.environ.get("SENRI_CACHE") or Path.home() / ".cache" / "senri").expanduser()


def home_dir() -> Path:
    """Run state: `$SENRI_HOME`, default `~/.senri`."""
    return Path(os.environ.get("SENRI_HOME") or Path.home() / ".senri").expanduser()


def state_dir(service: str) -> Path:
    """Data, logs and the pid file of one service: `$SENRI_HOME/services/<service>`."""
    return home_dir() / "services" / service


def heap(service: str) -> str:
    """JVM heap size for a service (`-Xms` = `-Xmx`): `$SENRI_<SERVICE>_HEAP`, default 1g."""
    return os.environ.get(f"SENRI_{service.upper()}_HEAP") or DEFAULT_HEAP


def extra_java_opts(service: str) -> list[str]:
    """Extra JVM flags for a service from `$SENRI_<SERVICE>_JAVA_OPTS` (split on spaces)."""
    return (os.environ.get(f"SENRI_{service.upper()}_JAVA_OPTS") or "").split()


def tool(name: str, env: str, hint: str) -> str:
    """Path of a JDK/Maven tool: `$<env>`, then `$JAVA_HOME/bin`, then PATH; else a clear error."""
    explicit = os.environ.get(env)
    if explicit:
        return explicit
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / name).exists():
        return str(Path(java_home) / "bin" / name)
    found = shutil.which(name)
    if found is None:
        raise ServiceError(f"`{name}` not found on PATH; {hint} (or set {env})")
    return found


def java_tool() -> str:
    """The `java` that runs the servers (Java 17+): `$SENRI_JAVA`, `$JAVA_HOME`, then PATH."""
    return tool(
        "java", "SENRI_JAVA", "install a Java 17+ runtime (Debian: openjdk-17-jre-headless)"
    )


@dataclass(frozen=True)
class Endpoint:
    """A host and port to serve on and probe."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def listen_host(service: str) -> str | None:
    """``$SENRI_<SERVICE>_LISTEN``: the address `up` binds the service to when it is not the one
    clients are told (e.g. ``0.0.0.0`` in a container or on a host with several interfaces,
    while `SENRI_KAFKA` names the address other hosts reach); None: bind the advertised one."""
    value = (os.environ.get(f"SENRI_{service.upper()}_LISTEN") or "").strip()
    if not value:
        return None
    if any(c in value for c in " /:") and not value.startswith("["):
        raise ServiceError(
            f"SENRI_{service.upper()}_LISTEN must be an address such as 0.0.0.0, got {value!r}"
        )
    return value


def kafka_endpoint() -> Endpoint:
    """The first bootstrap server: where `up` binds the broker and where probes connect."""
    first = kafka_bootstrap().split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        raise ServiceError(f"SENRI_KAFKA must look like host:port, got {first!r}")
    return Endpoint(host, int(port))


def elasticsearch_endpoint() -> Endpoint:
    """Host and HTTP port of `elasticsearch_url()`."""
    url = urlsplit(elasticsearch_url())
    if url.scheme != "http" or url.hostname is None:
        raise ServiceError(
            f"SENRI_ELASTICSEARCH must be an http:// URL for the local node, got {url.geturl()!r}"
        )
    return Endpoint(url.hostname, url.port or 9200)
