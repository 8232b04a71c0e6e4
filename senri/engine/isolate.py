"""Running one batch through an operator so that a bad item fails alone.

Both runtimes use it: a batch that raises is retried item by item and only the items that
still raise become `DeadLetter`s with the reason. A `Stateful` operator's per-stream state is
rolled back to its pre-batch snapshot before the retry, so no item is applied twice.
"""

from __future__ import annotations

import copy
import sys
import time
from typing import Any

from senri.engine.graph import Node
from senri.engine.operator import Operator, keeps_state
from senri.records import DeadLetter


def process_isolated(
    node: Node, op: Operator[Any, Any], items: list[Any]
) -> tuple[list[Any], list[DeadLetter]]:
    """Run one batch; on failure retry item by item so only the bad item is dead-lettered.

    A `Stateful` operator may have updated its state for the items before the one that raised;
    its per-stream state is put back as it was before the batch, so the retry does not apply
    those items twice.
    """
    before = _snapshot(op, items)
    try:
        out = op.process(items)
        if op.one_to_one and len(out) != len(items):
            raise RuntimeError(f"operator returned {len(out)} results for {len(items)} inputs")
        return out, []
    except Exception:
        if len(items) == 1:
            return [], [_letter(node, items[0])]
        if keeps_state(op):
            for stream, state in before.items():
                op.restore(stream, state)
    results: list[Any] = []
    dead: list[DeadLetter] = []
    for item in items:
        try:
            results.extend(op.process([item]))
        except Exception:
            dead.append(_letter(node, item))
    return results, dead


def _snapshot(op: Operator[Any, Any], items: list[Any]) -> dict[str, Any]:
    if not keeps_state(op):
        return {}
    streams = {str(getattr(item, "stream_id", "")) for item in items}
    return {stream: copy.deepcopy(op.snapshot(stream)) for stream in streams}


def _letter(node: Node, item: Any) -> DeadLetter:
    exc = sys.exc_info()[1]
    return DeadLetter(
        stream_id=str(getattr(item, "stream_id", "")),
        key=str(getattr(item, "key", "")),
        stage=node.name,
        reason=f"{node.op_cls.name} failed: {exc}",
        error=type(exc).__name__,
        time=time.time(),
    )
