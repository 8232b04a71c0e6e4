"""Detached server processes: start in their own session, find again by pid file, stop cleanly.

A server started by `up` must outlive the command that started it, so it runs in a new session
(its own process group, no controlling terminal) with output in a log file. Later commands find
it through its pid file and make sure the pid still belongs to that server (the command line
carries a `-Dsenri.service=<name>` marker), so a stale file never gets an unrelated process killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

_LOG_KEEP = 1  # previous log kept as <name>.log.1 for post-mortems

# Servers this interpreter started. They outlive it by design; holding the Popen objects keeps
# Python from warning "subprocess is still running" when they would be garbage-collected.
_STARTED: list[subprocess.Popen[bytes]] = []


def marker(service: str) -> str:
    """The JVM flag that tags a service's process, checked before any signal is sent."""
    return f"-Dsenri.service={service}"


@dataclass(frozen=True)
class Tracked:
    """A service's pid file and log file inside its state directory."""

    name: str
    state: Path

    @property
    def pid_file(self) -> Path:
        return self.state / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state / "logs" / f"{self.name}.log"

    def pid(self) -> int | None:
        """The live pid of this service, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if is_running(pid, marker(self.name)):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def spawn(
        self, command: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start `command` detached, output to the log file, and record its pid."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        if self.log_file.exists() and self.log_file.stat().st_size > 0:
            self.log_file.replace(self.log_file.with_name(f"{self.log_file.name}.{_LOG_KEEP}"))
        with self.log_file.open("ab") as log:
            log.write(f"# senri: {' '.join(command)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.state,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        self.pid_file.write_text(f"{process.pid}\n")
        _STARTED.append(process)
        return process

    def stop(self, grace: float) -> str | None:
        """SIGTERM the process group, wait `grace` seconds, then SIGKILL; None if not running."""
        pid = self.pid()
        if pid is None:
            return None
        outcome = "stopped"
        _signal_group(pid, signal.SIGTERM)
        if not _wait_gone(pid, self.name, grace):
            outcome = f"killed after {grace:.0f}s"
            _signal_group(pid, signal.SIGKILL)
            _wait_gone(pid, self.name, 10.0)
        self.pid_file.unlink(missing_ok=True)
        return outcome

    def tail(self, lines: int = 40) -> str:
        """The last lines of the log, for error messages."""
        try:
            with self.log_file.open("r", errors="replace") as log:
                return "".join(deque(log, maxlen=lines)).rstrip()
        except OSError:
            return f"(no log at {self.log_file})"


def is_running(pid: int, tag: str) -> bool:
    """Is `pid` alive, not a zombie, and (where the command line is readable) tagged `tag`?"""
    for process in list(_STARTED):  # a copy: `down` checks services from several threads
        if process.pid == pid and process.poll() is not None:  # poll() reaps our own child
            with contextlib.suppress(ValueError):
                _STARTED.remove(process)
            return False
    with contextlib.suppress(ChildProcessError, OSError):
        # A child of ours that exited stays a zombie until reaped; reap it so it reads as gone.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else; the command line decides
    command = _command_line(pid)
    return command is None or tag in command


def _command_line(pid: int) -> str | None:
    """The process's command line, '' for a zombie, None when it cannot be read.

    A process in the middle of an exec (the JVM launcher re-executes itself) shows an empty
    command line for a moment: that is "cannot be read", not "someone else's process", or a
    starting service would be taken for dead and its pid file removed.
    """
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            if ") Z" in (proc / "stat").read_text():
                return ""
            command = (proc / "cmdline").read_bytes()
        except OSError:
            return ""
        return command.replace(b"\0", b" ").decode(errors="replace").strip() or None
    try:  # macOS and other systems without /proc
        result = subprocess.run(
            ["ps", "-p", str(pid), "-o", "stat=,command="],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    text = result.stdout.strip()
    return "" if not text or text.startswith("Z") else text


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # the server leads its own group (start_new_session)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait_gone(pid: int, name: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not is_running(pid, marker(name)):
            return True
        time.sleep(0.1)
    return not is_running(pid, marker(name))
