"""CLI for similar-by-image: ``senri index images|faces``, ``senri similar|faces|serve``.

Mount them on the main app with `mount` (or one by one)::

    from senri.query import cli as similar_cli
    similar_cli.mount(app)   # adds the `index` group, `similar` and `serve`
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from senri.cli_options import STORE_URL
from senri.errors import SenriError

index_app = typer.Typer(
    rich_markup_mode="markdown", help="Build search collections from media.", no_args_is_help=True
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@index_app.command("images")
def index_images(
    folder: Path = typer.Argument(..., help="Folder of images (searched recursively)."),
    collection: str = typer.Option(..., "--collection", "-c", help="Collection name."),
    batch: int = typer.Option(16, min=1, max=256, help="Images per model batch."),
) -> None:
    """Embed and hash every image under FOLDER into a collection (ids: relative paths)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from senri.connectors.images import ImageFolderSource
    from senri.indexes.collections import collection_path
    from senri.query.similar import index_folder

    stop = threading.Event()

    def follow(runtime: Any) -> None:  # the images the embed node has taken, every 0.2 s
        def watch() -> None:
            while not stop.wait(0.2):
                taken = runtime.metrics.value("senri_items_in_total", "embed")
                progress.update(task, completed=taken)

        threading.Thread(target=watch, daemon=True).start()

    try:
        total = len(ImageFolderSource(folder, collection).paths())
        with Progress(
            *Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=err, transient=True,
        ) as progress:  # fmt: skip
            task = progress.add_task(f"indexing into {collection}", total=total)
            try:
                done, problems = index_folder(folder, collection, batch=batch, on_start=follow)
            finally:
                stop.set()
    except (SenriError, ValueError) as exc:
        _fail(str(exc))
        return
    for problem in problems:
        err.print(f"[yellow]skipped:[/] {escape(problem)}")
    console.print(f"indexed {done} images into {collection!r} at {collection_path(collection)}")


@index_app.command("faces")
def index_faces_cmd(
    folder: Path = typer.Argument(..., help="Folder of images (searched recursively)."),
    collection: str = typer.Option(..., "--collection", "-c", help="Collection name."),
) -> None:
    """Detect and describe every face under FOLDER into a face collection (ids: path#n)."""
    from senri.query.faces import face_collection, index_faces

    try:
        faces = face_collection(collection, create=True)
        with console.status(f"indexing faces into {collection}"):
            done, problems = index_faces(folder, faces)
        path = faces.save()
    except (SenriError, ValueError) as exc:
        _fail(str(exc))
        return
    for problem in problems:
        err.print(f"[yellow]skipped:[/] {escape(problem)}")
    console.print(f"indexed {done} faces into {collection!r} at {path}")


def faces_search(
    image: Path = typer.Argument(..., help="A photo with one or more faces."),
    collection: str = typer.Option(..., "--collection", "-c", help="Face collection name."),
    k: int = typer.Option(5, "-k", min=1, max=1000, help="How many matches per face."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """For each face in IMAGE, the most similar indexed faces (same_person above 0.5)."""
    import json

    from senri.operators.embed import decode_image
    from senri.query.faces import face_collection, search_faces

    try:
        rgb = decode_image(image.read_bytes())
        matches = search_faces(rgb, face_collection(collection), k=k)
    except OSError as exc:
        _fail(f"cannot read {image}: {exc.strerror or exc}")
        return
    except (SenriError, ValueError) as exc:
        _fail(str(exc))
        return
    rows = [m.as_dict() for m in matches]
    if as_json or not rows:
        console.print_json(json.dumps(rows))
        return
    for n, face in enumerate(rows, 1):
        console.print(f"face {n}: {escape(json.dumps(face, default=str))}")


def similar(
    image: Path = typer.Argument(..., help="The query image."),
    collection: str = typer.Option(..., "--collection", "-c", help="Collection name."),
    k: int = typer.Option(5, "-k", min=1, max=1000, help="How many hits."),
    same_only: bool = typer.Option(
        False, "--same-only", help="Only near-duplicates (perceptual hash within the threshold)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The images of a collection that look most like IMAGE, with same-product flags."""
    import json

    from senri.operators.embed import decode_image
    from senri.query.similar import SimilarIndex

    try:
        rgb = decode_image(image.read_bytes())
        hits = SimilarIndex.open(collection).search(rgb, k=k, same_only=same_only)
    except OSError as exc:
        _fail(f"cannot read {image}: {exc.strerror or exc}")
        return
    except (SenriError, ValueError) as exc:
        _fail(str(exc))
        return
    if as_json:
        console.print_json(json.dumps([h.as_dict() for h in hits]))
        return
    table = Table("rank", "id", "score", "hash dist", "same", "category")
    for rank, h in enumerate(hits, 1):
        table.add_row(
            str(rank), escape(h.id), f"{h.score:.3f}", str(h.distance),
            "yes" if h.same_product else "", escape(str(h.metadata.get("category", ""))),
        )  # fmt: skip
    console.print(table)


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
    replicas = _replicas(follow, collections) if follow else {}
    app = create_app(
        limits=Limits(max_bytes=max_bytes, max_pixels=max_pixels),
        store=store or None,
        places=places,
        media=index,
        tz=tz,
        replicas=replicas,
    )
    try:
        uvicorn.run(app, host=host, port=port)
    finally:
        for replica in replicas.values():
            replica.snapshot()
            replica.close()


def _replicas(follow: str, names: list[str]) -> dict[str, Any]:
    """A started replica per collection under ``$SENRI_HOME/replicas/NAME``; exits on error."""
    from senri import config
    from senri.connectors.kafka import parse_bus, vectors_topic
    from senri.indexes.collections import collection_path
    from senri.indexes.vector_replica import VectorReplica, ensure_vector_topic
    from senri.operators.embed import DIM

    replicas: dict[str, Any] = {}
    try:
        bootstrap = parse_bus(follow)
        for name in names:
            collection_path(name)  # a bad name is refused before anything is made
            folder = config.home() / "replicas" / name
            ensure_vector_topic(bootstrap, vectors_topic(name))
            replica = VectorReplica(bootstrap, vectors_topic(name), folder, DIM)
            replica.start(snapshot_every_s=60.0)
            replicas[name] = replica
    except Exception as exc:
        for replica in replicas.values():
            replica.close()
        _fail(f"cannot follow {follow}: {exc}", 1)
    return replicas


def mount(app: typer.Typer) -> None:
    """Add ``index images|faces``, ``similar``, ``faces`` and ``serve`` to the `senri` app."""
    app.add_typer(index_app, name="index")
    app.command("similar")(similar)
    app.command("serve")(serve)
    app.command("faces")(faces_search)
