"""How the service manager tells its own JVMs from other processes (senri.services.process)."""

from __future__ import annotations

import os

import pytest

from senri.services import process

pytestmark = pytest.mark.unit


def test_a_process_without_the_tag_is_not_the_service() -> None:
    assert process.is_running(os.getpid(), "python")  # this test's own command line
    assert not process.is_running(os.getpid(), "-Dsenri.service=elasticsearch")


def test_a_command_line_caught_mid_exec_does_not_read_as_dead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a process execs, /proc/PID/cmdline is empty: unknown, so still running (its pid
    file stays; the manager used to remove it and report a starting node as exited)."""
    monkeypatch.setattr(process, "_command_line", lambda pid: None)
    assert process.is_running(os.getpid(), "-Dsenri.service=elasticsearch")


def test_a_zombie_reads_as_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process, "_command_line", lambda pid: "")
    assert not process.is_running(os.getpid(), "-Dsenri.service=elasticsearch")
