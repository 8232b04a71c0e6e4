"""What `ElasticsearchEventStore` costs over raw bulk indexing, and how fast the services start.

By default this starts its own Kafka and Elasticsearch under a temporary `SENRI_HOME` on free
ports (the jar cache stays warm, anything already running is left alone), timing `up` for each
service from stopped, then for the same generated events prints events/s of
  - raw:   `elasticsearch.helpers.bulk` of the documents the store would write, pre-built,
  - store: `ElasticsearchEventStore.put` in batches + `flush()` (building the documents too),
each into a fresh index with the same mapping and batch size, refreshed at the end, and the
ratio store/raw (goal: >= 0.8). Both services are stopped and their state deleted at the end.

Run: `python benchmarks/es_bulk.py [--events N] [--batch 1000] [--use-running]`
(`--use-running` measures against `$SENRI_ELASTICSEARCH` instead, without timing start-up).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, helpers

from senri.indexes.events import es_query as esq
from senri.indexes.events.elasticsearch import ElasticsearchEventStore
from senri.records import Event
from senri.services import elasticsearch_url, manager

T0 = 1_767_261_600.0


def make_events(n: int, seed: int = 0) -> list[Event]:
    """Mostly tracked objects with a few attributes, one in ten a transcript line."""
    rng = random.Random(seed)
    colours = ["red", "blue", "white", "black", "green", "silver"]
    labels = ["car", "person", "truck", "bus", "bicycle"]
    words = [
        "the",
        "a",
        "car",
        "red",
        "siren",
        "loud",
        "stop",
        "near",
        "gate",
        "camera",
        "door",
        "open",
        "report",
        "alert",
    ]
    events = []
    for i in range(n):
        t = T0 + i * 0.04
        if i % 10 == 9:
            text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
            events.append(
                Event(f"s-{i}", "mic1", t, "speech", "speech", end_time=t + 2.0, text=text)
            )
            continue
        x = rng.uniform(0, 1800)
        events.append(
            Event(
                id=f"o-{i}",
                stream_id=f"cam{i % 8}",
                time=t,
                kind="object",
                label=rng.choice(labels),
                confidence=rng.random(),
                track_id=i // 50,
                bbox=(x, 100.0, x + 80.0, 260.0),
                attributes={"colour": rng.choice(colours), "speed": rng.uniform(0, 90)},
                source=f"cam{i % 8}:{i}",
            )
        )
    return events


def _free_port(step: int) -> int:
    """A port p such that p and p + step are both free (Kafka: +1, Elasticsearch: +100)."""
    for _ in range(100):
        port = random.randint(20000, 40000)
        try:
            for p in (port, port + step):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair")


def start_private_services() -> tuple[dict[str, float], Path]:
    """Point SENRI_* at a temporary home and free ports; time `up` per service from stopped."""
    home = Path(tempfile.mkdtemp(prefix="senri-bench-"))
    os.environ["SENRI_HOME"] = str(home)
    os.environ["SENRI_KAFKA"] = f"localhost:{_free_port(1)}"
    os.environ["SENRI_ELASTICSEARCH"] = f"http://localhost:{_free_port(100)}"
    times = {}
    for name in manager.SERVICES:
        began = time.monotonic()
        manager.up(only=name, say=lambda _: None)
        times[name] = time.monotonic() - began
    return times, home


def _fresh_index(client: Elasticsearch, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    client.indices.create(
        index=name,
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        mappings=esq.mappings(),
    )
    return name


def run_raw(client: Elasticsearch, docs: list[dict[str, Any]], batch: int) -> float:
    """Seconds for helpers.bulk of pre-built documents + refresh."""
    index = _fresh_index(client, "senri-bench-raw")
    try:
        began = time.perf_counter()
        actions = ({"_index": index, "_id": d["id"], "_source": d} for d in docs)
        ok, _ = helpers.bulk(client, actions, chunk_size=batch, max_chunk_bytes=8 << 20)
        client.indices.refresh(index=index)
        seconds = time.perf_counter() - began
        assert ok == len(docs) == client.count(index=index)["count"]
        return seconds
    finally:
        client.indices.delete(index=index)


def run_store(url: str, events: list[Event], batch: int) -> float:
    """Seconds for ElasticsearchEventStore.put in batches + flush."""
    store = ElasticsearchEventStore(url, index=f"senri-bench-store-{uuid.uuid4().hex[:8]}")
    try:
        began = time.perf_counter()
        for i in range(0, len(events), batch):
            store.put(events[i : i + batch])
        store.flush()
        seconds = time.perf_counter() - began
        assert store.count() == len(events)
        return seconds
    finally:
        store.client.indices.delete(index=store.index)
        store.client.indices.delete_index_template(name=store.index)
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the best of each counts")
    parser.add_argument("--use-running", action="store_true")
    args = parser.parse_args()

    home: Path | None = None
    if not args.use_running:
        startup, home = start_private_services()
        for name, seconds in startup.items():
            print(f"startup  {name:<14} {seconds:6.1f} s  (up from stopped, warm jar cache)")
    try:
        url = elasticsearch_url()
        events = make_events(args.events)
        docs = [esq.to_document(e) for e in events]
        with Elasticsearch(url, request_timeout=60) as client:
            run_raw(client, docs[:5000], args.batch)  # warm-up: JIT, caches, connections
            run_store(url, events[:5000], args.batch)
            raw, store = [], []
            for _ in range(args.repeat):
                raw.append(run_raw(client, docs, args.batch))
                store.append(run_store(url, events, args.batch))
        n = len(events)
        raw_rate, store_rate = n / min(raw), n / min(store)
        print(f"events   {n}, batch {args.batch}, best of {args.repeat}, {url}")
        print(f"raw      helpers.bulk        {raw_rate:10,.0f} events/s")
        print(f"store    put + flush         {store_rate:10,.0f} events/s")
        print(f"ratio    store/raw           {store_rate / raw_rate:10.2f}  (goal >= 0.8)")
    finally:
        if home is not None:
            manager.down(say=lambda _: None)
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
