"""`senri services up|down|status|reset`: real Kafka and Elasticsearch on localhost, no Docker.

Mounted by the main CLI as `senri services`, and runnable on its own as
`python -m senri.services ...` so scripts can start the servers before senri is installed
as a command.
"""

from __future__ import annotations

from enum import StrEnum

import typer
from rich.console import Console
from rich.table import Table

from senri.services import manager
from senri.services.settings import ServiceError, cache_dir, home_dir

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Start, check and stop local Kafka (KRaft) and Elasticsearch 8 from Maven Central jars.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


class Only(StrEnum):
    """The services `--only` accepts."""

    kafka = "kafka"
    elasticsearch = "elasticsearch"


_ONLY = typer.Option(None, "--only", help="Act on one service instead of both.")


def _fail(error: ServiceError) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {error}", markup=True, highlight=False)
    return typer.Exit(1)


def _say(text: str) -> None:
    console.print(text, highlight=False)


@app.command()
def up(
    only: Only | None = _ONLY,
    timeout: float = typer.Option(
        manager.DEFAULT_TIMEOUT, "--timeout", help="Seconds to wait for health."
    ),
) -> None:
    """Start the services that are not running and wait until all answer (idempotent)."""
    try:
        outcomes = manager.up(only.value if only else None, timeout=timeout, say=_say)
    except ServiceError as error:
        raise _fail(error) from None
    for outcome in outcomes:
        took = f" in {outcome.seconds:.1f}s" if outcome.action in ("started", "waited for") else ""
        pid = f" pid {outcome.pid}" if outcome.pid else ""
        console.print(
            f"[green]{outcome.name}[/]: {outcome.action}{took}{pid} — {outcome.detail}",
            highlight=False,
        )


@app.command()
def down(only: Only | None = _ONLY) -> None:
    """Stop the services senri started (SIGTERM, then SIGKILL after a grace period)."""
    try:
        manager.down(only.value if only else None, say=_say)
    except ServiceError as error:
        raise _fail(error) from None


@app.command()
def status(only: Only | None = _ONLY) -> None:
    """Show whether each service runs, answers, and where its data and logs are."""
    try:
        rows = manager.status(only.value if only else None)
    except ServiceError as error:
        raise _fail(error) from None
    table = Table(title=f"senri services (state in {home_dir() / 'services'})")
    for column in ("service", "state", "pid", "address", "uptime", "detail"):
        table.add_column(column)
    colours = {"healthy": "green", "external": "cyan", "starting": "yellow", "stopped": "dim"}
    for row in rows:
        colour = colours.get(row.state, "red")
        uptime = f"{row.uptime:.0f}s" if row.uptime is not None else "-"
        table.add_row(
            row.name,
            f"[{colour}]{row.state}[/]",
            str(row.pid or "-"),
            row.address,
            uptime,
            row.detail,
        )
    console.print(table)
    console.print(f"jars cached in {cache_dir() / 'services'}", style="dim", highlight=False)


@app.command()
def reset(only: Only | None = _ONLY) -> None:
    """Stop the services if running and delete their data (topics, indices); logs are kept."""
    try:
        manager.reset(only.value if only else None, say=_say)
    except ServiceError as error:
        raise _fail(error) from None
