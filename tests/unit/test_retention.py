"""`senri retention apply`: events older than an age go, after a dry run; nothing else does."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from senri.cli import app
from senri.indexes.events.query import Query
from senri.indexes.events.retention import parse_age, plan_retention
from senri.indexes.events.sqlite import SqliteEventStore
from senri.indexes.events.store import MemoryEventStore
from senri.records import Event

pytestmark = pytest.mark.unit
DAY = 86_400.0


def archive(path: Path) -> str:
    """Two cameras and a microphone: events 40, 20 and 1 days old."""
    now = time.time()
    store = SqliteEventStore(path)
    store.put(
        [
            Event(f"{stream}-{age}", stream, now - age * DAY, kind, "x")
            for stream, kind in (("cam1", "object"), ("cam2", "object"), ("mic1", "sound"))
            for age in (40, 20, 1)
        ]
    )
    store.close()
    return f"sqlite:{path}"


def remaining(url: str) -> list[str]:
    store = SqliteEventStore(url.removeprefix("sqlite:"))
    try:
        return sorted(e.id for e in store.search(Query()))
    finally:
        store.close()


@pytest.mark.parametrize(
    ("text", "seconds"), [("30d", 30 * DAY), ("12h", 43_200), ("2w", 14 * DAY), ("90m", 5400)]
)
def test_ages_parse(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["30", "d", "-1d", "30 days", "0.5s"])
def test_bad_ages_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="age"):
        parse_age(text)


def test_dry_run_then_delete(tmp_path: Path) -> None:
    url = archive(tmp_path / "events.sqlite")
    runner = CliRunner()
    looked = runner.invoke(app, ["retention", "apply", "--store", url, "--older-than", "30d",
                                 "--dry-run"])  # fmt: skip
    assert looked.exit_code == 0, looked.output
    assert ": 3 of 9" in looked.output and "stream cam1: 1" in looked.output
    assert "kind object: 2" in looked.output and "dry run: nothing deleted" in looked.output
    assert len(remaining(url)) == 9
    unasked = runner.invoke(app, ["retention", "apply", "--store", url, "--older-than", "30d"])
    assert unasked.exit_code == 2 and "--yes" in unasked.output and len(remaining(url)) == 9
    done = runner.invoke(app, ["retention", "apply", "--store", url, "--older-than", "30d", "-y"])
    assert done.exit_code == 0 and "deleted 3 events" in done.output and "6 kept" in done.output
    assert all(not i.endswith("-40") for i in remaining(url)) and len(remaining(url)) == 6
    only = runner.invoke(app, ["retention", "apply", "--store", url, "--older-than", "10d",
                               "--stream", "mic1", "--yes"])  # fmt: skip
    assert only.exit_code == 0 and "deleted 1 events" in only.output
    assert remaining(url) == ["cam1-1", "cam1-20", "cam2-1", "cam2-20", "mic1-1"]
    again = runner.invoke(app, ["retention", "apply", "--store", url, "--older-than", "30d"])
    assert again.exit_code == 0 and "nothing to delete" in again.output


def test_bad_options_and_missing_stores(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["retention", "apply", "--store", "sqlite:x", "--older-than", "soon"])
    assert bad.exit_code == 2 and "a number and a unit" in bad.output
    none = f"sqlite:{tmp_path / 'none.sqlite'}"
    missing = runner.invoke(app, ["retention", "apply", "--store", none, "--older-than", "1d"])
    assert missing.exit_code == 1 and "no event store" in missing.output
    assert not (tmp_path / "none.sqlite").exists()  # looking created nothing


def test_the_plan_counts_what_deleting_removes() -> None:
    store = MemoryEventStore()
    store.put([Event(f"e{i}", "cam1", 1000.0 + i, "object", "car") for i in range(10)])
    plan = plan_retention(store, older_than_s=5, now=1010.0)  # cutoff 1005: e0..e4
    assert (plan.total, plan.kept, plan.by_stream, plan.by_kind) == (5, 5, {"cam1": 5},
                                                                      {"object": 5})  # fmt: skip
    assert store.delete_matching(plan.filter) == 5 and store.count() == 5
