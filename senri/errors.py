"""The exceptions senri raises on purpose; each carries a reason a person can act on."""

from __future__ import annotations


class SenriError(Exception):
    """Base of every error senri raises deliberately."""


class DecodeError(SenriError, ValueError):
    """Bytes that are not a valid record (bad envelope, unknown schema, corrupt media)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SourceError(SenriError):
    """A source that cannot be opened or stopped producing (missing file, broken container)."""


class GraphError(SenriError):
    """A pipeline that cannot run; `line` is the 1-based YAML line when known."""

    def __init__(self, message: str, *, line: int | None = None, hint: str | None = None) -> None:
        self.message = message
        self.line = line
        self.hint = hint
        text = message if line is None else f"line {line}: {message}"
        if hint:
            text += f" (hint: {hint})"
        super().__init__(text)


class PipelineError(SenriError):
    """Every problem found while validating one pipeline, reported together."""

    def __init__(self, errors: list[GraphError], source: str | None = None) -> None:
        self.errors = errors
        where = f"{source}: " if source else ""
        lines = [f"{where}{len(errors)} problem(s) in the pipeline:"]
        lines += [f"  - {e}" for e in errors]
        super().__init__("\n".join(lines))


class MissingDependencyError(SenriError):
    """An optional package that one operator or backend needs is not installed."""

    def __init__(self, package: str, purpose: str, extra: str | None = None) -> None:
        how = f"pip install 'senri[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{purpose} needs the '{package}' package: {how}")
        self.package = package


class ModelUnavailableError(SenriError):
    """A registry model whose weights are neither cached nor fetchable."""


class ModelError(SenriError):
    """A model that cannot run on the backend or device asked for (an op the backend lacks,
    a GPU that is not there), or a graph that fails on its input."""


class DeviceError(ModelError):
    """A device that was asked for by name and is not there; senri never falls back silently."""


class StoreError(SenriError):
    """An event store refused a write or a query."""


class QueryError(SenriError, ValueError):
    """A query that is malformed (unknown field, bad operator, wrong value type)."""
