"""`senri eval ask`: answer the held-out questions over the generated archive and print figures.

The main CLI mounts `eval_app` as ``senri eval``. Heavy pieces (the asker, the store backends)
are imported only when the command runs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

eval_app = typer.Typer(
    rich_markup_mode="markdown", help="Benchmarks that print their figures.", no_args_is_help=True
)


@eval_app.callback()
def _group() -> None:
    # A callback keeps `eval_app` a group even with one command, so `ask` stays a subcommand.
    pass


def _open(url: str | None, workdir: str) -> Any:
    if url is None:
        from senri.indexes.events.sqlite import SqliteEventStore

        return SqliteEventStore(Path(workdir) / "ask-archive.sqlite")
    from senri.indexes.events.stores import open_store

    return open_store(url)


@eval_app.command("ask")
def ask(
    seed: int = typer.Option(7, help="Seed of the generated archive."),
    store: str | None = typer.Option(
        None,
        help="Store to fill and ask: sqlite:PATH or elasticsearch://HOST:PORT/INDEX "
        "(default: a temporary SQLite store).",
    ),
    questions: Path | None = typer.Option(
        None, "--questions", help="Questions jsonl (default: the packaged benchmark)."
    ),
    json_path: Path | None = typer.Option(
        None, "--json", help="Write per-question results to this JSON file."
    ),
    limit: int | None = typer.Option(None, min=1, help="Ask only the first N questions."),
    clear: bool = typer.Option(False, help="Clear the store before filling it."),
    asker: str = typer.Option(
        "senri.ask.engine:Asker",
        help="Asker factory module:attribute, called as f(store, now=..., places=...).",
    ),
) -> None:
    """Ask the benchmark questions and print VQA accuracy, latency and refusals."""
    from senri.evaluation.ask import bench
    from senri.worlds import archive as arc

    console = Console()
    items = bench.load_questions(questions)[:limit]
    data = arc.generate(seed)
    try:
        factory = bench.load_factory(asker)
    except (ImportError, AttributeError, ValueError) as exc:
        console.print(f"[red]error:[/red] cannot load asker {asker!r}: {exc}")
        raise typer.Exit(1) from exc
    with tempfile.TemporaryDirectory(prefix="senri-ask-") as workdir:
        target = _open(store, workdir)
        try:
            if clear:
                target.clear()
            written = arc.store_archive(data, target)
            console.print(f"archive: {written} events (seed {seed}); {len(items)} questions")
            columns = (
                TextColumn("answering"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console, transient=True) as progress:
                task = progress.add_task("answering", total=len(items))
                report = bench.run(
                    items, data, target, factory, on_result=lambda _: progress.advance(task)
                )
        finally:
            target.close()
    for line in report.lines():
        console.print(line, highlight=False)
    if json_path is not None:
        bench.write_results(report, json_path)
        console.print(f"results written to {json_path}")
