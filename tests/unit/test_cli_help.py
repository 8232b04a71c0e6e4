"""Every `senri ... --help` in the command tree renders, and every help text reads as written.

Typer rendered help as Rich markup, so ``HOST:PORT[/INDEX]`` crashed four commands' help and
``senri[train]`` silently lost its ``[train]``; it now renders Markdown, where ``<name>`` would
vanish as an HTML tag. The tree is walked, not listed by hand, so a new
command is covered the day it is added.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import click
import pytest
import typer.main
from rich.console import Console
from typer.rich_utils import _make_rich_text
from typer.testing import CliRunner

from senri.cli import app

pytestmark = pytest.mark.unit


def _walk(
    cmd: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, cmd
    for name, sub in sorted((getattr(cmd, "commands", None) or {}).items()):
        yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(typer.main.get_command(app)))


def test_the_walk_finds_the_whole_tree() -> None:
    paths = {" ".join(p) for p, _ in COMMANDS}
    expected = {"", "demo", "run", "worker", "ask", "search", "serve", "models fetch"}
    expected |= {"services up", "ingest video", "ingest audio", "eval ask", "index images"}
    assert expected <= paths
    assert len(paths) >= 30


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(("senri", *p)) for p, _ in COMMANDS]
)
def test_help_renders(path: tuple[str, ...], command: click.Command) -> None:
    assert getattr(command, "rich_markup_mode", None) == "markdown", "Typer(rich_markup_mode=...)"
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "Usage:" in result.output
    options = [p for p in command.params if p.param_type_name == "option"]  # typer's own click
    if path == ("run",):
        assert options, "the walk sees no options: the check below would pass vacuously"
    for param in options:
        if not getattr(param, "hidden", False):
            assert param.opts[0] in result.output, f"{param.opts[0]} missing from the help"


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(("senri", *p)) for p, _ in COMMANDS]
)
def test_help_texts_read_as_written(path: tuple[str, ...], command: click.Command) -> None:
    """Every word of every help text survives rendering (Markdown would drop ``<name>``)."""
    texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
    console = Console(width=300, record=True, file=io.StringIO())
    for text in texts:
        console.print(_make_rich_text(text=text, markup_mode="markdown"))
        assert _words(console.export_text()) == _words(text), text
