"""``senri ask``: a question over the archive, or about one picture, from the command line.

Mount with `mount(app)`, which also adds ``senri search`` and ``senri eval ask``. Exit codes:
0 answered (a refusal is an answer: it says why), 2 a bad option, 1 a store or model problem.

Example:
    senri ask "how many red cars passed camera 3 after 10 am?" --store sqlite:events.sqlite
    senri ask "what colour is the car?" --image frame.jpg
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from senri.cli_options import STORE_HELP
from senri.errors import QueryError, SenriError

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def parse_places(items: list[str]) -> dict[str, str]:
    """``cam1=entrance`` options → {stream: place}."""
    places: dict[str, str] = {}
    for item in items:
        stream, sep, place = item.partition("=")
        if not sep or not stream.strip() or not place.strip():
            raise QueryError(f"--place {item!r}: use STREAM=PLACE, like cam1=entrance")
        places[stream.strip()] = place.strip()
    return places


def _print(answer: Any, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(answer.to_dict(), default=str))
        return
    style = "yellow" if answer.refused else "bold"
    console.print(f"[{style}]{escape(answer.text)}[/]")
    console.print(
        f"short: {escape(answer.short)}   type: {answer.type}   "
        f"confidence: {answer.confidence:.2f}   {answer.seconds * 1000:.0f} ms"
    )
    if answer.evidence:
        from senri.search.events import iso

        table = Table("time", "stream", "kind", "label", "track", "text / attributes", "thumbnail")
        for e in answer.evidence:
            detail = e.text or ", ".join(
                f"{k}={v}" for k, v in e.attributes.items() if v not in (False, "", None)
            )
            table.add_row(
                iso(e.time), escape(e.stream_id), e.kind, escape(e.label),
                "" if e.track_id is None else str(e.track_id), escape(detail[:80]),
                escape(e.thumbnail or ""),
            )  # fmt: skip
        console.print(table)


def ask(
    question: str = typer.Argument(..., help="The question, in quotes."),
    store: str = typer.Option("sqlite:events.sqlite", help=STORE_HELP),
    now: str = typer.Option(
        "",
        help="The archive's clock for 'yesterday' or 'the last hour' (ISO 8601 or epoch "
        "seconds, UTC); default: the latest event in the store.",
    ),
    place: list[str] = typer.Option(
        [], "--place", help="Where a stream is, STREAM=PLACE (repeatable): cam1=entrance."
    ),
    tz: str = typer.Option(
        "UTC", "--tz", help="The site's time zone (IANA name): what 'yesterday' and '10 am' mean."
    ),
    image: Path | None = typer.Option(
        None, "--image", help="Ask about this picture instead (the vision models describe it)."
    ),
    media: Path | None = typer.Option(
        None, "--media", help="A pipeline YAML whose video inputs the evidence came from."
    ),
    thumbnails: Path | None = typer.Option(
        None, "--thumbnails", help="Write a JPEG of each piece of evidence here (needs --media)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the whole answer as JSON."),
) -> None:
    """Answer QUESTION from the event archive (or about one --image), with its evidence."""
    from senri.ask.occurrence import time_zone
    from senri.ask.vocab import TextEmbedder, Vocabulary
    from senri.search.events import parse_time

    try:
        places = parse_places(place)
        clock = parse_time("--now", now) if now else None
        zone = time_zone(tz)
        if thumbnails is not None and media is None:
            raise QueryError("--thumbnails needs --media PIPELINE.yaml to find the videos")
    except QueryError as exc:
        _fail(str(exc), 2)
        return
    try:
        with err.status("loading the text model"):
            vocab = Vocabulary(TextEmbedder.load(fetch=True))
        if image is not None:
            from senri.ask.vqa import FrameQA
            from senri.operators.embed import decode_image

            try:
                rgb = decode_image(image.read_bytes())
            except OSError as exc:
                _fail(f"cannot read {image}: {exc.strerror or exc}", 2)
                return
            with err.status("describing the picture"):
                answer = FrameQA(vocab).ask_image(question, rgb)
        else:
            from senri.ask.engine import Asker
            from senri.search.events_cli import open_archive

            asker = Asker(open_archive(store), now=clock, places=places, vocab=vocab, tz=zone)
            answer = asker.ask(question)
        if media is not None and thumbnails is not None:
            from senri.ask.frame import MediaIndex

            answer = write_thumbnails(answer, MediaIndex.from_pipeline(media), thumbnails)
    except (SenriError, ValueError, OSError) as exc:
        _fail(str(exc), 1)
        return
    _print(answer, as_json)


def write_thumbnails(answer: Any, media: Any, folder: Path) -> Any:
    """Cut a JPEG of each piece of evidence (its box drawn) into `folder`; paths go in the answer.

    Evidence from streams the media index has no video for keeps no thumbnail."""
    from dataclasses import replace

    from senri.ask.frame import FrameNotFoundError

    folder.mkdir(parents=True, exist_ok=True)
    evidence = []
    for n, e in enumerate(answer.evidence, 1):
        if e.stream_id not in media:
            evidence.append(e)
            continue
        try:
            jpeg = media.thumbnail(e.stream_id, e.time, bbox=e.bbox)
        except FrameNotFoundError as exc:
            err.print(f"[yellow]no thumbnail:[/] {escape(str(exc))}")
            evidence.append(e)
            continue
        path = folder / f"{n:02d}-{e.stream_id}-{e.time:.2f}.jpg"
        path.write_bytes(jpeg)
        evidence.append(replace(e, thumbnail=str(path)))
    return replace(answer, evidence=tuple(evidence))


def mount(app: typer.Typer) -> None:
    """Add ``ask`` and ``search`` to the `senri` app."""
    from senri.search.events_cli import search

    app.command("ask")(ask)
    app.command("search")(search)
