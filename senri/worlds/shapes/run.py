"""`senri demo`: generate the sample world, run the demo graph embedded, compare with the truth.

The summary is computed from the event store the run wrote (not from the operators' memory),
so it shows what a user querying the archive would get.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from senri.engine.run import RunResult
from senri.indexes.events.query import And, Eq, Exists, Not, Query, words
from senri.indexes.events.sqlite import SqliteEventStore
from senri.records import Event
from senri.worlds import Summary, shapes


def demo_pipeline(world: shapes.World, truth: dict[str, Any]) -> Path:
    """Write the demo pipeline next to the world, with the world's clock and stream ids."""
    doc = yaml.safe_load(resources.files("senri.pipelines").joinpath("demo.yaml").read_text())
    doc["inputs"]["frames"].update(
        video=world.video.name, stream=truth["stream_ids"]["video"], start_time=truth["start_time"]
    )
    doc["inputs"]["sound"].update(
        audio=world.audio.name, stream=truth["stream_ids"]["audio"], start_time=truth["start_time"]
    )
    path = world.root / "demo.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _overlaps(event: Event, spans: list[dict[str, Any]], origin: float) -> bool:
    end = event.end_time if event.end_time is not None else event.time
    return any(event.time - origin < s["end"] and end - origin > s["start"] for s in spans)


def summarise(store_path: Path, truth: dict[str, Any], dead_letters: int = 0) -> Summary:
    """Count objects (per majority colour), speech and sounds in the store; pair with the truth."""
    store = SqliteEventStore(store_path)
    try:
        objects = store.search(Query(And(Eq("kind", "motion"), Exists("track_id")), limit=10_000))
        speech = store.search(Query(Eq("kind", "speech"), limit=10_000))
        loud = store.search(Query(And(Eq("kind", "sound"), Eq("label", "loud")), limit=10_000))
        transcripts = store.search(Query(Eq("kind", "transcript"), limit=10_000))
        recognised = store.search(
            Query(And(Eq("kind", "sound"), Not(Eq("label", "loud"))), limit=10_000)
        )
    finally:
        store.close()
    colours: dict[int, Counter[str]] = defaultdict(Counter)
    for e in objects:
        if e.track_id is not None:
            colours[e.track_id][str(e.attributes.get("colour"))] += 1
    by_colour = Counter(c.most_common(1)[0][0] for c in colours.values())
    expected_colours: dict[str, int] = truth["summary"]["objects_by_colour"]
    origin = float(truth["start_time"])
    summary = Summary(dead_letters=dead_letters)
    summary.add("moving objects", len(colours), truth["summary"]["objects"])
    for colour in sorted(set(expected_colours) | set(by_colour)):
        summary.add(f"  {colour}", by_colour.get(colour, 0), expected_colours.get(colour, 0))
    summary.add("speech segments", len(speech), truth["summary"]["speech_segments"])
    summary.add(
        "loud sounds (speech and other)",
        len(loud),
        truth["summary"]["speech_segments"] + truth["summary"]["sound_segments"],
    )
    non_speech = [e for e in loud if not _overlaps(e, truth["speech"], origin)]
    summary.add("  of which not speech", len(non_speech), truth["summary"]["sound_segments"])
    heard = 0
    for phrase in truth["speech"]:
        said = [e for e in transcripts if _overlaps(e, [phrase], origin)]
        text = " ".join(e.text or "" for e in said)
        heard += word_error_rate(phrase["text"], text) <= MAX_WER
    summary.add(f"phrases transcribed (WER ≤ {MAX_WER:.0%})", heard, len(truth["speech"]))
    recognised_rows = (
        ("siren", "sirens recognised"),
        ("car_horn", "car horns recognised"),
        ("beeps", "beeps recognised"),
    )
    for label, name in recognised_rows:
        spans = [s for s in truth["sounds"] if s["label"] == label]
        found = sum(
            any(e.label == label and _overlaps(e, [s], origin) for e in recognised) for s in spans
        )
        summary.add(name, found, len(spans))
    return summary


MAX_WER = 0.25
_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_NUMBERS = {str(n): word for n, word in enumerate(_DIGITS)}  # "camera 2" is "camera two"


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference length (lower-cased words, no punctuation)."""
    ref = [_NUMBERS.get(w, w) for w in words(reference)]
    hyp = [_NUMBERS.get(w, w) for w in words(hypothesis)]
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(len(ref), 1)


def timeline(store_path: Path, origin: float) -> list[tuple[float, str, str]]:
    """What happened when, across streams: objects appearing, speech (text and dialect), sounds."""
    store = SqliteEventStore(store_path)
    try:
        tracked = store.search(Query(And(Eq("kind", "motion"), Exists("track_id")), limit=10_000))
        said = store.search(Query(Eq("kind", "transcript"), limit=1000))
        heard = store.search(Query(And(Eq("kind", "sound"), Not(Eq("label", "loud"))), limit=1000))
        accents = store.search(Query(Eq("kind", "dialect"), limit=1000))
    finally:
        store.close()
    rows: list[tuple[float, str, str]] = []
    first: dict[int, Event] = {}
    for e in tracked:
        if e.track_id is not None and e.track_id not in first:
            first[e.track_id] = e
    for track, e in first.items():
        rows.append(
            (e.time - origin, e.stream_id, f"{e.attributes.get('colour')} object #{track} appears")
        )
    for e in said:
        span = [{"start": e.time - origin, "end": (e.end_time or e.time) - origin}]
        accent = next((a for a in accents if _overlaps(a, span, origin)), None)
        voice = f" ({accent.label}, {accent.attributes.get('cluster')})" if accent else ""
        rows.append((e.time - origin, e.stream_id, f'speech: "{(e.text or "").strip()}"{voice}'))
    rows += [(e.time - origin, e.stream_id, f"sound: {e.label.replace('_', ' ')}") for e in heard]
    return sorted(rows)


def prepare_world(root: Path, *, seed: int = 7, regenerate: bool = False) -> shapes.World:
    """The sample world under `root`, generated if absent (or if asked to)."""
    if regenerate or not shapes.exists(root):
        return shapes.generate(root, seed=seed)
    return shapes.World(root, root / "camera.mp4", root / "audio.wav", root / "truth.json")


def run_demo(
    root: Path, *, seed: int = 7, regenerate: bool = False, on_start: Any = None
) -> tuple[RunResult, Summary]:
    """Generate (if needed) and run the demo; returns the run and its summary."""
    from senri.engine.run import run_file

    world = prepare_world(root, seed=seed, regenerate=regenerate)
    truth = shapes.load_truth(world.truth)
    pipeline = demo_pipeline(world, truth)
    out = root / "run"
    for stale in out.glob("events.sqlite*"):
        stale.unlink()
    (out / "dlq.jsonl").unlink(missing_ok=True)
    result = run_file(pipeline, out, on_start=on_start)
    store = result.stores["events"]
    return result, summarise(store, truth, result.report.dead_letters)
