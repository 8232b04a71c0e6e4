"""``senri search``: structured search over an event store from the command line.

Register it on the main app with ``app.command("search")(search)``. Exit codes: 0 found (or
found nothing), 2 a bad request, 1 a store that cannot be opened or queried.

Example:
    senri search -s cam3 --label car --attr colour=red --from 2026-11-27T10:00 --tracks
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from senri.cli_options import STORE_HELP
from senri.errors import QueryError, SenriError
from senri.indexes.events.stores import open_store
from senri.search.events import SearchRequest, SearchResult, iso, run_search

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def open_archive(url: str) -> Any:
    """The event store `url` names, which must already hold an archive."""
    return open_store(url, must_exist=True)


def _cell(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _print(result: SearchResult) -> None:
    req = result.request
    if req.aggregate == "none":
        table = Table()
        for name in ("time", "stream", "kind", "label", "track"):
            table.add_column(name, no_wrap=True)
        table.add_column("attributes", overflow="fold")
        table.add_column("text", overflow="fold")
        for e in result.events:
            attrs = " ".join(f"{k}={v}" for k, v in e.attributes.items())
            table.add_row(
                iso(e.time), _cell(e.stream_id), _cell(e.kind), _cell(e.label),
                _cell(e.track_id), _cell(attrs), _cell(e.text),
            )  # fmt: skip
        if result.events:
            console.print(table)
        shown = len(result.events)
        first = req.offset + 1 if shown else 0
        console.print(f"{result.total} events match; showing {first}-{req.offset + shown}")
    elif req.aggregate == "count":
        console.print(f"{result.total} events")
    elif req.aggregate == "tracks":
        table = Table("stream", "tracks")
        for b in result.buckets:
            table.add_row(_cell(b.key), str(b.count))
        if result.buckets:
            console.print(table)
        console.print(f"{result.tracks} tracks in {result.total} events")
    else:
        histogram = req.aggregate == "histogram"
        table = Table("from" if histogram else escape(req.group_by or ""), "events")
        for b in result.buckets:
            table.add_row(iso(b.key) if histogram else _cell(b.key), str(b.count))
        if result.buckets:
            console.print(table)
        console.print(f"{result.total} events in {len(result.buckets)} groups")


def search(
    stream: list[str] | None = typer.Option(
        None, "--stream", "-s", help="Stream id (repeat for any of several)."
    ),
    start: str | None = typer.Option(
        None, "--from", help="Earliest time: ISO 8601 (UTC without offset) or epoch seconds."
    ),
    end: str | None = typer.Option(None, "--to", help="Time before which events fall (exclusive)."),
    kind: list[str] | None = typer.Option(None, "--kind", help="Event kind (repeatable)."),
    label: list[str] | None = typer.Option(None, "--label", help="Label (repeatable)."),
    attr: list[str] | None = typer.Option(
        None, "--attr", help="Attribute as name=value (repeat; same name means any of)."
    ),
    text: str | None = typer.Option(None, "--text", help="Words that must all appear."),
    min_confidence: float | None = typer.Option(None, "--min-confidence", help="0..1."),
    tracked_only: bool = typer.Option(False, "--tracked-only", help="Only events with a track."),
    count: bool = typer.Option(False, "--count", help="Only count the matching events."),
    tracks: bool = typer.Option(False, "--tracks", help="Count distinct tracks per stream."),
    histogram: float | None = typer.Option(
        None, "--histogram", metavar="SECONDS", help="Events per time bucket of SECONDS."
    ),
    group_by: str | None = typer.Option(
        None, "--group-by", metavar="FIELD", help="Events per value of FIELD (attributes.x too)."
    ),
    limit: int = typer.Option(50, "--limit", help="Events (or groups) to show, 1..1000."),
    offset: int = typer.Option(0, "--offset", help="Events to skip."),
    newest_first: bool = typer.Option(False, "--newest-first", help="Latest events first."),
    store: str = typer.Option("sqlite:events.sqlite", "--store", help=STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON result."),
) -> None:
    """Find events by stream, time, kind, label, attributes and words; count, group or list."""
    modes = [
        name
        for name, on in (
            ("count", count),
            ("tracks", tracks),
            ("histogram", histogram is not None),
            ("terms", group_by is not None),
        )
        if on
    ]
    if len(modes) > 1:
        _fail("give at most one of --count, --tracks, --histogram, --group-by", 2)
    data: dict[str, Any] = {
        "streams": stream or [],
        "start": start,
        "end": end,
        "kinds": kind or [],
        "labels": label or [],
        "attributes": attr or [],
        "text": text,
        "min_confidence": min_confidence,
        "tracked_only": tracked_only,
        "aggregate": modes[0] if modes else "none",
        "group_by": group_by,
        "limit": limit,
        "offset": offset,
        "order": "desc" if newest_first else "asc",
    }
    if histogram is not None:
        data["interval"] = histogram
    try:
        req = SearchRequest.from_mapping(data)
    except QueryError as exc:
        _fail(str(exc), 2)
        return
    try:
        event_store = open_archive(store)
    except (SenriError, OSError, sqlite3.Error) as exc:
        _fail(f"cannot open {store}: {exc}", 1)
        return
    try:
        result = run_search(event_store, req)
    except QueryError as exc:
        _fail(str(exc), 2)
        return
    except (SenriError, OSError, sqlite3.Error) as exc:
        _fail(f"searching {store} failed: {exc}", 1)
        return
    finally:
        event_store.close()
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print(result)
