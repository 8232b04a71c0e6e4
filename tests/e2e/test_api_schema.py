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

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from senri.api.auth import KeyRing
from senri.indexes.events.sqlite import SqliteEventStore
from senri.records import Event
from senri.worlds import shapes
from tests.serving import home_with_models, serve

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    root = tmp_path_factory.mktemp("api")
    home = home_with_models(root)  # collections the fuzzer writes land here
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
    args = ["--store", f"sqlite:{root / 'events.sqlite'}", "--media", str(pipeline),
            "--api-keys", str(ring.path), "--rate-limit", "1000000",
            "--audit-log", str(root / "audit.log")]  # fmt: skip
    with serve(args, root / "serve.log", home=home) as url:
        yield url, key


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
