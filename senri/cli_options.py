"""Help texts and exit statuses that several commands share, written once.

Help renders as Markdown (``rich_markup_mode="markdown"``, set on every Typer app): paragraphs
reflow to the terminal, and ``<word>`` would vanish as an HTML tag, so placeholders are
written in capitals (tests/unit/test_cli_help.py renders every help text and checks that each
word survives).
"""

from __future__ import annotations

import re

import typer
from rich.console import Console
from rich.markup import escape

from senri.device import Device
from senri.indexes.events.stores import STORE_URL

BUS_HELP = "Kafka bootstrap, kafka://HOST:PORT (default: $SENRI_KAFKA or localhost:9092)."
STORE_HELP = f"Event store: {STORE_URL}."
SEARCH_DEVICE_HELP = (
    "Where vector search runs: cpu, cuda or cuda:N. On a GPU it uses GPU FAISS when installed, "
    "else an exact search with a CUDA torch, and fails if neither sees that GPU."
)


def search_device(text: str | Device) -> Device:
    """The `Device` of a ``--device`` option for vector search: ``cpu``, ``cuda`` or ``cuda:N``
    (no ``auto``: whether a search runs on a GPU is said, not guessed); `ValueError` if not."""
    if isinstance(text, Device):
        return text
    if not re.fullmatch(r"cpu|cuda(:[0-9]+)?", text):
        raise ValueError(f"bad --device {text!r}: use cpu, cuda or cuda:N")
    return Device.parse(text)


def _device_option(text: str | Device) -> Device:
    try:
        return search_device(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


SEARCH_DEVICE = typer.Option(
    "cpu", "--device", help=SEARCH_DEVICE_HELP, parser=_device_option, metavar="cpu|cuda|cuda:N"
)
"""The ``--device`` option of the commands that search collections; a bad value is a usage
error (exit 2) that names what is accepted."""


DEAD_LETTER_EXIT = 3
"""The exit status of `senri run` and `senri ingest` when they finished but dead-lettered input
(a file that could not be read, a corrupt frame, an item an operator failed on). 1 is an error
that stopped the command, 2 a usage error."""
ALLOW_DEAD_LETTERS = typer.Option(
    False,
    "--allow-dead-letters",
    help=f"Exit 0 even if items went to the dead letters (default: exit {DEAD_LETTER_EXIT}).",
)


def exit_on_dead_letters(count: int, where: str, allowed: bool, console: Console) -> None:
    """Exit with `DEAD_LETTER_EXIT` when `count` items went to `where`, unless `allowed`."""
    if count and not allowed:
        console.print(
            f"[yellow]{count} dead letter(s)[/] in {escape(where)}, each with its reason "
            f"(exit {DEAD_LETTER_EXIT}; --allow-dead-letters exits 0)"
        )
        raise typer.Exit(DEAD_LETTER_EXIT)
