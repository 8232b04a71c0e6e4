"""Event stores by URL: ``sqlite:PATH`` or ``elasticsearch[+https]://HOST:PORT[/INDEX]``.

``elasticsearch+https://`` speaks TLS to the node; credentials and the CA bundle come from the
environment (`senri.credentials`), never from the URL, so they stay out of logs.

One registry of URL schemes, in the layer that owns the stores, so the CLI, the worker, the
API and `senri ask` open an archive the same way::

    store = open_store("elasticsearch://localhost:9200/senri-street")
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from senri.errors import StoreError

STORE_URL = "sqlite:PATH or elasticsearch[+https]://HOST:PORT[/INDEX]"


def _sqlite(rest: str) -> Any:
    from senri.indexes.events.sqlite import SqliteEventStore

    return SqliteEventStore(rest)


def _elasticsearch(scheme: str) -> Callable[[str], Any]:
    def open_index(rest: str) -> Any:
        from senri.indexes.events.elasticsearch import ElasticsearchEventStore

        host, _, index = rest.lstrip("/").partition("/")
        if "@" in host:
            raise StoreError(
                "put Elasticsearch credentials in SENRI_ES_API_KEY or SENRI_ES_USERNAME/"
                "SENRI_ES_PASSWORD (docs/deploy.md), not in the store URL"
            )
        return ElasticsearchEventStore(f"{scheme}://{host}", *([index] if index else []))

    return open_index


SCHEMES: dict[str, Callable[[str], Any]] = {
    "sqlite": _sqlite,
    "elasticsearch": _elasticsearch("http"),
    "es": _elasticsearch("http"),
    "elasticsearch+https": _elasticsearch("https"),
    "es+https": _elasticsearch("https"),
}
"""URL scheme → a function of the rest of the URL that opens the store."""


def open_store(url: str, *, must_exist: bool = False) -> Any:
    """The event store `url` names; `must_exist` refuses a SQLite file that is not there yet
    (a question over an archive nobody wrote). Raises `StoreError` saying what is accepted."""
    scheme, sep, rest = url.partition(":")
    opener = SCHEMES.get(scheme) if sep else None
    if opener is None or not rest:
        raise StoreError(f"store {url!r}: use {STORE_URL}")
    if must_exist and scheme == "sqlite" and not Path(rest).is_file():
        raise StoreError(f"no event store at {rest!r} (run a pipeline first)")
    return opener(rest)
