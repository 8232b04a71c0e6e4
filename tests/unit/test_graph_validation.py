"""Pipelines are checked before anything runs; each error names its YAML line and a fix."""

from __future__ import annotations

import textwrap

import pytest

from senri.engine import spec
from senri.engine.graph import build
from senri.errors import PipelineError
from senri.records import Frame, FrameDetections

pytestmark = pytest.mark.unit

GOOD = """\
name: city
inputs:
  frames: {video: cam.mp4, fps: 5, stream: cam1}
  mic: {audio: mic.wav}
graph:
  motion: {op: vision.motion, from: frames, batch: 4}
  track: {op: vision.track, from: motion}
  colour: {op: vision.colour, from: track, where: "tracker_id >= 0 and label == 'object'"}
  loud: {op: audio.loudness, from: mic, threshold_db: -30}
outputs:
  events: {store: events, from: [colour, loud]}
"""


def test_good_pipeline_builds_in_topological_order() -> None:
    graph = build(spec.parse_yaml(GOOD))
    assert graph.nodes["motion"].batch.max_size == 4
    assert graph.nodes["loud"].params == {"threshold_db": -30}
    assert graph.type_of("frames") is Frame
    assert graph.type_of("colour") is FrameDetections
    order = list(graph.nodes)
    assert order.index("motion") < order.index("track") < order.index("colour")


def _errors(text: str) -> PipelineError:
    with pytest.raises(PipelineError) as info:
        build(spec.parse_yaml(textwrap.dedent(text), source="p.yaml"))
    return info.value


CASES = [
    (
        "unknown-op",
        GOOD.replace("op: vision.track", "op: vision.trak"),
        7,
        "unknown operator 'vision.trak'",
        "did you mean 'vision.track'",
    ),
    (
        "type-mismatch",
        GOOD.replace("op: audio.loudness, from: mic", "op: audio.loudness, from: frames"),
        9,
        "type mismatch on edge frames → loud: "
        "'audio.loudness' takes AudioChunk but 'frames' gives Frame",
        "mic",
    ),
    (
        "missing-input",
        GOOD.replace("from: motion}", "from: motoin}"),
        7,
        "reads from 'motoin', which does not exist",
        "did you mean 'motion'",
    ),
    (
        "cycle",
        GOOD.replace("from: frames, batch: 4", "from: colour, batch: 4"),
        7,
        "cycle: track → colour → motion → track",
        "remove one of these 'from' edges",
    ),
    (
        "where-unknown-field",
        GOOD.replace("label == 'object'", "lable == 'object'"),
        8,
        "unknown field 'lable' (did you mean 'label'?)",
        "e.g. where:",
    ),
    (
        "where-syntax",
        GOOD.replace("tracker_id >= 0 and", "tracker_id >= 0 and and"),
        8,
        "bad where",
        "e.g. where:",
    ),
    (
        "where-code",
        GOOD.replace("tracker_id >= 0 and label == 'object'", "__import__('os').system('x')"),
        8,
        "is not allowed",
        "e.g. where:",
    ),
    (
        "unknown-setting",
        GOOD.replace("threshold_db: -30", "treshold_db: -30"),
        9,
        "has no setting 'treshold_db'",
        "did you mean 'threshold_db'",
    ),
    (
        "bad-batch",
        GOOD.replace("batch: 4", "batch: 0"),
        6,
        "max_size must be >= 1",
        "batch must be >= 1",
    ),
    (
        "unknown-source-kind",
        GOOD.replace("{audio: mic.wav}", "{microphone: mic.wav}"),
        4,
        "unknown source kind 'microphone'",
        "use one of video, packets, audio",
    ),
    (
        "unknown-source-option",
        GOOD.replace("fps: 5", "fsp: 5"),
        3,
        "unknown video option 'fsp'",
        "did you mean 'fps'",
    ),
    (
        "unknown-sink",
        GOOD.replace("{store: events", "{database: events"),
        11,
        "unknown sink 'database'",
        "use one of store, jsonl",
    ),
    (
        "sink-not-events",
        GOOD.replace("from: [colour, loud]", "from: [frames]"),
        11,
        "has no events to store",
        "store the results of an operator",
    ),
    (
        "node-without-op",
        GOOD.replace("{op: vision.track, from: motion}", "{from: motion}"),
        7,
        "has no 'op'",
        "add op:",
    ),
    (
        "unknown-top-key",
        GOOD + "extras: 1\n",
        12,
        "unknown top-level key 'extras'",
        "allowed keys",
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "line", "message", "hint"), CASES, ids=[c[0] for c in CASES]
)
def test_validation_error_table(case: str, text: str, line: int, message: str, hint: str) -> None:
    errors = _errors(text)
    matching = [e for e in errors.errors if message in e.message]
    assert matching, f"{case}: no error containing {message!r} in {errors}"
    error = matching[0]
    assert error.line == line
    assert error.hint is not None and hint in error.hint
    assert f"line {line}:" in str(errors) and str(errors).startswith("p.yaml:")


def test_all_problems_reported_together() -> None:
    text = GOOD.replace("op: vision.track", "op: vision.trak").replace("fps: 5", "fsp: 5")
    assert len(_errors(text).errors) >= 2


def test_invalid_yaml_names_line() -> None:
    errors = _errors("name: x\ninputs:\n  frames: {video: a.mp4\ngraph: {}\n")
    assert errors.errors[0].line is not None and "not valid YAML" in errors.errors[0].message


def test_pipeline_built_in_python_matches_yaml() -> None:
    doc = {
        "inputs": {"frames": {"video": "cam.mp4"}},
        "graph": {"motion": {"op": "vision.motion", "from": "frames", "min_area": 50}},
        "outputs": {"events": {"jsonl": "events.jsonl", "from": ["motion"]}},
    }
    graph = build(spec.from_mapping(doc))
    assert graph.nodes["motion"].create().min_area == 50  # type: ignore[attr-defined]
    assert graph.outputs["events"].kind == "jsonl"


def test_file_inputs_read_the_topics_ingest_writes_for_their_streams() -> None:
    """`senri worker` takes the pipelines `senri run` takes (README's distributed quick start)."""
    from senri.engine.kafka_runtime import input_topics

    graph = build(
        spec.parse_yaml(
            "inputs:\n"
            "  frames: {video: street.mp4, stream: street1}\n"
            "  cam: {video: rtsp://camera/live}\n"
            "  sound: {audio: a.wav, stream: 'mic 1'}\n"
            "  designs: {images: designs/}\n"
            "  raw: {topic: 'senri.frames.*', schema: frame}\n"
            "graph:\n"
            "  m: {op: vision.motion, from: [frames, cam, raw]}\n"
            "  l: {op: audio.loudness, from: sound}\n"
            "  d: {op: decode.image, from: designs}\n"
            "outputs: {events: {store: events, from: [m, l]}}\n"
        )
    )
    assert input_topics(graph) == {
        "frames": "senri.frames.street1",
        "cam": "senri.frames.cam",
        "sound": "senri.audio.mic-1",
        "designs": "senri.images.designs",
        "raw": "senri.frames.*",
    }


def test_an_inputs_source_key_may_come_after_its_options() -> None:
    from senri.engine.graph import SOURCE_TYPES

    assert set(spec.INPUT_KINDS) >= {*SOURCE_TYPES, "topic"}
    doc = (
        "inputs:\n  frames: {schema: packet, topic: senri.packets.cam1}\n"
        "graph:\n  decode: {op: decode.video, from: frames}\noutputs: {}\n"
    )
    graph = build(spec.parse_yaml(doc))
    assert graph.inputs["frames"].kind == "topic"
