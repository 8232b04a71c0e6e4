"""`senri retention apply` on an Elasticsearch index: the same plan and the same deletions as on
SQLite, with pages of bulk deletes (the embedded node has no ``_delete_by_query``)."""

from __future__ import annotations

import time
import uuid

import pytest
from typer.testing import CliRunner

from senri.cli import app
from senri.indexes.events.elasticsearch import ElasticsearchEventStore
from senri.indexes.events.query import Range
from senri.records import Event
from senri.services import elasticsearch_url, manager
from senri.services.probes import probe_elasticsearch
from senri.services.settings import elasticsearch_endpoint

pytestmark = pytest.mark.integration
DAY = 86_400.0


def test_retention_on_elasticsearch() -> None:
    if not probe_elasticsearch(elasticsearch_endpoint(), 3.0).healthy:
        manager.up(only="elasticsearch", say=lambda _: None)
    url = elasticsearch_url()
    index = f"senri-test-retention-{uuid.uuid4().hex[:8]}"
    store = ElasticsearchEventStore(url, index)
    now = time.time()
    try:
        store.put([Event(f"old{i}", f"cam{i % 3}", now - 40 * DAY - i, "object", "car")
                   for i in range(25)])  # fmt: skip
        store.put([Event(f"new{i}", "cam0", now - DAY, "object", "car") for i in range(5)])
        store.flush()
        # a small page makes the store loop: search, bulk delete, refresh, until none is left
        store.put([Event(f"older{i}", "cam9", now - 50 * DAY, "sound", "horn") for i in range(5)])
        assert store.delete_matching(Range("time", lt=now - 45 * DAY), page=2) == 5
        assert store.count() == 30
        runner = CliRunner()
        where = url.replace("http://", "elasticsearch://") + f"/{index}"
        looked = runner.invoke(app, ["retention", "apply", "--store", where, "--older-than", "30d",
                                     "--dry-run"])  # fmt: skip
        assert looked.exit_code == 0, looked.output
        assert ": 25 of 30" in looked.output and "stream cam0: 9" in looked.output
        assert store.count() == 30
        done = runner.invoke(app, ["retention", "apply", "--store", where, "--older-than", "30d",
                                   "--yes"])  # fmt: skip
        assert done.exit_code == 0 and "deleted 25 events" in done.output, done.output
        store.flush()
        assert store.count() == 5 and store.get("new0") is not None and store.get("old0") is None
    finally:
        store.client.options(ignore_status=404).indices.delete(index=index)
        store.client.options(ignore_status=404).indices.delete_index_template(name=index)
        store.close()
