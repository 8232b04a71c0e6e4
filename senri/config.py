"""Where senri keeps its files, read from the environment each time (no import-time state).

- ``SENRI_HOME`` (default ``~/.senri``): models, sample world, run outputs, service state.
- ``SENRI_CACHE`` (default ``~/.cache/senri``): downloaded wheels and jars that can be refetched.
- ``SENRI_KAFKA`` and ``SENRI_ELASTICSEARCH``: where the services are when a command is not told.
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


DEFAULT_KAFKA = "localhost:9092"
DEFAULT_ELASTICSEARCH = "http://localhost:9200"


def kafka_bootstrap() -> str:
    """The Kafka bootstrap servers senri talks to: `$SENRI_KAFKA` or `localhost:9092`."""
    return os.environ.get("SENRI_KAFKA") or DEFAULT_KAFKA


def elasticsearch_url() -> str:
    """The Elasticsearch base URL senri talks to: `$SENRI_ELASTICSEARCH` or localhost:9200."""
    return (os.environ.get("SENRI_ELASTICSEARCH") or DEFAULT_ELASTICSEARCH).rstrip("/")
