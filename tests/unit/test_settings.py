"""Typed operator settings: checked at build with the YAML line, exported as JSON Schema."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import senri.operators  # noqa: F401  (registers the operators)
from senri.cli import app
from senri.engine import settings, spec
from senri.engine.graph import build
from senri.engine.operator import registry
from senri.errors import PipelineError

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "pipelines.md"


def graph_errors(yaml_text: str) -> list[str]:
    with pytest.raises(PipelineError) as caught:
        build(spec.parse_yaml(textwrap.dedent(yaml_text)))
    return [f"{e.line}: {e}" for e in caught.value.errors]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("min_score: high", r"^4: .*'min_score'.*got 'high'; expected float > 0, < 1"),
        ("min_score: 1.5", r"^4: .*'min_score'.*less than 1"),
        ("model: detector/yolo", r"^4: .*'model'.*unknown model 'detector/yolo'.*detector/coco"),
        ("model: faces/embed", r"^4: .*'model'.*decodes detector/coco or detector/nanodet"),
    ],
)
def test_a_bad_setting_fails_at_build_with_its_line_and_type(setting: str, expected: str) -> None:
    (error,) = graph_errors(
        f"""
        inputs: {{frames: {{video: cam.mp4}}}}
        graph:
          detect: {{op: vision.detect, from: frames, {setting}}}
        outputs: {{events: {{store: events, from: [detect]}}}}
        """
    )
    assert re.search(expected, error), error


def test_every_bad_setting_of_a_graph_is_reported_at_once() -> None:
    errors = graph_errors(
        """
        inputs: {frames: {video: cam.mp4}, mic: {audio: a.wav}}
        graph:
          motion: {op: vision.motion, from: frames, history: many}
          track: {op: vision.track, from: motion, max_age: 2.5}
          speech: {op: audio.speech, from: mic, fallback: maybe, model: speech/klingon}
        outputs: {events: {store: events, from: [track, speech]}}
        """
    )
    assert [e.split(":")[0] for e in errors] == ["4", "5", "6", "6"]
    assert "expected int" in errors[1]
    assert {"'fallback'", "'model'"} == {e.split("setting ")[1].split()[0] for e in errors[2:]}
    assert any("expected bool" in e for e in errors[2:])


def test_settings_arrive_converted_to_their_types() -> None:
    graph = build(
        spec.parse_yaml(
            "inputs: {mic: {audio: a.wav}}\n"
            "graph: {s: {op: audio.sounds, from: mic, ignore: [Speech], threshold: 1}}\n"
            "outputs: {events: {store: events, from: [s]}}\n"
        )
    )
    params = graph.nodes["s"].params
    assert params == {"ignore": ("Speech",), "threshold": 1.0}
    assert isinstance(params["threshold"], float)
    assert graph.nodes["s"].create().ignore == ("Speech",)


@pytest.mark.parametrize("name", registry.names())
def test_every_operator_exports_its_settings_as_json_schema(name: str) -> None:
    cls = registry.get(name)
    assert cls is not None
    doc = settings.schema(cls)
    assert doc["title"] == name and doc["additionalProperties"] is False
    params = set(settings.settings_model(cls).model_fields)
    assert set(doc.get("properties", {})) == params
    json.dumps(doc)  # plain JSON, for editors
    # the defaults the constructor declares pass its own checks
    assert settings.validate(cls, {}) == {}


def test_model_settings_name_catalog_cards() -> None:
    cls = registry.get("vision.detect")
    assert cls is not None
    model = settings.schema(cls)["properties"]["model"]
    assert "detector/coco" in model["enum"] and model["default"] == "detector/coco"
    models = {
        n: [k for k in settings.settings_model(c).model_fields if k.endswith("model")]
        for n in registry.names()
        if (c := registry.get(n)) is not None
    }
    assert models["vision.faces"] == ["model", "embed_model"]
    assert models["audio.speech"] == ["model", "vad_model"]
    assert models["vision.vehicle_attributes"] == ["plate_model", "plate_detector_model"]


def test_cli_lists_operators_and_prints_their_schema() -> None:
    listed = CliRunner().invoke(app, ["operators", "vision.detect"])
    assert listed.exit_code == 0 and "min_score" in listed.output
    assert "float > 0, < 1 = 0.3" in listed.output
    schema = CliRunner().invoke(app, ["operators", "--schema"])
    assert schema.exit_code == 0
    assert set(json.loads(schema.output)) == set(registry.names())
    unknown = CliRunner().invoke(app, ["operators", "vision.detekt"])
    assert unknown.exit_code == 1 and "vision.detect" in unknown.output


def test_docs_hold_the_current_settings_reference() -> None:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("\n", text.index("<!-- settings:")) + 1
    end = text.index("<!-- end of settings -->")
    classes = [c for n in registry.names() if (c := registry.get(n)) is not None]
    assert text[start:end] == settings.reference(classes), (
        "docs/pipelines.md is out of date: paste `senri operators --markdown` between its markers"
    )
