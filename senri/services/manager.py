"""Bring the local Kafka and Elasticsearch up, down, report on them and wipe their data.

`up` is idempotent: a healthy service (ours, or one from docker compose on the same port) is left
as it is, a service still starting is waited for, and only absent ones are started; all of them
start at once and `up` returns when every one answers its health probe. `down` stops only what
our pid files name. A lock in `$SENRI_HOME/services` keeps two commands from racing.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from senri.services import elasticsearch, kafka
from senri.services.probes import Probe, probe_elasticsearch, probe_kafka
from senri.services.process import Tracked
from senri.services.resolve import Jars, locked, prune, resolve
from senri.services.settings import (
    Endpoint,
    ServiceError,
    elasticsearch_endpoint,
    home_dir,
    kafka_endpoint,
    state_dir,
)

Say = Callable[[str], None]
DEFAULT_TIMEOUT = 180.0


@dataclass(frozen=True)
class Service:
    """How to prepare, start, probe and stop one local server."""

    name: str
    endpoint: Callable[[], Endpoint]
    prepare: Callable[[Jars, Path, Endpoint], list[str]]
    probe: Callable[[Endpoint, float], Probe]
    stop_grace: float

    @property
    def tracked(self) -> Tracked:
        return Tracked(self.name, state_dir(self.name))


SERVICES: dict[str, Service] = {
    kafka.NAME: Service(kafka.NAME, kafka_endpoint, kafka.prepare, probe_kafka, 30.0),
    elasticsearch.NAME: Service(
        elasticsearch.NAME, elasticsearch_endpoint, elasticsearch.prepare, probe_elasticsearch, 30.0
    ),
}


def select(only: str | None) -> list[Service]:
    """All services, or just the one named by `only`."""
    if only is None:
        return list(SERVICES.values())
    if only not in SERVICES:
        raise ServiceError(f"unknown service {only!r}; choose from {', '.join(SERVICES)}")
    return [SERVICES[only]]


@dataclass(frozen=True)
class Outcome:
    """What `up` did for one service and how long it took to become healthy."""

    name: str
    action: str  # "started", "already running", "waited for", "external"
    seconds: float
    pid: int | None
    detail: str


@dataclass
class _Pending:
    service: Service
    endpoint: Endpoint
    began: float
    action: str
    process: subprocess.Popen[bytes] | None


def up(
    only: str | None = None, timeout: float = DEFAULT_TIMEOUT, say: Say = print
) -> list[Outcome]:
    """Start what is not running and wait until every selected service is healthy."""
    with locked(home_dir() / "services" / ".lock"):
        outcomes: list[Outcome] = []
        pending: list[_Pending] = []
        to_start: list[tuple[Service, Endpoint]] = []
        for service in select(only):
            endpoint = service.endpoint()
            probe = service.probe(endpoint, 1.0)
            pid = service.tracked.pid()
            if probe.healthy:
                action = "already running" if pid is not None else "external"
                outcomes.append(Outcome(service.name, action, 0.0, pid, probe.detail))
            elif pid is not None:
                pending.append(_Pending(service, endpoint, time.monotonic(), "waited for", None))
            elif probe.reachable:
                raise ServiceError(
                    f"{endpoint} is taken by a process that is not a healthy {service.name} "
                    f"({probe.detail}); stop it or point SENRI_* at another port"
                )
            else:
                to_start.append((service, endpoint))
        if to_start:
            jars = resolve(say)
            if all(service.tracked.pid() is None for service in SERVICES.values()):
                prune(jars)  # nothing runs from an older tree, so its jars can go
            for service, endpoint in to_start:
                began = time.monotonic()
                state = service.tracked.state
                state.mkdir(parents=True, exist_ok=True)
                command = service.prepare(jars, state, endpoint)
                process = service.tracked.spawn(command)
                say(f"{service.name}: starting on {endpoint} (pid {process.pid}) ...")
                pending.append(_Pending(service, endpoint, began, "started", process))
        outcomes += _wait_healthy(pending, timeout)
        return outcomes


def _wait_healthy(pending: list[_Pending], timeout: float) -> list[Outcome]:
    """Poll every pending service until healthy; fail fast if its JVM exits."""
    deadline = time.monotonic() + timeout
    outcomes: list[Outcome] = []
    failures: list[str] = []
    while pending:
        for item in list(pending):
            service, tracked = item.service, item.service.tracked
            probe = service.probe(item.endpoint, 2.0)
            if probe.healthy:
                seconds = time.monotonic() - item.began
                outcomes.append(
                    Outcome(service.name, item.action, seconds, tracked.pid(), probe.detail)
                )
                pending.remove(item)
                continue
            # a JVM we started is alive while poll() says so; one we found, while its pid is
            exited = item.process.poll() if item.process is not None else None
            gone = exited is not None if item.process is not None else tracked.pid() is None
            if gone:
                code = f" with code {exited}" if exited is not None else ""
                failures.append(_failure(tracked, f"{service.name} exited{code} during start-up"))
                pending.remove(item)
            elif time.monotonic() > deadline:
                failures.append(
                    _failure(
                        tracked,
                        f"{service.name} not healthy after {timeout:.0f}s ({probe.detail}); "
                        "it is left running, `down` stops it",
                    )
                )
                pending.remove(item)
        if pending:
            time.sleep(0.25)
    if failures:
        raise ServiceError("\n\n".join(failures))
    return outcomes


def _failure(tracked: Tracked, message: str) -> str:
    return f"{message}\n--- last lines of {tracked.log_file} ---\n{tracked.tail()}"


def down(only: str | None = None, say: Say = print) -> dict[str, str]:
    """Stop the selected services that our pid files name, in parallel; returns what happened."""
    with locked(home_dir() / "services" / ".lock"):
        services = select(only)
        with ThreadPoolExecutor(max_workers=len(services)) as pool:
            stopped = list(pool.map(lambda s: s.tracked.stop(s.stop_grace), services))
        results: dict[str, str] = {}
        for service, outcome in zip(services, stopped, strict=True):
            if outcome is None:
                reachable = service.probe(service.endpoint(), 1.0).reachable
                outcome = "not started by senri, left alone" if reachable else "not running"
            results[service.name] = outcome
            say(f"{service.name}: {outcome}")
        return results


@dataclass(frozen=True)
class Status:
    """One row of `status`."""

    name: str
    state: str  # "healthy", "starting", "unhealthy", "external", "stopped"
    pid: int | None
    address: str
    uptime: float | None
    detail: str
    state_dir: Path


def status(only: str | None = None) -> list[Status]:
    """Probe every selected service and describe it; starts and stops nothing."""
    rows = []
    for service in select(only):
        endpoint = service.endpoint()
        tracked = service.tracked
        pid = tracked.pid()
        probe = service.probe(endpoint, 2.0)
        uptime = time.time() - tracked.pid_file.stat().st_mtime if pid is not None else None
        if probe.healthy:
            state = "healthy" if pid is not None else "external"
        elif uptime is not None:
            state = "starting" if uptime < DEFAULT_TIMEOUT else "unhealthy"
        else:
            state = "unhealthy" if probe.reachable else "stopped"
        detail = probe.detail if probe.reachable or pid is not None else "-"
        rows.append(Status(service.name, state, pid, str(endpoint), uptime, detail, tracked.state))
    return rows


def reset(only: str | None = None, say: Say = print) -> None:
    """Stop the selected services if ours are running, then delete their data (not the logs)."""
    down(only, say)
    with locked(home_dir() / "services" / ".lock"):
        for service in select(only):
            state = service.tracked.state
            for path in (state / "data", state / "cluster-id"):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
            say(f"{service.name}: data wiped in {state / 'data'}")
