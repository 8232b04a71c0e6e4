"""Per-frame visual question answering: a question about one picture, from what was found in it.

The picture is described by the pipelines' own operators (`senri.ask.frame.FramePerception`:
detections, person and vehicle attributes, OCR lines, faces), or its stored events are read
back from the archive (`frame_events`); the events go into an in-memory store and the same
parser and executor as archive questions answer over it in per-frame mode (objects count
one per detection; questions about sound, speech or times are refused for a picture).

Example:
    >>> qa = FrameQA(vocab)                                          # doctest: +SKIP
    >>> qa.ask_image("how many people are there?", rgb).short       # doctest: +SKIP
    '2'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from senri.ask.engine import Asker
from senri.ask.types import Answer
from senri.ask.vocab import Vocabulary
from senri.indexes.events.store import MemoryEventStore
from senri.records import Event


class FrameQA:
    """Answers questions about single frames; loads the vision models on first image."""

    def __init__(self, vocab: Vocabulary, perception: Any = None) -> None:
        self.vocab = vocab
        self._perception = perception
        self._lock = threading.Lock()

    @property
    def perception(self) -> Any:
        with self._lock:
            if self._perception is None:
                from senri.ask.frame import FramePerception

                self._perception = FramePerception.load()
            return self._perception

    def ask_events(self, question: str, events: Sequence[Event], *, at: float = 0.0) -> Answer:
        """Answer from the events that describe one frame (taken at `at`)."""
        store = MemoryEventStore()
        store.put(list(events))
        return Asker(store, now=at, vocab=self.vocab, per_frame=True).ask(question)

    def ask_image(self, question: str, image: Any, *, stream_id: str = "upload") -> Answer:
        """Describe an RGB image with the vision operators, then answer from its events."""
        t0 = time.perf_counter()
        events = self.perception.describe(image, stream_id=stream_id, time=0.0)
        answer = self.ask_events(question, events)
        return replace(answer, seconds=time.perf_counter() - t0)
