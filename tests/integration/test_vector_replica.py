"""Vector replicas materialised from a real Kafka topic, and the vector + event-store query.

Each test makes its own compacted topic (2 partitions) named after itself and deletes it after;
replicas live in `tmp_path`. The broker comes from `python -m senri.services up`; the tests skip,
saying so, only when nothing answers at `senri.services.kafka_bootstrap()`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from senri.connectors.kafka import delete_topics
from senri.indexes.events import query as q
from senri.indexes.events.sqlite import SqliteEventStore
from senri.indexes.vectors.collection import FaissCollection
from senri.indexes.vectors.replica import (
    VectorReplica,
    decode_vector,
    encode_vector,
    ensure_vector_topic,
    publish,
    publish_delete,
)
from senri.records import Event
from senri.search.similar_events import similar_with_filters

pytestmark = pytest.mark.integration

DIM = 16
N = 300
TIMEOUT_S = 30.0


@pytest.fixture
def topic(bootstrap: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A compacted 2-partition topic unique to this test, deleted afterwards."""
    base = re.sub(r"[^A-Za-z0-9._-]", "-", request.node.name)[:180]
    name = f"senri.test.{base}.{uuid.uuid4().hex[:8]}"
    ensure_vector_topic(bootstrap, name, partitions=2)
    yield name
    delete_topics(bootstrap, [name])


def _data(n: int, seed: int) -> tuple[list[str], np.ndarray, list[dict[str, str | int]]]:
    rng = np.random.default_rng(seed)
    ids = [f"item-{seed}-{i:04d}" for i in range(n)]
    metas: list[dict[str, str | int]] = [{"cam": f"cam{i % 3}", "n": i} for i in range(n)]
    return ids, rng.standard_normal((n, DIM)).astype(np.float32), metas


def _queries(n: int = 20) -> np.ndarray:
    return np.random.default_rng(99).standard_normal((n, DIM)).astype(np.float32)


def _results(c: FaissCollection | VectorReplica, k: int = 10) -> list[list[str]]:
    return [[h.id for h in hits] for hits in c.search(_queries(), k)]


def _replica(bootstrap: str, topic: str, path: Path) -> VectorReplica:
    r = VectorReplica(bootstrap, topic, path, DIM, "cosine")
    r.catch_up(TIMEOUT_S)
    return r


def test_wire_format_round_trips() -> None:
    v = np.arange(DIM, dtype=np.float32) / 7
    msg = decode_vector(encode_vector("a/1", v, {"cam": "cam1", "t": 1.5, "ok": True}))
    assert msg.id == "a/1" and msg.metadata == {"cam": "cam1", "t": 1.5, "ok": True}
    np.testing.assert_array_equal(msg.vector, v)


def test_replica_rebuilt_from_topic_equals_writer(
    bootstrap: str, topic: str, tmp_path: Path
) -> None:
    ids, vecs, metas = _data(N, 1)
    writer = FaissCollection(DIM, "cosine")
    writer.upsert(ids, vecs, metas)
    publish(bootstrap, topic, ids, vecs, metas)
    # replace some: the topic and the writer both keep the latest
    new = np.random.default_rng(2).standard_normal((20, DIM)).astype(np.float32)
    writer.upsert(ids[:20], new, metas[:20])
    publish(bootstrap, topic, ids[:20], new, metas[:20])

    with _replica(bootstrap, topic, tmp_path / "r1") as r:
        assert len(r) == len(writer) == N
        item = r.collection.get(ids[5])
        assert item is not None and item.metadata == metas[5]
        np.testing.assert_allclose(item.vector, writer.get(ids[5]).vector)  # type: ignore[union-attr]
        assert _results(r) == _results(writer)


