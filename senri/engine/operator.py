"""The operator contract: typed input and output, a batch policy, a device, a lifecycle.

An operator turns a batch of inputs into exactly one output per input, in order. Settings go to
the constructor; models load in `setup()`, which must be idempotent. Stateful operators keep
per-stream state that `snapshot()`/`restore()` move in and out as JSON-able dicts, so a runtime
can keep it in a changelogged table and resume after a crash.

Example:
    >>> class Double(Operator[int, int]):
    ...     name = "demo.double"
    ...     input_type = int
    ...     output_type = int
    ...     def process(self, items: list[int]) -> list[int]:
    ...         return [2 * i for i in items]
    >>> Double().process([1, 2])
    [2, 4]
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeGuard, TypeVar, runtime_checkable

from senri.device import Device

In = TypeVar("In")
Out = TypeVar("Out")
JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Emits:
    """An event kind an operator writes, and what a question calls such events.

    `means` is the noun questions use for them ("objects": things on camera, also asked as
    things, vehicles or people; "faces", "text", "speech", "sounds", "accents"), or None for
    events that only support others (the voice-activity spans a transcript is cut from).
    `senri.ask.schema` reads these declarations, so an operator that declares what it emits
    is askable without a change to the question parser.
    """

    kind: str
    medium: Literal["video", "audio"]
    means: str | None


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    """Release a batch when it holds `max_size` items or its first item waited `max_wait_ms`."""

    max_size: int = 1
    max_wait_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.max_size < 1:
            raise ValueError(f"BatchPolicy.max_size must be >= 1; got {self.max_size}")
        if self.max_wait_ms < 0:
            raise ValueError(f"BatchPolicy.max_wait_ms must be >= 0; got {self.max_wait_ms}")


class Operator(Generic[In, Out]):
    """Base class of every operator; subclasses set the class attributes and `process`."""

    name: ClassVar[str]
    input_type: ClassVar[type]
    output_type: ClassVar[type]
    batch: ClassVar[BatchPolicy] = BatchPolicy()
    fields: ClassVar[tuple[str, ...]] = ()
    """Per-detection fields a `where` predicate may use on this operator's output."""
    emits: ClassVar[tuple[Emits, ...]] = ()
    """The event kinds this operator's output becomes in an archive (see `Emits`)."""
    in_flight: ClassVar[int] = 1
    """Batches of this operator that may run at once on the runtime's threads. More than one
    only for a `Stateless` operator whose `process` may be called from several threads at
    once (an ONNX Runtime session may); results still leave in the order batches came in.
    While one batch computes, the next is handed over, so the hand-off costs no model time."""
    one_to_one: ClassVar[bool] = True
    """Whether `process` returns one result per input, in order. The runtime checks it (a
    shorter list is a bug, retried item by item); an operator whose output count differs by
    design (`decode.video`: pictures held by the decoder, frames `fps` drops) says False."""

    def setup(self, device: Device) -> None:
        """Load models; called once per worker before the first batch (idempotent)."""

    def process(self, items: list[In]) -> list[Out]:
        raise NotImplementedError

    def finish(self) -> list[Out]:
        """Called once at end of input: return results still held back (open spans)."""
        return []

    def teardown(self) -> None:
        """Release what `setup` acquired."""


@runtime_checkable
class Stateful(Protocol):
    """An operator with per-stream state that must survive a restart.

    `snapshot` must hold everything the next items depend on (a tracker's next id and live
    tracks, buffered samples, a model's recurrent state, a background), as JSON-able data, so
    that restoring it into a fresh operator and going on gives exactly what going on would have.
    ``restore(stream, {})`` forgets the stream (a worker that hands a partition over does so).
    """

    def snapshot(self, stream_id: str) -> JSON: ...

    def restore(self, stream_id: str, state: JSON) -> None: ...


class Stateless:
    """Marker base: the operator carries nothing from one item to the next.

    Every operator is either `Stateful` or `Stateless`; the graph builder refuses one that
    declares neither, so state cannot be forgotten by accident (a worker that takes over a
    stream would lose it). tests/unit/test_operator_state.py checks both kinds of promise.
    """


_STATEFUL: dict[type, bool] = {}


def keeps_state(op: object) -> TypeGuard[Stateful]:
    """Whether `op` is `Stateful`: a Protocol check is slow, so it is made once per class."""
    cls = type(op)
    found = _STATEFUL.get(cls)
    if found is None:
        found = _STATEFUL[cls] = issubclass(cls, Stateful)
    return found


def declares_state(cls: type) -> bool:
    """True if `cls` is `Stateful` (snapshot/restore) or `Stateless`, not both."""
    return issubclass(cls, Stateful) != issubclass(cls, Stateless)


OperatorFactory = Callable[..., Operator[Any, Any]]


class OperatorRegistry:
    """Operator classes by name (``vision.motion``); the one global registry senri keeps."""

    def __init__(self) -> None:
        self._ops: dict[str, type[Operator[Any, Any]]] = {}

    def register(self, cls: type[Operator[Any, Any]]) -> type[Operator[Any, Any]]:
        if cls.name in self._ops and self._ops[cls.name] is not cls:
            raise ValueError(f"operator {cls.name!r} is registered twice")
        self._ops[cls.name] = cls
        return cls

    def get(self, name: str) -> type[Operator[Any, Any]] | None:
        return self._ops.get(name)

    def names(self) -> list[str]:
        return sorted(self._ops)

    def suggest(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=1)
        if close:
            return f"did you mean '{close[0]}'?"
        return "known operators: " + ", ".join(self.names())

    @staticmethod
    def params_of(cls: type[Operator[Any, Any]]) -> dict[str, inspect.Parameter]:
        """The keyword settings an operator's constructor accepts."""
        sig = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return {n: p for n, p in sig.parameters.items() if n != "self" and p.kind in kinds}


registry = OperatorRegistry()


def register(cls: type[Operator[In, Out]]) -> type[Operator[In, Out]]:
    """Class decorator adding an operator to the global registry."""
    registry.register(cls)
    return cls
