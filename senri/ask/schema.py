"""What an archive's events are, as the operators that write them declare (`Operator.emits`).

The ask engine does not keep its own list of event kinds: which kinds are things on camera,
which are video or audio, and what a refusal calls them ("objects", "speech", "accents")
come from the registered operators' `Emits` declarations. An operator added to the registry
with ``emits = (Emits("vehicle_count", "video", "objects"),)`` has its events counted, listed
and timed as things on camera by every question, with no change to the parser.

Example:
    >>> kinds().things                                  # doctest: +SKIP
    ('motion', 'object')
    >>> kinds().noun("dialect")                         # doctest: +SKIP
    'accents'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from senri.engine.operator import Emits, registry

NOUNS = ("objects", "faces", "text", "speech", "sounds", "accents")
"""The nouns a declaration may use, in the order a refusal lists what an archive holds."""


@dataclass(frozen=True)
class Kinds:
    """Every declared event kind, by medium and by what questions call it."""

    declared: tuple[Emits, ...]

    def _where(self, test: Callable[[Emits], bool]) -> tuple[str, ...]:
        return tuple(sorted({e.kind for e in self.declared if test(e)}))

    @property
    def video(self) -> tuple[str, ...]:
        return self._where(lambda e: e.medium == "video")

    @property
    def audio(self) -> tuple[str, ...]:
        return self._where(lambda e: e.medium == "audio")

    @property
    def things(self) -> tuple[str, ...]:
        """Kinds that are things on camera (detections, moving objects, ...)."""
        return self._where(lambda e: e.means == "objects")

    def noun(self, kind: str) -> str | None:
        """What questions and refusals call events of `kind` (None: not named)."""
        for e in self.declared:
            if e.kind == kind and e.means is not None:
                return e.means
        return None


def kinds() -> Kinds:
    """The declarations of every registered operator (read afresh: registering one counts)."""
    import senri.operators  # noqa: F401  # the built-in operators register themselves

    found: list[Emits] = []
    for name in registry.names():
        cls = registry.get(name)
        if cls is None:
            continue
        for e in cls.emits:
            if e.means is not None and e.means not in NOUNS:
                raise ValueError(f"{name} emits {e.kind!r} as {e.means!r}; use one of {NOUNS}")
            found.append(e)
    return Kinds(tuple(found))