def test_deleted_ids_never_return_also_after_restart(
    bootstrap: str, topic: str, tmp_path: Path
) -> None:
    ids, vecs, metas = _data(N, 3)
    publish(bootstrap, topic, ids, vecs, metas)
    doomed = ids[::7]
    path = tmp_path / "r"
    with _replica(bootstrap, topic, path) as r:
        r.snapshot()  # covers the upserts only
        publish_delete(bootstrap, topic, doomed)
        r.catch_up(TIMEOUT_S)
        assert len(r) == N - len(doomed)
        # each deleted vector as its own query: it would be its own best hit
        found = {h.id for hits in r.search(vecs[::7], 10) for h in hits}
        assert not found & set(doomed)
    with _replica(bootstrap, topic, path) as again:  # old snapshot + catch-up of tombstones
        assert len(again) == N - len(doomed)
        found = {h.id for hits in again.search(vecs[::7], 10) for h in hits}
        assert not found & set(doomed)
        assert all(again.collection.get(d) is None for d in doomed)


def test_restart_mid_stream_equals_full_rebuild(bootstrap: str, topic: str, tmp_path: Path) -> None:
    ids, vecs, metas = _data(N, 4)
    half = N // 2
    publish(bootstrap, topic, ids[:half], vecs[:half], metas[:half])
    with _replica(bootstrap, topic, tmp_path / "mid") as r:
        r.snapshot()
        covered = r.offsets
        assert sum(covered.values()) == half
    publish(bootstrap, topic, ids[half:], vecs[half:], metas[half:])
    publish_delete(bootstrap, topic, ids[:10])
    with VectorReplica(bootstrap, topic, tmp_path / "mid", DIM, "cosine") as resumed:
        assert resumed.offsets == covered and len(resumed) == half
        resumed.catch_up(TIMEOUT_S)
        assert resumed.lag() == 0
        with _replica(bootstrap, topic, tmp_path / "fresh") as fresh:
            assert len(resumed) == len(fresh) == N - 10
            assert _results(resumed) == _results(fresh)


def test_background_follow_and_wrong_dir_refused(
    bootstrap: str, topic: str, tmp_path: Path
) -> None:
    ids, vecs, metas = _data(50, 5)
    with VectorReplica(bootstrap, topic, tmp_path / "f", DIM, "cosine") as r:
        r.start(poll_s=0.1)
        publish(bootstrap, topic, ids, vecs, metas)
        for _ in range(200):
            if len(r) == 50:
                break
            time.sleep(0.1)
        assert len(r) == 50
        r.stop()
        r.snapshot()
    with pytest.raises(ValueError, match="replicates"):
        VectorReplica(bootstrap, "other", tmp_path / "f", DIM, "cosine")


def test_similar_with_event_store_filter(bootstrap: str, topic: str, tmp_path: Path) -> None:
    now = 1_700_000_000.0
    rng = np.random.default_rng(6)
    vecs = rng.standard_normal((60, DIM)).astype(np.float32)
    events = [
        Event(f"ev{i}", f"cam{i % 3}", now - (i % 4) * 20_000.0, "image", "thing")
        for i in range(60)
    ]
    store = SqliteEventStore(tmp_path / "events.db")
    try:
        store.put(events)
        ids = [f"frame-{i}" for i in range(60)]
        publish(bootstrap, topic, ids, vecs, [{"event_id": e.id} for e in events])
        with _replica(bootstrap, topic, tmp_path / "r") as r:
            f = q.And(q.Eq("stream_id", "cam1"), q.Range("time", gte=now - 24 * 3600))
            expected = {
                ids[i]
                for i, e in enumerate(events)
                if e.stream_id == "cam1" and e.time >= now - 86400
            }
            hits = similar_with_filters(r.collection, store, vecs[1], 100, f)
            assert {h.id for h in hits} == expected and hits[0].id == "frame-1"
            assert [h.id for h in similar_with_filters(r.collection, store, vecs[1], 3, f)] == [
                h.id for h in hits[:3]
            ]
            none = q.Eq("stream_id", "cam9")
            assert similar_with_filters(r.collection, store, vecs[1], 5, none) == []
    finally:
        store.close()
