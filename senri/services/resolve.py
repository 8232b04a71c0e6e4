"""Fetch the services' jars from Maven Central once, and compile the Elasticsearch launcher.

The Maven reactor under `maven/` (package data) lists the artifacts; `mvn` resolves them into
`$SENRI_CACHE/maven` and copies each classpath into `$SENRI_CACHE/services/<fingerprint>/`. The
fingerprint hashes the poms and the launcher source, so a version bump resolves afresh and an
unchanged tree is reused without starting Maven: only the first `up` pays for the download.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from senri.services.settings import ServiceError, cache_dir, tool

PACKAGE_DIR = Path(__file__).resolve().parent
MAVEN_PROJECT = PACKAGE_DIR / "maven"
LAUNCHER_SOURCE = PACKAGE_DIR / "java" / "SenriElasticsearch.java"
LAUNCHER_CLASS = "SenriElasticsearch"
NETTY_MODULE = "transport-netty4"
_COMPLETE = ".complete"


@dataclass(frozen=True)
class Jars:
    """One resolved tree of classpaths; `root` is `$SENRI_CACHE/services/<fingerprint>`."""

    root: Path

    @property
    def kafka_lib(self) -> Path:
        return self.root / "kafka" / "lib"

    @property
    def elasticsearch_lib(self) -> Path:
        return self.root / "elasticsearch" / "lib"

    @property
    def elasticsearch_modules(self) -> Path:
        return self.root / "elasticsearch" / "modules"

    @property
    def launcher(self) -> Path:
        """Directory holding the compiled `SenriElasticsearch.class`."""
        return self.root / "elasticsearch" / "launcher"


def fingerprint() -> str:
    """Hash of everything that decides the resolved tree: the poms and the launcher source."""
    digest = hashlib.sha256()
    inputs = [*sorted(MAVEN_PROJECT.rglob("pom.xml")), LAUNCHER_SOURCE]
    for path in inputs:
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def resolved() -> Jars | None:
    """The current tree if it has been resolved completely, else None (starts nothing)."""
    jars = Jars(cache_dir() / "services" / fingerprint())
    return jars if (jars.root / _COMPLETE).exists() else None


def resolve(say: Callable[[str], None] = print) -> Jars:
    """Return the resolved jars, running Maven and javac first if this tree is not cached yet."""
    done = resolved()
    if done is not None:
        return done
    services = cache_dir() / "services"
    services.mkdir(parents=True, exist_ok=True)
    with locked(services / ".lock"):
        done = resolved()  # another process may have finished while we waited for the lock
        if done is not None:
            return done
        root = services / fingerprint()
        staging = root.with_name(root.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        started = time.monotonic()
        say(f"resolving Kafka and Elasticsearch jars from Maven Central into {services} ...")
        _copy_dependencies(staging)
        _install_netty_descriptor(Jars(staging))
        _compile_launcher(Jars(staging))
        (staging / _COMPLETE).write_text(f"resolved in {time.monotonic() - started:.1f}s\n")
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
        say(f"jars resolved in {time.monotonic() - started:.1f}s")
        return Jars(root)


def prune(keep: Jars) -> list[Path]:
    """Delete resolved trees other than `keep` (left by older poms); call only while no service
    runs, since a JVM loads classes from its jars lazily. Returns what was removed."""
    removed = []
    for path in (cache_dir() / "services").iterdir():
        if path.is_dir() and path != keep.root and len(path.name.split(".")[0]) == 16:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _copy_dependencies(staging: Path) -> None:
    """Run the reactor's `dependency:copy-dependencies` from a writable copy of the poms."""
    mvn = tool("mvn", "SENRI_MVN", "install Maven 3.8+ (Debian: apt-get install maven)")
    project = staging / "maven-project"
    shutil.copytree(MAVEN_PROJECT, project)
    command = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(project / "pom.xml"),
        f"-Dmaven.repo.local={cache_dir() / 'maven'}",
        f"-Dsenri.out={staging}",
        *os.environ.get("SENRI_MAVEN_ARGS", "").split(),
        "dependency:copy-dependencies",
    ]
    _run(command, "Maven could not resolve the service jars")


def _install_netty_descriptor(jars: Jars) -> None:
    """Write modules/transport-netty4/plugin-descriptor.properties from the one in the jar.

    The node loads the module in a plain class loader because the server itself sits on the
    class path, not in a module layer; so the descriptor's `modulename` line is dropped.
    """
    module = jars.elasticsearch_modules / NETTY_MODULE
    candidates = sorted(module.glob(f"{NETTY_MODULE}-*.jar"))
    if not candidates:
        raise ServiceError(f"Maven copied no {NETTY_MODULE} jar into {module}")
    entry = f"META-INF/es-plugins/{NETTY_MODULE}/plugin-descriptor.properties"
    with zipfile.ZipFile(candidates[0]) as jar:
        text = jar.read(entry).decode("utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("modulename=")]
    (module / "plugin-descriptor.properties").write_text("\n".join(lines) + "\n")


def _compile_launcher(jars: Jars) -> None:
    """Compile SenriElasticsearch.java against the server jars (Java 17 bytecode)."""
    javac = tool("javac", "SENRI_JAVAC", "install a JDK 17+ (Debian: openjdk-17-jdk-headless)")
    jars.launcher.mkdir(parents=True, exist_ok=True)
    command = [
        javac,
        "--release",
        "17",
        "-d",
        str(jars.launcher),
        "-cp",
        str(jars.elasticsearch_lib / "*"),
        str(LAUNCHER_SOURCE),
    ]
    _run(command, "javac could not compile the Elasticsearch launcher")


def _run(command: list[str], failure: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        tail = "\n".join(output[-40:])
        raise ServiceError(f"{failure} (exit {result.returncode}): {' '.join(command)}\n{tail}")


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (two `up`s must not race on one tree)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
