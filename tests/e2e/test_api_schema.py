"""The OpenAPI document tells the truth: Schemathesis against a running `senri serve` with keys.

Every operation is fuzzed from the document itself; each response must be declared (status,
content type, headers, body schema), no request may cause a 5xx, and a method a path does not
take is 405 with an honest ``Allow``. Two checks are left out, on purpose: the server accepts
numbers and booleans written as strings in queries and bodies (so "schema-violating" data is
accepted), and some rules span fields (an upload or a stream and a time; all four corners of
a box), which the document cannot express (so some "schema-valid" data is rejected, with 422).
Requests carry an admin key with the ``sensitive`` scope; the ``ignored_auth`` check sends
them without it too, and expects 401.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from senri import config
from senri.api.auth import KeyRing
from senri.indexes.events.sqlite import SqliteEventStore
from senri.records import Event
from senri.worlds import shapes

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    root = tmp_path_factory.mktemp("api")
    home = root / "home"  # collections the fuzzer writes land here, not in the user's home
    home.mkdir()
    (home / "models").symlink_to(config.models_dir())
    ring = KeyRing(root / "keys.json")
    key = ring.create("fuzzer", ["admin", "sensitive"])
    ring.save()
    world = shapes.generate(root / "world", seed=7, duration=6.0)
    pipeline = root / "pipeline.yaml"
    video = f"{{video: {world.video}, stream: cam1, start_time: 0}}"
    pipeline.write_text(f"inputs:\n  frames: {video}\n")
    store = SqliteEventStore(root / "events.sqlite")
    store.put(
        [
            Event(f"e{i}", "cam1", 1.0 + i, "object", "car", 0.9, track_id=i % 2,
                  attributes={"colour": "red"})
            for i in range(5)
        ]
    )  # fmt: skip
    store.close()
    port = _free_port()
    log = (root / "serve.log").open("w")  # a pipe nobody reads would fill and stall the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "senri", "serve", "--port", str(port),
         "--store", f"sqlite:{root / 'events.sqlite'}", "--media", str(pipeline),
         "--api-keys", str(ring.path), "--rate-limit", "1000000",
         "--audit-log", str(root / "audit.log")],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "SENRI_HOME": str(home)},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            proc.kill()
            pytest.fail(f"senri serve did not start: {(root / 'serve.log').read_text()}")
        yield url, key
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.mark.timeout(600)
def test_every_operation_answers_as_its_schema_says(
    server: tuple[str, str], tmp_path: Path
) -> None:
    url, key = server
    st = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is in the dev extra"
    done = subprocess.run(
        [st, "--no-color", "run", f"{url}/openapi.json", "--checks", "all",
         "--header", f"X-API-Key: {key}",
         "--exclude-checks", "positive_data_acceptance,negative_data_rejection",
         "--max-examples", "40", "--seed", "1", "--workers", "1"],
        capture_output=True, text=True, timeout=580, cwd=tmp_path,  # its .schemathesis/ cache
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    assert " passed" in out and "failure" not in out.split("SUMMARY")[-1], out[-3000:]
