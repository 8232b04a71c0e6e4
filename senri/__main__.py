"""`python -m senri` runs the CLI."""

from senri.cli import main

main()
