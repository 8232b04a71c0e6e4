"""The model registry's loading rules and the CLI's validate/version/models commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from senri.cli import app
from senri.cli_options import DEAD_LETTER_EXIT
from senri.errors import ModelUnavailableError
from senri.models import fetch, registry
from tests.media import break_wav_header, truncate, write_video, write_wav

pytestmark = pytest.mark.unit
runner = CliRunner()


def test_user_weights_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name can point at the user's own file; that file is what the operator loads."""
    import onnx
    from onnx import TensorProto, helper

    # A tiny valid ONNX graph with the VAD's interface: speech probability = mean(input) clipped.
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["input"], ["m"], axes=[1], keepdims=1),
            helper.make_node("Clip", ["m", "lo", "hi"], ["output"]),
            helper.make_node("Identity", ["state"], ["stateN"]),
        ],
        "user_vad",
        [
            helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, None]),
            helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, None, 128]),
            helper.make_tensor_value_info("sr", TensorProto.INT64, []),
        ],
        [
            helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, 1]),
            helper.make_tensor_value_info("stateN", TensorProto.FLOAT, [2, None, 128]),
        ],
        initializer=[
            helper.make_tensor("lo", TensorProto.FLOAT, [], [0.0]),
            helper.make_tensor("hi", TensorProto.FLOAT, [], [1.0]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "my_vad.onnx"
    onnx.save(model, str(path))
    monkeypatch.setenv("SENRI_MODEL_VAD_SILERO", str(path))
    assert registry.resolve("vad/silero") == path

    from senri.engine.operator import Device
    from senri.operators.audio import VoiceActivity
    from senri.records import AudioChunk

    op = VoiceActivity(min_duration=0.1)
    op.setup(Device("cpu"))
    loud = np.concatenate([np.zeros(16000), np.full(16000, 0.9), np.zeros(16000)]).astype(
        np.float32
    )
    events = [
        e
        for b in op.process([AudioChunk("m", 0, 0.0, 0.0, loud, 16000)]) + op.finish()
        for e in b.events
    ]
    assert len(events) == 1 and events[0].time == pytest.approx(1.0, abs=0.1)


def test_override_to_missing_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SENRI_MODEL_VAD_SILERO", str(tmp_path / "nope.onnx"))
    with pytest.raises(ModelUnavailableError, match="not a file"):
        registry.resolve("vad/silero")


def test_unknown_model() -> None:
    with pytest.raises(
        ModelUnavailableError, match="unknown model 'vad/nope'; known models: vad/silero"
    ):
        registry.card("vad/nope")


def test_missing_cache_without_fetch_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SENRI_HOME", str(tmp_path))
    monkeypatch.delenv("SENRI_MODEL_VAD_SILERO", raising=False)
    with pytest.raises(
        ModelUnavailableError, match=r"senri models fetch vad/silero.*silero-vad==6\.2\.3"
    ):
        registry.resolve("vad/silero", fetch_missing=False)


def test_cached_weights_match_their_checksum() -> None:
    path = registry.resolve("vad/silero", fetch_missing=False)
    assert fetch.sha256_of(path) == registry.card("vad/silero").source.sha256


def test_cli_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("senri ")


def test_cli_validate_reports_lines(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "inputs: {frames: {video: cam.mp4}}\n"
        "graph: {motion: {op: vision.motion, from: frames}}\n"
        "outputs: {events: {store: events, from: [motion]}}\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("vision.motion", "vision.motoin"))
    ok = runner.invoke(app, ["validate", str(good)])
    assert ok.exit_code == 0 and "1 node(s)" in ok.stdout
    failed = runner.invoke(app, ["validate", str(good), str(bad)])
    assert failed.exit_code == 1
    assert "line 2" in failed.output and "did you mean 'vision.motion'" in failed.output


def test_cli_models_info() -> None:
    result = runner.invoke(app, ["models", "info", "vad/silero"])
    assert (
        result.exit_code == 0
        and "silero-vad==6.2.3" in result.stdout
        and "SENRI_MODEL_VAD_SILERO" in result.stdout
    )
    missing = runner.invoke(app, ["models", "info", "nope"])
    assert missing.exit_code == 1 and "unknown model" in missing.output


def test_cli_run_writes_store_and_dead_letters(tmp_path: Path) -> None:
    from senri.indexes.events.query import Eq, Query
    from senri.indexes.events.sqlite import SqliteEventStore

    write_wav(tmp_path / "good.wav", seconds=3.0)
    break_wav_header(write_wav(tmp_path / "bad.wav"))
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "name: loud\n"
        "inputs:\n"
        "  good: {audio: good.wav, stream: mic1, start_time: 100}\n"
        "  bad: {audio: bad.wav, stream: mic2}\n"
        "graph:\n"
        "  loud: {op: audio.loudness, from: [good, bad], threshold_db: -30}\n"
        "outputs:\n"
        "  events: {store: events, from: [loud]}\n"
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(pipeline), "--out", str(out), "--device", "cpu"])
    assert result.exit_code == DEAD_LETTER_EXIT, result.output
    assert "1 dead letters" in result.output and "dlq.jsonl" in result.output
    # the reason is on the terminal, not only in the file
    assert "dead letter mic2 at source.audio:" in " ".join(result.output.split())
    store = SqliteEventStore(out / "events.sqlite")
    events = store.search(Query(Eq("stream_id", "mic1")))
    assert len(events) == 1 and events[0].time == pytest.approx(100.0, abs=0.06)
    assert events[0].end_time == pytest.approx(103.0, abs=0.06)
    dead = (out / "dlq.jsonl").read_text().splitlines()
    assert len(dead) == 1 and '"stream_id": "mic2"' in dead[0]


BROKEN_INPUTS = {  # file → (its input, the node that reads it)
    "zero-byte.wav": ("{audio: zero-byte.wav}", "{op: audio.loudness, from: bad}"),
    "truncated.mp4": ("{video: truncated.mp4}", "{op: vision.motion, from: bad}"),
}


@pytest.mark.parametrize("broken", sorted(BROKEN_INPUTS))
def test_cli_run_exit_status_tells_a_script_about_dead_letters(tmp_path: Path, broken: str) -> None:
    """An input that yields nothing but a dead letter makes `senri run` exit 3, not 0."""
    write_wav(tmp_path / "good.wav", seconds=2.0)
    if broken.endswith(".wav"):
        (tmp_path / broken).write_bytes(b"")
    else:  # the index is at the end of the file, so the cut copy cannot be opened at all
        truncate(write_video(tmp_path / broken, frames=30, faststart=False), 0.3)
    source, node = BROKEN_INPUTS[broken]
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        f"inputs:\n  good: {{audio: good.wav}}\n  bad: {source}\n"
        f"graph:\n  loud: {{op: audio.loudness, from: good, threshold_db: -30}}\n  b: {node}\n"
        "outputs:\n  events: {store: events, from: [loud, b]}\n"
    )
    args = ["run", str(pipeline), "--out", str(tmp_path / "o"), "--device", "cpu"]
    result = runner.invoke(app, args)
    assert result.exit_code == DEAD_LETTER_EXIT, result.output
    assert "1 dead letters" in result.output
    allowed = runner.invoke(app, [*args, "--allow-dead-letters"])
    assert allowed.exit_code == 0, allowed.output


