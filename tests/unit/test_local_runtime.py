"""The embedded runtime: batching, backpressure, dead letters, order, shutdown, metrics."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from senri.connectors import open_source
from senri.engine import spec
from senri.engine.graph import Graph, build
from senri.engine.local import LocalRuntime
from senri.engine.operator import BatchPolicy, Operator, OperatorRegistry, Stateless
from senri.engine.sinks import MemorySink
from senri.operators.decode import DecodeImage
from senri.records import AudioChunk, DeadLetter, EventBatch, Frame, ImageItem
from tests.media import break_wav_header, truncate, write_video, write_wav

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Item:
    stream_id: str
    seq: int
    value: int = 0

    @property
    def key(self) -> str:
        return f"{self.stream_id}:{self.seq}"

    def to_events(self) -> list[Any]:
        return []


class Passthrough(Stateless, Operator[Item, Item]):
    name = "test.pass"
    input_type = Item
    output_type = Item
    batch = BatchPolicy(8, 50)

    def __init__(self, fail_on: int = -1, jitter_ms: float = 0.0) -> None:
        self.fail_on = fail_on
        self.jitter_ms = jitter_ms
        self.batches: list[int] = []

    def process(self, items: list[Item]) -> list[Item]:
        self.batches.append(len(items))
        if self.jitter_ms:
            time.sleep(random.random() * self.jitter_ms / 1000)
        if any(i.value == self.fail_on for i in items):
            raise ValueError(f"cannot handle value {self.fail_on}")
        return items


class Pending(Stateless, Operator[Item, Item]):
    """Holds the last item of each stream back until end of input."""

    name = "test.pending"
    input_type = Item
    output_type = Item

    def __init__(self) -> None:
        self.held: dict[str, Item] = {}

    def process(self, items: list[Item]) -> list[Item]:
        return items

    def finish(self) -> list[Item]:
        return [Item("flushed", 0)]


OPS = OperatorRegistry()
OPS.register(Passthrough)
OPS.register(Pending)
OPS.register(DecodeImage)


class Frames2Items(Stateless, Operator[Frame, Item]):
    name = "test.frames"
    input_type = Frame
    output_type = Item

    def process(self, items: list[Frame]) -> list[Item]:
        return [Item(f.stream_id, f.seq) for f in items]


class Chunks2Items(Stateless, Operator[AudioChunk, Item]):
    name = "test.chunks"
    input_type = AudioChunk
    output_type = Item

    def process(self, items: list[AudioChunk]) -> list[Item]:
        return [Item(c.stream_id, c.seq) for c in items]


OPS.register(Frames2Items)
OPS.register(Chunks2Items)


def graph(nodes: dict[str, Any]) -> Graph:
    """A graph over one in-memory input `items` of `Item`s, into a memory sink `out`."""
    doc = {
        "inputs": {"items": {"memory": "python"}},
        "graph": nodes,
        "outputs": {"out": {"memory": "x", "from": [list(nodes)[-1]]}},
    }
    return build(
        spec.from_mapping(doc), ops=OPS, input_types={"items": Item}, sink_kinds={"memory": object}
    )


def items(stream: str, n: int, start: int = 0) -> Iterator[Item]:
    for i in range(start, start + n):
        yield Item(stream, i, i)


def test_batches_respect_max_size() -> None:
    g = graph({"p": {"op": "test.pass", "from": "items", "batch": 8, "max_wait_ms": 50}})
    sink = MemorySink()
    rt = LocalRuntime(g, sources={"items": items("s", 100)}, sinks={"out": sink})
    report = rt.run()
    batches = rt.operator("p").batches  # type: ignore[attr-defined]
    assert sum(batches) == 100 and max(batches) <= 8
    assert batches.count(8) >= 10  # a fast source fills batches
    assert report.items_out["p"] == 100 and len(sink.items) == 100


async def _wait_for_batch(policy: BatchPolicy, arrivals: list[float]) -> tuple[list[int], float]:
    import asyncio

    from senri.engine.batcher import END, MicroBatcher

    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def feed() -> None:
        for i, delay in enumerate(arrivals):
            await asyncio.sleep(delay)
            await queue.put(i)
        await queue.put(END)

    task = asyncio.create_task(feed())
    batcher = MicroBatcher(queue, policy)
    started = time.perf_counter()
    first = await batcher.next_batch()
    waited = time.perf_counter() - started
    await task
    assert first is not None
    return first, waited


def test_batch_released_after_max_wait() -> None:
    import asyncio

    # items trickle in every 30 ms; a 100 ms wait must release a partial batch, not wait for 16
    batch, waited = asyncio.run(_wait_for_batch(BatchPolicy(16, 100), [0.0] + [0.03] * 10))
    assert 1 <= len(batch) < 16
    assert 0.09 <= waited < 0.6


def test_full_batch_released_without_waiting() -> None:
    import asyncio

    batch, waited = asyncio.run(_wait_for_batch(BatchPolicy(4, 5000), [0.0] * 10))
    assert batch == [0, 1, 2, 3]
    assert waited < 1.0  # far below the 5 s max wait


class SlowSink(MemorySink):
    def __init__(self, produced: list[int]) -> None:
        super().__init__()
        self.produced = produced
        self.max_lag = 0

    def write(self, batch: list[Any]) -> None:
        time.sleep(0.005)
        super().write(batch)
        self.max_lag = max(self.max_lag, self.produced[0] - len(self.items))


def test_slow_sink_backpressures_the_source() -> None:
    produced = [0]

    def counting() -> Iterator[Item]:
        for item in items("s", 400):
            produced[0] += 1
            yield item

    g = graph({"p": {"op": "test.pass", "from": "items", "batch": 2, "max_wait_ms": 1}})
    sink = SlowSink(produced)
    rt = LocalRuntime(g, sources={"items": counting()}, sinks={"out": sink}, queue_size=4)
    rt.run()
    assert len(sink.items) == 400
    # capacity: source hand-off, node queue and sink queue of 4 each; in the node, a batch of 2
    # and the cheap batches that were waiting with it (at most its queue, 4); a sink batch of at
    # most 4; one item held by the source's reader
    assert sink.max_lag <= 4 + 4 + 4 + (2 + 4) + 4 + 1
    exposition = rt.metrics.exposition().decode()
    assert 'senri_queue_depth{stage="output:out"}' in exposition
    assert rt.metrics.value("senri_queue_depth", "output:out") <= 4


def test_failing_item_goes_to_dlq_and_stream_continues() -> None:
    g = graph({"p": {"op": "test.pass", "from": "items", "fail_on": 13}})
    sink, dlq = MemorySink(), MemorySink()
    report = LocalRuntime(g, sources={"items": items("s", 30)}, sinks={"out": sink}, dlq=dlq).run()
    assert [i.value for i in sink.items] == [v for v in range(30) if v != 13]
    assert len(dlq.items) == 1
    letter = dlq.items[0]
    assert isinstance(letter, DeadLetter)
    assert (
        letter.key == "s:13" and letter.stage == "p" and "cannot handle value 13" in letter.reason
    )
    assert report.dead_letters == 1


def test_per_stream_order_is_kept() -> None:
    def interleaved() -> Iterator[Item]:
        a, b = items("a", 200), items("b", 200)
        for x, y in zip(a, b, strict=True):
            yield x
            yield y

    g = graph(
        {
            "p": {"op": "test.pass", "from": "items", "batch": 5, "max_wait_ms": 2, "jitter_ms": 3},
            "q": {"op": "test.pass", "from": "p", "batch": 3, "max_wait_ms": 1, "jitter_ms": 2},
        }
    )
    sink = MemorySink()
    LocalRuntime(g, sources={"items": interleaved()}, sinks={"out": sink}).run()
    for stream in ("a", "b"):
        seqs = [i.seq for i in sink.items if i.stream_id == stream]
        assert seqs == list(range(200))


def test_stop_drains_everything_read() -> None:
    produced: list[Item] = []

    def endless() -> Iterator[Item]:
        for item in items("live", 10**9):
            produced.append(item)
            time.sleep(0.001)
            yield item

    g = graph({"p": {"op": "test.pass", "from": "items", "batch": 8, "max_wait_ms": 20}})
    sink = MemorySink()
    rt = LocalRuntime(g, sources={"items": endless()}, sinks={"out": sink})
    threading.Timer(0.5, rt.stop).start()
    report = rt.run()
    assert report.stopped
    assert len(produced) > 20
    assert [i.seq for i in sink.items] == [i.seq for i in produced]


def test_finish_results_are_delivered() -> None:
    g = graph({"p": {"op": "test.pending", "from": "items"}})
    sink = MemorySink()
    LocalRuntime(g, sources={"items": items("s", 3)}, sinks={"out": sink}).run()
    assert [i.stream_id for i in sink.items] == ["s", "s", "s", "flushed"]


class BrokenSink(MemorySink):
    def write(self, batch: list[Any]) -> None:
        if any(i.value == 5 for i in batch):
            raise OSError("disk full")
        super().write(batch)


def test_sink_failure_dead_letters_the_batch() -> None:
    g = graph({"p": {"op": "test.pass", "from": "items", "batch": 1}})
    dlq = MemorySink()
    sink = BrokenSink()
    LocalRuntime(g, sources={"items": items("s", 10)}, sinks={"out": sink}, dlq=dlq).run()
    assert "s:5" in {d.key for d in dlq.items}
    assert all("disk full" in d.reason for d in dlq.items)
    assert sorted([i.key for i in sink.items] + [d.key for d in dlq.items]) == sorted(
        f"s:{i}" for i in range(10)
    )


def test_bad_media_goes_to_dlq_and_other_streams_continue(tmp_path: Path) -> None:
    video = truncate(write_video(tmp_path / "cut.mp4", frames=40), 0.5)
    wav = break_wav_header(write_wav(tmp_path / "bad.wav"))
    good_wav = write_wav(tmp_path / "good.wav", seconds=3.0)
    images = tmp_path / "images"
    images.mkdir()
    import cv2

    _, buf = cv2.imencode(".jpg", np.full((16, 16, 3), 200, np.uint8))
    (images / "a.jpg").write_bytes(buf.tobytes())
    (images / "b.jpg").write_bytes(np.random.default_rng(1).bytes(2000))
    (images / "c.jpg").write_bytes(buf.tobytes())

    doc = {
        "inputs": {
            "cut": {"video": str(video)},
            "bad": {"audio": str(wav)},
            "good": {"audio": str(good_wav)},
            "imgs": {"images": str(images)},
        },
        "graph": {
            "frames": {"op": "test.frames", "from": "cut"},
            "chunks": {"op": "test.chunks", "from": ["bad", "good"]},
            "decoded": {"op": "decode.image", "from": "imgs"},
        },
        "outputs": {
            "f": {"memory": "x", "from": ["frames"]},
            "c": {"memory": "x", "from": ["chunks"]},
            "i": {"memory": "x", "from": ["decoded"]},
        },
    }
    g = build(spec.from_mapping(doc), ops=OPS, sink_kinds={"memory": object})
    sources = {
        "cut": open_source({"video": str(video)}, "cam"),
        "bad": open_source({"audio": str(wav)}, "bad"),
        "good": open_source({"audio": str(good_wav)}, "good"),
        "imgs": open_source({"images": str(images)}, "imgs"),
    }
    sinks = {"f": MemorySink(), "c": MemorySink(), "i": MemorySink()}
    dlq = MemorySink()
    LocalRuntime(g, sources=sources, sinks=sinks, dlq=dlq).run()  # type: ignore[arg-type]
    reasons = {d.stream_id: d.reason for d in dlq.items}
    assert set(reasons) == {"cam", "bad", "imgs"}, reasons
    assert "video" in reasons["cam"] and "frame" in reasons["cam"]
    assert "decodable" in reasons["imgs"] or "JPEG" in reasons["imgs"]
    assert 0 < len(sinks["f"].items) < 40  # frames before the cut were processed
    assert [i.seq for i in sinks["c"].items] == [0, 1, 2]  # the good microphone went on
    assert sorted(i.item_id for i in sinks["i"].items) == ["a.jpg", "c.jpg"]
    assert all(isinstance(i, ImageItem) and i.image is not None for i in sinks["i"].items)


def test_runtime_refuses_missing_sources() -> None:
    g = graph({"p": {"op": "test.pass", "from": "items"}})
    with pytest.raises(ValueError, match="no source given for input"):
        LocalRuntime(g, sources={}, sinks={"out": MemorySink()})


def test_event_batches_reach_store_sink(tmp_path: Path) -> None:
    from senri.engine.sinks import StoreSink
    from senri.indexes.events.sqlite import SqliteEventStore
    from senri.records import Event

    store = SqliteEventStore(tmp_path / "e.sqlite")
    StoreSink(store).write(
        [EventBatch("s", "s:0", (Event("1", "s", 0.0, "sound", "loud"),)), Item("s", 1)]
    )
    assert store.count() == 1


class Counting(Operator[Item, Item]):
    """Counts items per stream (stateful) and fails on value 13."""

    name = "test.count"
    input_type = Item
    output_type = Item
    batch = BatchPolicy(8, 50)

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def snapshot(self, stream_id: str) -> dict[str, Any]:
        return {"count": self.counts.get(stream_id, 0)}

    def restore(self, stream_id: str, state: dict[str, Any]) -> None:
        self.counts[stream_id] = int(state.get("count", 0))

    def process(self, items: list[Item]) -> list[Item]:
        for item in items:
            self.counts[item.stream_id] = self.counts.get(item.stream_id, 0) + 1
            if item.value == 13:
                raise ValueError("unlucky")
        return items


OPS.register(Counting)


def test_failed_batch_does_not_apply_stateful_items_twice() -> None:
    g = graph({"c": {"op": "test.count", "from": "items", "batch": 8, "max_wait_ms": 50}})
    sink, dlq = MemorySink(), MemorySink()
    rt = LocalRuntime(g, sources={"items": items("s", 30)}, sinks={"out": sink}, dlq=dlq)
    rt.run()
    assert len(sink.items) == 29 and len(dlq.items) == 1
    # 29 good items counted once each, plus the bad one's own failed attempt
    assert rt.operator("c").counts["s"] == 30  # type: ignore[attr-defined]


class Streams(Stateless, Operator[Item, Item]):
    """Records which streams each batch held."""

    name = "test.streams"
    input_type = Item
    output_type = Item
    batch = BatchPolicy(16, 50)

    def __init__(self) -> None:
        self.batches: list[set[str]] = []

    def process(self, items: list[Item]) -> list[Item]:
        self.batches.append({i.stream_id for i in items})
        return items


OPS.register(Streams)


def test_frames_from_many_streams_share_one_batch() -> None:
    """Cross-stream micro-batching (nvstreammux's idea): one node reads every camera wired to
    it from one queue, so a batch for the model holds frames of many cameras, while each
    camera's own order is kept."""

    def camera(name: str) -> Iterator[Item]:
        for item in items(name, 50):
            time.sleep(0.004)  # a live camera: frames arrive over time, not all at once
            yield item

    cams = [f"cam{i}" for i in range(8)]
    doc = {
        "inputs": {c: {"memory": "python"} for c in cams},
        "graph": {"model": {"op": "test.streams", "from": cams, "batch": 16, "max_wait_ms": 50}},
        "outputs": {"out": {"memory": "x", "from": ["model"]}},
    }
    g = build(
        spec.from_mapping(doc),
        ops=OPS,
        input_types=dict.fromkeys(cams, Item),
        sink_kinds={"memory": object},
    )
    sink = MemorySink()
    rt = LocalRuntime(g, sources={c: camera(c) for c in cams}, sinks={"out": sink})
    rt.run()
    batches = rt.operator("model").batches  # type: ignore[attr-defined]
    assert len(sink.items) == 400
    assert sum(len(b) >= 6 for b in batches) >= len(batches) // 2  # most span 6+ cameras
    for cam in cams:
        assert [i.seq for i in sink.items if i.stream_id == cam] == list(range(50))


class Overlapping(Passthrough):
    """A stateless operator that allows two batches at once, and records how many ran so."""

    name = "test.overlap"
    in_flight = 2
    running = 0
    most = 0
    lock = threading.Lock()

    def process(self, items: list[Item]) -> list[Item]:
        cls = type(self)
        with cls.lock:
            cls.running += 1
            cls.most = max(cls.most, cls.running)
        try:
            return super().process(items)
        finally:
            with cls.lock:
                cls.running -= 1


OPS.register(Overlapping)


def test_batches_in_flight_overlap_and_still_leave_in_order() -> None:
    """Two batches run at once (the second waits for no hand-off), their results leave in
    the order the batches came, whichever finishes first, and a failing item stays its own."""
    Overlapping.most = 0
    g = graph({"p": {"op": "test.overlap", "from": "items", "batch": 2, "max_wait_ms": 1,
                     "jitter_ms": 6, "fail_on": 77}})  # fmt: skip
    sink, dlq = MemorySink(), MemorySink()
    LocalRuntime(g, sources={"items": items("a", 300)}, sinks={"out": sink}, dlq=dlq,
                 workers=4).run()  # fmt: skip
    seqs = [i.seq for i in sink.items]
    assert seqs == [s for s in range(300) if s != 77]
    assert [d.key for d in dlq.items] == ["a:77"] and Overlapping.most == 2


class Remembers(Operator[Item, Item]):
    name = "test.remembers"
    input_type = Item
    output_type = Item
    in_flight = 2

    def snapshot(self, stream_id: str) -> Any:
        return {}

    def restore(self, stream_id: str, state: Any) -> None:
        pass

    def process(self, items: list[Item]) -> list[Item]:
        return items


def test_a_stateful_operator_may_not_run_batches_side_by_side() -> None:
    from senri.errors import PipelineError

    ops = OperatorRegistry()
    ops.register(Remembers)
    doc = {"inputs": {"items": {"memory": "python"}},
           "graph": {"r": {"op": "test.remembers", "from": "items"}},
           "outputs": {"out": {"memory": "x", "from": ["r"]}}}  # fmt: skip
    with pytest.raises(PipelineError, match="keeps state but allows 2 batches at once"):
        build(spec.from_mapping(doc), ops=ops, input_types={"items": Item},
              sink_kinds={"memory": object})  # fmt: skip


def test_a_streams_outage_is_reported_and_counted() -> None:
    def camera() -> Iterator[Any]:
        yield from items("cam1", 3)
        reason = "connecting to rtsp://cam/1 failed: Connection refused; reconnecting in 2.00s"
        yield DeadLetter("cam1", "cam1:3", "source.video", reason, time=1000.0)
        yield from items("cam1", 2, start=3)

    lines: list[str] = []
    g = graph({"a": {"op": "test.pass", "from": "items"}})
    rt = LocalRuntime(
        g, sources={"items": camera()}, sinks={"out": MemorySink()}, on_health=lines.append
    )
    rt.run()
    assert len(lines) == 2, lines
    assert lines[0].startswith("cam1: down since") and "Connection refused" in lines[0]
    assert lines[1].startswith("cam1: up again at")
    assert rt.health.snapshot()["cam1"]["outages"] == 1
    assert rt.metrics.registry.get_sample_value("senri_stream_up", {"stream": "cam1"}) == 1.0


class Evens(Stateless, Operator[Item, Item]):
    """Keeps the even values: fewer results than inputs, by design."""

    name = "test.evens"
    input_type = Item
    output_type = Item
    one_to_one = False

    def __init__(self) -> None:
        self.calls = 0

    def process(self, items: list[Item]) -> list[Item]:
        self.calls += 1
        return [i for i in items if i.value % 2 == 0]


class CountedEvens(Evens):
    """The same, claiming one result per input: each short batch is retried item by item."""

    name = "test.counted-evens"
    one_to_one = True


OPS.register(Evens)
OPS.register(CountedEvens)


@pytest.mark.parametrize(("op", "retried"), [("test.evens", False), ("test.counted-evens", True)])
def test_an_operator_that_drops_items_says_so_or_is_retried(op: str, retried: bool) -> None:
    g = graph({"e": {"op": op, "from": "items", "batch": 10, "max_wait_ms": 1000}})
    sink, dlq = MemorySink(), MemorySink()
    rt = LocalRuntime(g, sources={"items": items("s", 100)}, sinks={"out": sink}, dlq=dlq)
    rt.run()
    assert [i.value for i in sink.items] == list(range(0, 100, 2))
    calls = rt.operator("e").calls  # type: ignore[attr-defined]
    # ten batches of ten; a batch that comes back short is run again one item at a time
    assert (calls > 100) if retried else (calls == 10), calls
    assert dlq.items == []  # nothing is lost either way; the claim only costs the retries
