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
    seed: int = typer.Option(7, help="Seed of the generated archive and worlds."),
    archive: str = typer.Option(
        "all",
        "--archive",
        help="Which archive to question: archive (the generated four days), demo (the shapes "
        "world), street (the street world) or all. The worlds are generated and run through "
        "their pipelines first, as `senri demo` does.",
    ),
    store: str | None = typer.Option(
        None,
        help="Store to fill with the generated archive and ask: sqlite:PATH or "
        "elasticsearch://HOST:PORT/INDEX (default: a temporary SQLite store).",
    ),
    questions: Path | None = typer.Option(
        None, "--questions", help="Questions jsonl (default: both packaged question files)."
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
    """Ask the benchmark questions; print VQA accuracy, latency and refusals per archive."""
    from senri.evaluation.ask import bench

    console = Console()
    chosen = bench.ARCHIVES if archive == "all" else (archive,)
    if any(a not in bench.ARCHIVES for a in chosen):
        console.print(f"[red]error:[/red] --archive {archive}: use all or one of {bench.ARCHIVES}")
        raise typer.Exit(2)
    try:
        items = bench.load_questions(questions)[:limit]
    except (OSError, ValueError) as exc:
        console.print(f"[red]error:[/red] cannot read the questions: {exc}")
        raise typer.Exit(1) from exc
    try:
        factory = bench.load_factory(asker)
    except (ImportError, AttributeError, ValueError) as exc:
        console.print(f"[red]error:[/red] cannot load asker {asker!r}: {exc}")
        raise typer.Exit(1) from exc
    reports: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="senri-ask-") as workdir:
        for name in chosen:
            mine = [q for q in items if q.archive == name]
            if mine:
                reports[name] = _question(name, mine, seed, store, clear, workdir, factory)
    for name, report in reports.items():
        console.print(f"\n[bold]{name}[/bold]")
        for line in report.lines():
            console.print(line, highlight=False)
    if len(reports) > 1:
        everything = bench.Report.of([r for rep in reports.values() for r in rep.results])
        console.print("\n[bold]all archives[/bold]")
        for line in everything.lines():
            console.print(line, highlight=False)
        console.print(_table(reports), highlight=False)
        report = everything
    else:
        (report,) = reports.values()
    if json_path is not None:
        bench.write_results(report, json_path)
        console.print(f"results written to {json_path}")


def _question(
    name: str,
    items: list[Any],
    seed: int,
    store: str | None,
    clear: bool,
    workdir: str,
    factory: Any,
) -> Any:
    """Ask `items` of archive `name`; the generated one goes into `store`, each world is run
    through its pipeline into its own SQLite store."""
    from senri.evaluation.ask import bench

    console = Console()
    if name == "archive":
        from senri.worlds import archive as arc

        data = arc.generate(seed)
        target = _open(store, workdir)
        if clear:
            target.clear()
        written = arc.store_archive(data, target)
        console.print(f"archive: {written} events (seed {seed}); {len(items)} questions")
    else:
        from senri.evaluation.ask.worlds import media_archive
        from senri.indexes.events.sqlite import SqliteEventStore

        with console.status(f"running the {name} world's pipeline"):
            data, path = media_archive(name, Path(workdir) / name, seed=seed)
        target = SqliteEventStore(path)
        console.print(f"{name}: the pipeline's archive of seed {seed}; {len(items)} questions")
    try:
        columns = (TextColumn("answering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("answering", total=len(items))
            return bench.run(
                items, data, target, factory, on_result=lambda _: progress.advance(task)
            )
    finally:
        target.close()


def _table(reports: dict[str, Any]) -> str:
    """Accuracy per type (rows) and archive (columns)."""
    from senri.evaluation.ask.bench import TYPES

    names = list(reports)
    lines = [f"{'type':<9} " + " ".join(f"{n:>9}" for n in names)]
    for t in TYPES:
        cells = []
        for n in names:
            got = reports[n].by_type.get(t)
            cells.append(f"{got[0]:>5.3f} ({got[1]:>2})" if got else f"{'-':>9}")
        lines.append(f"{t:<9} " + " ".join(cells))
    lines.append(f"{'all':<9} " + " ".join(f"{reports[n].accuracy:>9.3f}" for n in names))
    return "\n".join(lines)