def test_cli_run_exits_0_without_dead_letters(tmp_path: Path) -> None:
    write_wav(tmp_path / "good.wav", seconds=2.0)
    clean = tmp_path / "clean.yaml"
    clean.write_text(
        "inputs: {good: {audio: good.wav}}\n"
        "graph: {loud: {op: audio.loudness, from: good, threshold_db: -30}}\n"
        "outputs: {events: {store: events, from: [loud]}}\n"
    )
    ok = runner.invoke(app, ["run", str(clean), "--out", str(tmp_path / "c"), "--device", "cpu"])
    assert ok.exit_code == 0, ok.output
    assert "0 dead letters" in ok.output


def test_cli_run_reports_bad_pipeline(tmp_path: Path) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "inputs: {a: {audio: missing.wav}}\ngraph: {l: {op: audio.loudness, from: a}}\n"
    )
    result = runner.invoke(app, ["run", str(pipeline), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "missing.wav" in result.output


def test_validate_probe_opens_each_input_and_names_the_one_that_fails(tmp_path: Path) -> None:
    write_wav(tmp_path / "good.wav", seconds=1.0)
    write_video(tmp_path / "cam.mp4", frames=10)
    truncate(write_video(tmp_path / "cut.mp4", frames=30, faststart=False), 0.3)
    good = tmp_path / "good.yaml"
    good.write_text(
        "inputs:\n  mic: {audio: good.wav}\n  cam: {video: cam.mp4}\n"
        "graph:\n  loud: {op: audio.loudness, from: mic}\n  m: {op: vision.motion, from: cam}\n"
        "outputs:\n  events: {store: events, from: [loud, m]}\n"
    )
    result = runner.invoke(app, ["validate", "--probe", str(good)])
    assert result.exit_code == 0, result.output
    assert "mic: audio at 16000 Hz" in result.output and "cam: 64x48 frames" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("cam.mp4", "cut.mp4"))
    result = runner.invoke(app, ["validate", "--probe", str(bad)])
    assert result.exit_code == 1, result.output
    assert "✗ cam:" in result.output
    assert runner.invoke(app, ["validate", str(bad)]).exit_code == 0  # without --probe: the file
