"""``senri ask`` and ``senri eval ask`` through the main CLI, over a generated archive.

Expected answers are computed from the archive's truth (`senri.worlds.archive.generate(7)`);
the picture for ``--image`` is a street-world frame whose truth says what it shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import pytest
from typer.testing import CliRunner

from senri.ask.frame import MediaIndex
from senri.cli import app
from senri.indexes.events.sqlite import SqliteEventStore
from senri.worlds import archive as arc
from senri.worlds import street

pytestmark = pytest.mark.unit

runner = CliRunner()


def trucks_on(archive: arc.Archive, stream: str, day: int) -> int:
    """Truck tracks a camera saw on day `day` (0 = 24 Nov 2026)."""
    lo = arc.START + day * arc.DAY
    return sum(
        1
        for t in archive.truth.tracks
        if t.stream == stream and t.label == "truck" and lo <= t.start < lo + arc.DAY
    )


@pytest.fixture(scope="module")
def archive() -> arc.Archive:
    return arc.generate(7)


@pytest.fixture(scope="module")
def store_url(archive: arc.Archive, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ask-cli") / "archive.sqlite"
    store = SqliteEventStore(path)
    try:
        arc.store_archive(archive, store)
    finally:
        store.close()
    return f"sqlite:{path}"


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def clock(archive: arc.Archive) -> str:
    return str(archive.now)


def test_human_output_has_the_answer(store_url: str, archive: arc.Archive) -> None:
    q = "how many trucks on cam4 yesterday?"
    result = run("ask", q, "--store", store_url, "--now", clock(archive))
    assert result.exit_code == 0, result.output
    n = trucks_on(archive, "cam4", 2)
    assert f"{n} trucks" in result.output
    assert f"short: {n}" in result.output and "type: count" in result.output
    assert "cam4" in result.output  # the evidence table


def test_json_output_parses(store_url: str, archive: arc.Archive) -> None:
    q = "how many trucks on cam4 yesterday?"
    result = run("ask", q, "--store", store_url, "--now", clock(archive), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["short"] == str(trucks_on(archive, "cam4", 2))
    assert doc["type"] == "count" and doc["refused"] is False and doc["evidence"]


def test_now_changes_yesterday(store_url: str, archive: arc.Archive) -> None:
    answers = {}
    for now, day in (("2026-11-27T18:00:00Z", 2), ("2026-11-25T12:00:00+00:00", 0)):
        result = run(
            "ask",
            "how many trucks on cam4 yesterday?",
            "--store",
            store_url,
            "--now",
            now,
            "--json",
        )
        assert result.exit_code == 0, result.output
        answers[day] = json.loads(result.stdout)["short"]
        assert answers[day] == str(trucks_on(archive, "cam4", day))
    # seed 7 has different truck counts on 24 and 26 Nov, so the clock really moved
    assert trucks_on(archive, "cam4", 2) != trucks_on(archive, "cam4", 0)
    assert answers[0] != answers[2]


def test_place_option_names_a_stream(store_url: str, archive: arc.Archive) -> None:
    q = "how many people at the gatehouse yesterday?"
    with_place = run(
        "ask", q, "--store", store_url, "--now", clock(archive), "--json",
        "--place", "cam1=gatehouse", "--place", "cam4=loading dock",
    )  # fmt: skip
    assert with_place.exit_code == 0, with_place.output
    lo = arc.START + 2 * arc.DAY
    people = sum(
        1
        for t in archive.truth.tracks
        if t.stream == "cam1" and t.label == "person" and lo <= t.start < lo + arc.DAY
    )
    doc = json.loads(with_place.stdout)
    assert doc["short"] == str(people)
    assert {e["stream_id"] for e in doc["evidence"]} == {"cam1"}


def test_entrance_place(store_url: str, archive: arc.Archive) -> None:
    q = "how many people at the entrance yesterday?"
    result = run(
        "ask", q, "--store", store_url, "--now", clock(archive), "--json",
        "--place", "cam1=entrance",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lo = arc.START + 2 * arc.DAY
    people = sum(
        1
        for t in archive.truth.tracks
        if t.stream == "cam1" and t.label == "person" and lo <= t.start < lo + arc.DAY
    )
    assert json.loads(result.stdout)["short"] == str(people)


@pytest.mark.parametrize("bad", ["x", "=entrance", "cam1=", "cam1"])
def test_bad_place_exits_2(store_url: str, bad: str) -> None:
    result = run("ask", "how many cars?", "--store", store_url, "--place", bad)
    assert result.exit_code == 2, result.output
    assert "--place" in result.output


def test_bad_now_exits_2(store_url: str) -> None:
    result = run("ask", "how many cars?", "--store", store_url, "--now", "next tuesday-ish")
    assert result.exit_code == 2, result.output


def test_missing_store_exits_1(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sqlite"
    result = run("ask", "how many cars?", "--store", f"sqlite:{missing}")
    assert result.exit_code == 1, result.output
    assert "error" in result.output and "no event store" in result.output
    assert not missing.exists()  # asking never creates a store


def test_refusal_is_exit_0(store_url: str) -> None:
    result = run("ask", "what is the weather like?", "--store", store_url, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["refused"] is True and doc["short"] == "unanswerable"


def test_image_question(tmp_path: Path) -> None:
    w = street.generate(tmp_path / "street", seed=7)
    truth = street.load_truth(w.truth)
    full = {o["id"]: {r[0] for r in o["frames"] if r[5]} for o in truth["objects"]}
    people = [o for o in truth["objects"] if o["label"] == "person"]
    bikes = [o for o in truth["objects"] if o["label"] == "motorcycle"]
    i = next(
        sorted(full[p["id"]] & full[b["id"]])[len(full[p["id"]] & full[b["id"]]) // 2]
        for p in people
        for b in bikes
        if full[p["id"]] & full[b["id"]]
    )
    media = MediaIndex({street.STREAM_ID: (w.video, truth["start_time"])})
    rgb, _ = media.frame(street.STREAM_ID, truth["start_time"] + i / truth["fps"])
    picture = tmp_path / "frame.png"
    assert cv2.imwrite(str(picture), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    result = run("ask", "is there a motorcycle?", "--image", str(picture), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["short"] == "yes"
    in_frame = [o for o in people if any(r[0] == i for r in o["frames"])]
    result = run("ask", "how many people are there?", "--image", str(picture))
    assert result.exit_code == 0, result.output
    assert f"short: {len(in_frame)}" in result.output
    # an unreadable picture is a bad option
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a picture")
    result = run("ask", "how many people are there?", "--image", str(junk))
    assert result.exit_code in (1, 2), result.output
    assert "error" in result.output


def test_eval_ask_prints_figures() -> None:
    result = run("eval", "ask", "--limit", "20")
    assert result.exit_code == 0, result.output
    assert "VQA accuracy" in result.output and "p50" in result.output
    assert "20 questions" in result.output


def test_tz_option(store_url: str, archive: arc.Archive) -> None:
    q = "when did the siren sound on mic 2?"
    utc = run("ask", q, "--store", store_url, "--now", clock(archive), "--json")
    tokyo = run(
        "ask", q, "--store", store_url, "--now", clock(archive), "--json", "--tz", "Asia/Tokyo"
    )
    assert utc.exit_code == 0 and tokyo.exit_code == 0, utc.output + tokyo.output
    first_utc = json.loads(utc.output)["short"].split(", ")[0]
    first_tokyo = json.loads(tokyo.output)["short"].split(", ")[0]
    hours = (int(first_tokyo[:2]) - int(first_utc[:2])) % 24
    assert hours == 9 and first_tokyo[3:] == first_utc[3:]
    bad = run("ask", q, "--store", store_url, "--tz", "Mars/Olympus")
    assert bad.exit_code == 2 and "time zone" in bad.output


def test_thumbnails_need_media(store_url: str) -> None:
    result = run("ask", "how many cars?", "--store", store_url, "--thumbnails", "/tmp/nowhere")
    assert result.exit_code == 2 and "--media" in result.output
