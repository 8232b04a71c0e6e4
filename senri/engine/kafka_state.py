"""Operator state of the Kafka worker: a compacted changelog topic, one record per partition.

At every commit the worker writes, for each input partition the batch touched, one record keyed
``<topic>:<partition>`` holding the offset the batch ended at and the `snapshot()` of every
`Stateful` operator for every stream seen on that partition. State and position travel in ONE
record, so they can never disagree: on partition assignment the worker restores the operators
from the latest record and resumes reading at the record's offset. With transactions (the
default) the record, the batch's results and its offset commit are one atomic step; without,
the record is written after the sinks and results acknowledged and before the commit, so
resuming at its offset loses nothing, and a batch replayed after a crash starts from the state
it originally started from.

Example:
    state = ChangelogState(ops)
    key, value = state.record(tp_topic, tp_partition, next_offset, streams)
    ...
    latest = read_changelog(bootstrap, topic)   # on assignment
    offset = state.restore(latest[key])
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from senri.engine.operator import Operator, Stateful


def partition_key(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


class ChangelogState:
    """Snapshots and restores the `Stateful` operators among `ops`, per stream."""

    def __init__(self, ops: Mapping[str, Operator[Any, Any]]) -> None:
        self.stateful: dict[str, Stateful] = {
            name: op for name, op in ops.items() if isinstance(op, Stateful)
        }

    @property
    def enabled(self) -> bool:
        return bool(self.stateful)

    def record(
        self, topic: str, partition: int, offset: int, streams: Iterable[str]
    ) -> tuple[bytes, bytes]:
        """The changelog (key, value) for one partition after a batch ending at `offset`."""
        state = {
            name: {stream: op.snapshot(stream) for stream in sorted(streams)}
            for name, op in self.stateful.items()
        }
        value = {"offset": offset, "time": time.time(), "state": state}
        return partition_key(topic, partition).encode(), json.dumps(value, default=_json).encode()

    def restore(self, value: Mapping[str, Any]) -> int:
        """Put the operators back in the recorded state; returns the recorded offset."""
        for name, streams in (value.get("state") or {}).items():
            op = self.stateful.get(name)
            if op is None:
                continue  # the pipeline changed: a node that no longer exists keeps nothing
            for stream, snap in streams.items():
                op.restore(stream, snap)
        return int(value["offset"])

    def forget(self, streams: Iterable[str]) -> None:
        """Drop the operators' state of `streams` (``restore(stream, {})`` forgets a stream)."""
        for op in self.stateful.values():
            for stream in streams:
                op.restore(stream, {})

    @staticmethod
    def streams_of(value: Mapping[str, Any]) -> set[str]:
        """The streams a record holds state for (the next record must carry them on)."""
        return {stream for streams in (value.get("state") or {}).values() for stream in streams}


def _json(value: Any) -> Any:
    """numpy scalars and arrays in snapshots become plain JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot snapshot a {type(value).__name__}")


def read_changelog(
    bootstrap: str, topic: str, committed: bool = True, timeout_s: float = 30.0
) -> dict[str, Any]:
    """The latest value per key of the changelog, read from the start up to its end offsets;
    with `committed`, only records of committed transactions (up to the last stable offset)."""
    from senri.connectors.kafka import STATE_MAX_BYTES, read_to_end

    latest: dict[str, Any] = {}
    records = read_to_end(
        bootstrap,
        topic,
        committed=committed,
        timeout_s=timeout_s,
        client_id="senri-state-restore",
        # a record holds a whole partition's state (a motion background is a few hundred KB):
        # the client's 1 MB defaults would fail to fetch it
        max_partition_fetch_bytes=STATE_MAX_BYTES,
        fetch_max_bytes=STATE_MAX_BYTES,
        receive_message_max_bytes=STATE_MAX_BYTES + 1024 * 1024,
    )
    for msg in records:
        key = msg.key.decode() if msg.key else ""
        if msg.value is None:
            latest.pop(key, None)
        else:
            latest[key] = json.loads(msg.value)
    return latest
