"""The README's distributed quick start, run line by line as written, in a fresh home.

After `senri demo` (what `make demo` ends with) has written the street world to ``~/.senri/demo``,
the quick start ingests it onto Kafka, runs the shipped street pipeline as a worker into
Elasticsearch, and asks both stores the same question. The home is a temporary folder whose
``.senri/models`` links to the models already fetched, so nothing is downloaded; the services
are the ones the test command started (`senri services up` finds them running, and `senri
services down` leaves alone what it did not start).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from senri import config
from senri.connectors.kafka import changelog_topic, delete_topics, frames_topic, results_topic
from senri.services import elasticsearch_url, kafka_bootstrap
from senri.services.probes import probe_elasticsearch, probe_kafka
from senri.services.settings import elasticsearch_endpoint, kafka_endpoint

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- quickstart:"
QUESTION = "how many people passed the street camera?"
INDEX = "senri-street"
GROUP = "senri.worker.street"


def quickstart_lines() -> list[str]:
    """The command lines of the README's quick-start block (the bash block after the marker)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme[readme.index(MARKER) :]
    block = re.search(r"```bash\n(.*?)```", after, re.S)
    assert block is not None, "no bash block after the quick-start marker"
    return [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("#")]


def _forget() -> None:
    """Remove what the quick start leaves in the services, so every run starts the same."""
    import urllib.error
    import urllib.request

    from kafka import KafkaAdminClient

    bootstrap = kafka_bootstrap()
    delete_topics(
        bootstrap, [frames_topic("street1"), results_topic("street"), changelog_topic(GROUP)]
    )
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="senri-test")
    try:
        if any(g == GROUP for g, *_ in admin.list_consumer_groups()):
            admin.delete_consumer_groups([GROUP])
    finally:
        admin.close()
    request = urllib.request.Request(f"{elasticsearch_url()}/{INDEX}", method="DELETE")
    try:
        urllib.request.urlopen(request, timeout=30).close()
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise


@pytest.fixture
def services() -> Iterator[None]:
    for name, probe in (
        ("Kafka", probe_kafka(kafka_endpoint(), timeout=3.0)),
        ("Elasticsearch", probe_elasticsearch(elasticsearch_endpoint(), timeout=3.0)),
    ):
        if not probe.healthy:
            pytest.skip(f"no {name} ({probe.detail}); start both with `senri services up`")
    _forget()
    yield
    _forget()


def test_the_readme_has_the_quickstart_the_issue_asks_for() -> None:
    lines = quickstart_lines()
    assert any(ln.startswith("senri worker senri/pipelines/street.yaml") for ln in lines)
    stores = [ln for ln in lines if ln.startswith("senri ask")]
    assert len(stores) == 2 and all(QUESTION in ln for ln in stores)
    assert "elasticsearch://" in stores[0] and "sqlite:" in stores[1]


def test_distributed_quickstart_answers_like_the_embedded_demo(
    services: None, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / ".senri").mkdir(parents=True)
    (home / ".senri" / "models").symlink_to(config.models_dir())
    env = {k: v for k, v in os.environ.items() if k != "SENRI_HOME"}
    env.update(HOME=str(home), SENRI_CACHE=str(config.cache()), COLUMNS="200")
    demo = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "senri"), "demo"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr

    lines = quickstart_lines()
    script = "set -e\n" + "".join(f"echo '@@@ {i}'\n{ln}\n" for i, ln in enumerate(lines))
    run = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    outputs = re.split(r"^@@@ \d+\n", run.stdout, flags=re.M)[1:]  # one per line, in order
    assert len(outputs) == len(lines), run.stdout

    truth = json.loads((home / ".senri" / "demo" / "street_truth.json").read_text())
    # the worker reports on stderr: every frame of the world, nothing dead-lettered
    assert f"done: {truth['frames']} records" in run.stderr, run.stderr
    assert "0 dead letters" in run.stderr, run.stderr
    es, sqlite = (outputs[i].splitlines()[0] for i, ln in enumerate(lines) if "senri ask" in ln)
    people = truth["summary"]["tracks"]["person"]
    assert es == sqlite == f"{people} people on street1 (street).", run.stdout
