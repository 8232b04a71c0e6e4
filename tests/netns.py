"""Hosts made of Linux network namespaces on one bridge, for tests of senri across machines.

`Network` makes a switch namespace holding a bridge, and one namespace per host joined to it by
a veth pair, with an address on a private /24 that only those namespaces hold. No namespace
has a route out, and the root namespace holds none of the addresses, so nothing reaches them
from outside and nothing of theirs leaves. Each host has its own loopback: ``localhost`` there
is not this machine's. Everything made is removed by `close`, processes included.

Needs root and iproute2 (``ip``), as in CI; `available` says why not otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


def available() -> str | None:
    """None when namespaces can be made here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    probe = f"senri-probe-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot make a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _pids(netns: str) -> list[int]:
    found = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@dataclass
class Host:
    """One namespace: its name, its address, and the processes started in it."""

    netns: str
    address: str
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def command(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv]

    def run(
        self, argv: Sequence[str], env: Mapping[str, str], timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run `argv` in this host to the end; its output is in the result."""
        return subprocess.run(
            self.command(argv), env=dict(env), capture_output=True, text=True, timeout=timeout
        )

    def start(
        self, argv: Sequence[str], env: Mapping[str, str], log: Path
    ) -> subprocess.Popen[str]:
        """Start `argv` in this host, its output going to `log`."""
        out = log.open("w")
        proc = subprocess.Popen(
            self.command(argv), env=dict(env), stdout=out, stderr=subprocess.STDOUT, text=True
        )
        out.close()  # the child holds its own descriptor
        self.processes.append(proc)
        return proc


class Network:
    """Hosts named by `names` on 10.SUBNET.0.0/24, addresses .1, .2, ... in that order."""

    def __init__(self, names: Sequence[str], subnet: int = 231) -> None:
        tag = uuid.uuid4().hex[:6]
        self.switch = f"senri-sw-{tag}"
        self.hosts: dict[str, Host] = {}
        _ip("netns", "add", self.switch)
        try:
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.switch, "link", "set", "br0", "up")
            for n, name in enumerate(names, start=1):
                host = Host(f"senri-{name}-{tag}", f"10.{subnet}.0.{n}")
                _ip("netns", "add", host.netns)
                self.hosts[name] = host
                outside, inside = f"v{n}-{tag}", f"s{n}-{tag}"
                _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
                _ip("link", "set", outside, "netns", host.netns)
                _ip("link", "set", inside, "netns", self.switch)
                _ip("-n", self.switch, "link", "set", inside, "master", "br0")
                _ip("-n", self.switch, "link", "set", inside, "up")
                _ip("-n", host.netns, "link", "set", "lo", "up")
                _ip("-n", host.netns, "addr", "add", f"{host.address}/24", "dev", outside)
                _ip("-n", host.netns, "link", "set", outside, "up")
        except BaseException:
            self.close()
            raise

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def close(self) -> None:
        """Stop every process in the hosts (TERM, then KILL) and remove the namespaces."""
        for host in self.hosts.values():
            for proc in host.processes:
                if proc.poll() is None:
                    proc.terminate()
            for proc in host.processes:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for netns in [*(h.netns for h in self.hosts.values()), self.switch]:
            for pid in _pids(netns):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while _pids(netns) and time.monotonic() < deadline:
                time.sleep(0.1)
            subprocess.run(["ip", "netns", "del", netns], capture_output=True)
