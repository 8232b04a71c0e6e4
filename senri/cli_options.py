"""Help texts and exit statuses that several commands share, written once.

Help renders as Markdown (``rich_markup_mode="markdown"``, set on every Typer app): paragraphs
reflow to the terminal, and ``<word>`` would vanish as an HTML tag, so placeholders are
written in capitals (tests/unit/test_cli_help.py renders every help text and checks that each
word survives).
"""

from __future__ import annotations

BUS_HELP = "Kafka bootstrap, kafka://HOST:PORT (default: $SENRI_KAFKA or localhost:9092)."
STORE_URL = "sqlite:PATH or elasticsearch://HOST:PORT[/INDEX]"
STORE_HELP = f"Event store: {STORE_URL}."

DEAD_LETTER_EXIT = 3
"""The exit status of `senri run` and `senri ingest` when they finished but dead-lettered input
(a file that could not be read, a corrupt frame, an item an operator failed on). 1 is an error
that stopped the command, 2 a usage error."""
ALLOW_DEAD_LETTERS_HELP = (
    f"Exit 0 even if items went to the dead letters (default: exit {DEAD_LETTER_EXIT})."
)
