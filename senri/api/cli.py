"""``senri serve``: the HTTP API and its web page (uvicorn), optionally following collections
replicated from Kafka."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from senri.cli_options import SEARCH_DEVICE_HELP, STORE_URL, search_device
from senri.device import Device
from senri.errors import SenriError

err = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (localhost by default)."),
    port: int = typer.Option(8000, min=1, max=65535),
    max_bytes: int = typer.Option(10 * 1024 * 1024, help="Largest accepted upload, bytes."),
    max_pixels: int = typer.Option(40_000_000, help="Largest accepted image, pixels."),
    store: str = typer.Option(
        "",
        help=f"Event archive for /events, /ask and /vqa: {STORE_URL} "
        "(none: those routes answer 503).",
    ),
    place: list[str] = typer.Option(
        [], "--place", help="Where a stream is, STREAM=PLACE (repeatable): cam1=entrance."
    ),
    media: Path | None = typer.Option(
        None, "--media", help="A pipeline YAML whose video inputs give /frames thumbnails."
    ),
    tz: str = typer.Option("UTC", "--tz", help="The site's time zone for /ask (IANA name)."),
    follow: str | None = typer.Option(
        None,
        "--follow",
        help="Kafka bootstrap, kafka://HOST:PORT: serve each --collection as a replica of its "
        "embeddings topic (senri.vectors.NAME) that a worker's collection output fills.",
    ),
    collections: list[str] = typer.Option(
        [], "--collection", help="An image collection to follow with --follow (repeatable)."
    ),
    device: str = typer.Option("cpu", "--device", help=SEARCH_DEVICE_HELP),
) -> None:
    """Serve the HTTP API with uvicorn: /similar, /faces/search, /events, /ask, /vqa, /frames.

    With --follow, each --collection is a replica that keeps up with its Kafka topic in the
    background; /healthz reports its items and lag.
    """
    try:
        import uvicorn
    except ImportError:
        _fail("`senri serve` needs uvicorn: pip install uvicorn fastapi python-multipart")
        return
    from senri.api.app import Limits, create_app
    from senri.ask.cli import parse_places
    from senri.ask.engine import time_zone
    from senri.indexes.vectors.placement import search_engine

    try:
        where = search_device(device)
    except ValueError as exc:
        _fail(str(exc), 2)
        return
    try:
        search_engine(where)  # a GPU that is not there fails now, not at the first request
    except SenriError as exc:
        _fail(str(exc))
        return
    try:
        places = parse_places(place)
        time_zone(tz)
        index = None
        if media is not None:
            from senri.ask.frame import MediaIndex

            index = MediaIndex.from_pipeline(media)
    except (SenriError, ValueError, OSError) as exc:
        _fail(str(exc), 2)
        return
    if collections and follow is None:
        _fail("--collection names a collection to follow: give --follow kafka://HOST:PORT", 2)
    replicas = _replicas(follow, collections, where) if follow else {}
    app = create_app(
        limits=Limits(max_bytes=max_bytes, max_pixels=max_pixels),
        store=store or None,
        places=places,
        media=index,
        tz=tz,
        replicas=replicas,
        device=where,
    )
    try:
        uvicorn.run(app, host=host, port=port)
    finally:
        for replica in replicas.values():
            replica.snapshot()
            replica.close()


def _replicas(follow: str, names: list[str], device: Device) -> dict[str, Any]:
    """A started replica per collection under ``$SENRI_HOME/replicas/NAME``; exits on error."""
    from senri import config
    from senri.connectors.kafka import parse_bus, vectors_topic
    from senri.indexes.vectors.collections import collection_path
    from senri.indexes.vectors.replica import VectorReplica, ensure_vector_topic
    from senri.operators.embed import DIM

    replicas: dict[str, Any] = {}
    try:
        bootstrap = parse_bus(follow)
        for name in names:
            collection_path(name)  # a bad name is refused before anything is made
            folder = config.home() / "replicas" / name
            ensure_vector_topic(bootstrap, vectors_topic(name))
            replica = VectorReplica(bootstrap, vectors_topic(name), folder, DIM, device=device)
            replica.start(snapshot_every_s=60.0)
            replicas[name] = replica
    except Exception as exc:
        for replica in replicas.values():
            replica.close()
        _fail(f"cannot follow {follow}: {exc}", 1)
    return replicas
