"""Where senri keeps its files, read from the environment each time (no import-time state).

- ``SENRI_HOME`` (default ``~/.senri``): models, sample world, run outputs, service state.
- ``SENRI_CACHE`` (default ``~/.cache/senri``): downloaded wheels and jars that can be refetched.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """senri's data directory."""
    return Path(os.environ.get("SENRI_HOME") or Path.home() / ".senri").expanduser()


def cache() -> Path:
    """The download cache (wheels, jars); safe to delete."""
    return Path(os.environ.get("SENRI_CACHE") or Path.home() / ".cache" / "senri").expanduser()


def models_dir() -> Path:
    return home() / "models"
