"""``senri retention apply``: delete archived events older than an age, after a dry run.

The same command serves a SQLite archive and an Elasticsearch index
(`senri.indexes.events.retention`). It always shows what it would delete first; `--dry-run`
stops there, otherwise it asks (or takes `--yes`, for cron jobs and Kubernetes CronJobs).
Exit status: 0 done (or nothing to do), 1 the store could not be opened or failed, 2 a bad
option, or a refusal to delete without `--yes` when nobody can be asked.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.markup import escape

from senri.cli_options import STORE_HELP
from senri.errors import SenriError

retention_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Delete archived events older than an age, on SQLite or Elasticsearch.",
    no_args_is_help=True,
)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@retention_app.command("apply")
def apply(
    store: str = typer.Option(..., "--store", help=STORE_HELP),
    older_than: str = typer.Option(
        ..., "--older-than", help="Age of the events to delete: 30d, 12h, 2w, 90m, 3600s."
    ),
    stream: list[str] = typer.Option(
        [], "--stream", "-s", help="Only these streams (repeatable; default all)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would be deleted, and delete nothing."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking."),
) -> None:
    """Delete events whose time is before now minus --older-than.

    Prints the cutoff and how many events each stream and kind would lose, then deletes once
    confirmed. Videos, collections and snapshots are not events and are kept.
    """
    from senri.indexes.events.retention import apply_retention, parse_age, plan_retention
    from senri.indexes.events.stores import open_store

    try:
        age = parse_age(older_than)
    except ValueError as exc:
        _fail(str(exc), 2)
    try:
        archive = open_store(store, must_exist=True)
    except SenriError as exc:
        _fail(str(exc), 1)
    try:
        plan = plan_retention(archive, older_than_s=age, streams=stream or None)
        when = datetime.fromtimestamp(plan.cutoff, UTC).isoformat(timespec="seconds")
        typer.echo(f"events before {when}: {plan.total} of {plan.total + plan.kept}")
        for name, counts in (("stream", plan.by_stream), ("kind", plan.by_kind)):
            for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))):
                typer.echo(f"  {name} {key}: {n}")
        if plan.total == 0:
            typer.echo("nothing to delete")
            return
        if dry_run:
            typer.echo("dry run: nothing deleted")
            return
        if not yes:
            if not sys.stdin.isatty():
                _fail("not deleting without confirmation: add --yes (or --dry-run to look)", 2)
            if not typer.confirm(f"delete {plan.total} events?", default=False):
                typer.echo("nothing deleted")
                return
        removed = apply_retention(archive, plan)
        typer.echo(f"deleted {removed} events before {when}; {plan.kept} kept")
    except SenriError as exc:
        _fail(str(exc), 1)
    finally:
        archive.close()
