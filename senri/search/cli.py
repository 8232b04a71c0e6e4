"""CLI for similar-by-image: ``senri index images|faces``, ``senri similar|faces|serve``.

Mount them on the main app with `mount` (or one by one)::

    from senri.search import cli as similar_cli
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

from senri.cli_options import SEARCH_DEVICE
from senri.device import Device
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
    from senri.indexes.vectors.collections import collection_path
    from senri.search.similar import index_folder

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
    from senri.search.faces import face_collection, index_faces

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
    from senri.search.faces import face_collection, search_faces

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
    device: Device = SEARCH_DEVICE,
) -> None:
    """The images of a collection that look most like IMAGE, with same-product flags."""
    import json

    from senri.operators.embed import decode_image
    from senri.search.similar import SimilarIndex

    where = device
    try:
        rgb = decode_image(image.read_bytes())
        index = SimilarIndex.open(collection, device=where)
        hits = index.search(rgb, k=k, same_only=same_only)
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


def mount(app: typer.Typer) -> None:
    """Add ``index images|faces``, ``similar`` and ``faces`` to the `senri` app."""
    app.add_typer(index_app, name="index")
    app.command("similar")(similar)
    app.command("faces")(faces_search)
