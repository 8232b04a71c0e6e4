"""``senri serve``: the HTTP API and its web page (uvicorn), optionally following collections
replicated from Kafka."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from senri.cli_options import SEARCH_DEVICE, STORE_URL
from senri.device import Device
from senri.errors import SenriError

err = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (localhost by default)."),
    port: int = typer.Option(8000, min=1, max=65535),
    max_bytes: int = typer.Option(10 * 1024 * 1024, help="Largest accepted upload, bytes."),
    max_pixels: int = typer.Option(40_000_000, help="Largest accepted image, pixels."),
    store: str = typer.Option(
        "",
        help=f"Event archive for /events, /ask and /vqa: {STORE_URL} "
        "(none: those routes answer 503).",
    ),
    place: list[str] = typer.Option(
        [], "--place", help="Where a stream is, STREAM=PLACE (repeatable): cam1=entrance."
    ),
    media: Path | None = typer.Option(
        None, "--media", help="A pipeline YAML whose video inputs give /frames thumbnails."
    ),
    tz: str = typer.Option("UTC", "--tz", help="The site's time zone for /ask (IANA name)."),
    follow: str | None = typer.Option(
        None,
        "--follow",
        help="Kafka bootstrap, kafka://HOST:PORT: serve each --collection as a replica of its "
        "embeddings topic (senri.vectors.NAME) that a worker's collection output fills.",
    ),
    collections: list[str] = typer.Option(
        [], "--collection", help="An image collection to follow with --follow (repeatable)."
    ),
    bus: str | None = typer.Option(
        None,
        "--bus",
        help="Kafka bootstrap, kafka://HOST:PORT, whose worker groups /status and the web "
        "page's status view report: lag, records/s, dead letters.",
    ),
    device: Device = SEARCH_DEVICE,
    api_keys: Path | None = typer.Option(
        None,
        "--api-keys",
        help="The key file (default `$SENRI_HOME/api_keys.json`). When it holds keys, every "
        "route but /healthz needs one (`senri keys create`).",
    ),
    insecure: bool = typer.Option(
        False,
        "--insecure",
        help="Serve a non-loopback --host without API keys (anyone who reaches it may read "
        "the archive).",
    ),
    rate_limit: float | None = typer.Option(
        None,
        "--rate-limit",
        min=0.001,
        help="Requests per minute per key (per client address without keys), bursts of ten "
        "seconds' worth; over it is 429 with Retry-After. A key's own --rate wins. "
        "Default: no limit.",
    ),
    audit_log: Path | None = typer.Option(
        None,
        "--audit-log",
        help="Where writes and admin requests are logged, one JSON line each (default "
        "`$SENRI_HOME/audit.log`).",
    ),
    tls_cert: Path | None = typer.Option(
        None, "--tls-cert", exists=True, dir_okay=False, help="Serve HTTPS: the certificate (PEM)."
    ),
    tls_key: Path | None = typer.Option(
        None, "--tls-key", exists=True, dir_okay=False, help="The certificate's private key (PEM)."
    ),
    redact: bool = typer.Option(
        False,
        "--redact",
        help="Pixelate faces and number plates in /frames for every caller (with keys, callers "
        "without the `sensitive` scope always get them pixelated).",
    ),
) -> None:
    """Serve the HTTP API with uvicorn: /similar, /faces/search, /events, /ask, /vqa, /frames.

    With --follow, each --collection is a replica that keeps up with its Kafka topic in the
    background; /healthz reports its items and lag.

    When the key file holds keys (`senri keys create NAME`), requests need one, as `X-API-Key:
    KEY` or `Authorization: Bearer KEY`, with the route's scope; the file is re-read when it
    changes. A --host other than 127.0.0.1, ::1 or localhost is refused without keys unless
    --insecure says so. --tls-cert and --tls-key serve HTTPS.
    """
    try:
        import uvicorn
    except ImportError:
        _fail("`senri serve` needs uvicorn: pip install uvicorn fastapi python-multipart")
        return
    from senri.api.app import Limits, create_app
    from senri.api.auth import LOOPBACK, KeyRing, default_path
    from senri.api.guard import AuditLog, Guard
    from senri.ask.cli import parse_places
    from senri.ask.occurrence import time_zone
    from senri.indexes.vectors.placement import search_engine

    where = device
    try:
        search_engine(where)  # a GPU that is not there fails now, not at the first request
    except SenriError as exc:
        _fail(str(exc))
        return
    try:
        places = parse_places(place)
        time_zone(tz)
        index = None
        if media is not None:
            from senri.ask.frame import MediaIndex

            index = MediaIndex.from_pipeline(media)
    except (SenriError, ValueError, OSError) as exc:
        _fail(str(exc), 2)
        return
    try:
        ring = KeyRing.load(api_keys or default_path())
    except SenriError as exc:
        _fail(str(exc), 2)
        return
    if (tls_cert is None) != (tls_key is None):
        _fail("--tls-cert and --tls-key go together", 2)
    if not ring and host not in LOOPBACK:
        if not insecure:
            _fail(
                f"--host {host} would answer anyone who can reach it, with no API keys: "
                "create one with `senri keys create NAME` (then requests need it), or pass "
                "--insecure",
                2,
            )
        err.print(
            f"[bold yellow]warning: serving {escape(host)} WITHOUT API KEYS (--insecure): "
            "anyone who reaches it may read the archive and change collections[/]"
        )
    elif ring and host not in LOOPBACK and tls_cert is None:
        err.print(
            f"[yellow]warning:[/] keys travel in clear text to {escape(host)}: give --tls-cert "
            "and --tls-key, or put a TLS proxy in front"
        )
    from senri import config

    guard = Guard(
        ring or None, rate=rate_limit, audit=AuditLog(audit_log or config.home() / "audit.log")
    )
    if collections and follow is None:
        _fail("--collection names a collection to follow: give --follow kafka://HOST:PORT", 2)
    replicas = _replicas(follow, collections, where) if follow else {}
    status = None
    if bus is not None:
        from senri.api.status import KafkaStatus
        from senri.connectors.kafka import parse_bus

        try:
            status = KafkaStatus(parse_bus(bus))
        except ValueError as exc:
            _fail(str(exc), 2)
    app = create_app(
        limits=Limits(max_bytes=max_bytes, max_pixels=max_pixels),
        store=store or None,
        places=places,
        media=index,
        tz=tz,
        replicas=replicas,
        device=where,
        guard=guard,
        redact=redact,
        status=status,
    )
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            ssl_certfile=str(tls_cert) if tls_cert else None,
            ssl_keyfile=str(tls_key) if tls_key else None,
        )
    finally:
        for replica in replicas.values():
            replica.snapshot()
            replica.close()
        if status is not None:
            status.close()


def _replicas(follow: str, names: list[str], device: Device) -> dict[str, Any]:
    """A started replica per collection under ``$SENRI_HOME/replicas/NAME``; exits on error."""
    from senri import config
    from senri.connectors.kafka import parse_bus, vectors_topic
    from senri.indexes.vectors.collections import collection_path
    from senri.indexes.vectors.replica import VectorReplica, ensure_vector_topic
    from senri.operators.embed import DIM

    replicas: dict[str, Any] = {}
    try:
        bootstrap = parse_bus(follow)
        for name in names:
            collection_path(name)  # a bad name is refused before anything is made
            folder = config.home() / "replicas" / name
            ensure_vector_topic(bootstrap, vectors_topic(name))
            replica = VectorReplica(bootstrap, vectors_topic(name), folder, DIM, device=device)
            replica.start(snapshot_every_s=60.0)
            replicas[name] = replica
    except Exception as exc:
        for replica in replicas.values():
            replica.close()
        _fail(f"cannot follow {follow}: {exc}", 1)
    return replicas


keys_app = typer.Typer(
    rich_markup_mode="markdown",
    help="API keys for `senri serve`: create, list and revoke (the file keeps SHA-256 digests).",
    no_args_is_help=True,
)
KEY_FILE = typer.Option(
    None, "--api-keys", help="The key file (default `$SENRI_HOME/api_keys.json`)."
)


def _ring(path: Path | None) -> Any:
    from senri.api.auth import KeyRing, default_path

    try:
        return KeyRing.load(path or default_path())
    except SenriError as exc:
        _fail(str(exc), 2)


@keys_app.command("create")
def keys_create(
    name: str = typer.Argument(..., help="What the key is for: dashboard, grafana, alice."),
    scope: list[str] = typer.Option(
        [],
        "--scope",
        help="read, ask, write, admin or sensitive (repeatable; none: read and ask). admin "
        "holds every other scope.",
    ),
    rate: float | None = typer.Option(
        None,
        "--rate",
        min=0.001,
        help="Requests per minute for this key (default: the server's --rate-limit).",
    ),
    api_keys: Path | None = KEY_FILE,
) -> None:
    """Make a key and print it once; only its SHA-256 is kept.

    Scopes: read (/events, /frames, /similar, /faces/search), ask (/ask, /vqa), write
    (PUT/DELETE /collections/...), admin (/admin/keys, /admin/audit, and all the others),
    sensitive (faces and number plates unpixelated in /frames).
    """
    ring = _ring(api_keys)
    try:
        key = ring.create(name, scope, rate)
        ring.save()
    except (SenriError, OSError) as exc:
        _fail(str(exc), 2)
    typer.echo(key)
    scopes = ", ".join(sorted(ring.keys[name].scopes))
    err.print(f"key {escape(name)!r} ({scopes}) written to {ring.path}; it is not shown again")


@keys_app.command("list")
def keys_list(api_keys: Path | None = KEY_FILE) -> None:
    """The keys' names, scopes and rates, tab-separated (the keys themselves are not kept)."""
    from senri.api.auth import SCOPES

    ring = _ring(api_keys)
    if not ring:
        err.print(f"no keys in {ring.path}: senri serve answers without them on localhost")
    for key in ring.keys.values():
        scopes = ",".join(s for s in SCOPES if s in key.scopes)
        rate = f"{key.rate:g}/min" if key.rate is not None else "server default"
        typer.echo(f"{key.name}\t{scopes}\t{rate}")


@keys_app.command("revoke")
def keys_revoke(name: str = typer.Argument(...), api_keys: Path | None = KEY_FILE) -> None:
    """Revoke a key; a running server re-reads the file and refuses it from the next request."""
    ring = _ring(api_keys)
    try:
        ring.revoke(name)
        ring.save()
    except (SenriError, OSError) as exc:
        _fail(str(exc), 2)
    err.print(f"key {escape(name)!r} revoked in {ring.path}")
