"""What the tests that run `senri serve` or speak TLS share: a port, a certificate, a home with
the cached models, and a server started, waited for and stopped."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from senri import config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(folder: Path, name: str = "localhost") -> tuple[Path, Path]:
    """(certificate, key) in PEM, self-signed for 127.0.0.1 and `name`, made with openssl."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is part of the base system senri's setup expects"
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=IP:127.0.0.1,DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def home_with_models(root: Path) -> Path:
    """A fresh `SENRI_HOME` (collections, keys, audit log land there) that sees the cached
    models of the real one."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "models").symlink_to(config.models_dir())
    return home


@contextlib.contextmanager
def serve(
    args: Sequence[str],
    log: Path,
    *,
    home: Path | None = None,
    tls: ssl.SSLContext | None = None,
    wait_s: float = 30.0,
) -> Iterator[str]:
    """`senri serve ARGS` on a free port until the block ends; yields its base URL once
    /healthz answers (over TLS with `tls`, the context that trusts its certificate)."""
    port = free_port()
    env = {**os.environ, **({"SENRI_HOME": str(home)} if home is not None else {})}
    with log.open("w") as out:  # a pipe nobody reads would fill and stall the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "senri", "serve", "--port", str(port), *args],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1, context=tls).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"senri serve did not start: {log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a half-open client connection holds the shutdown
            proc.kill()
            proc.wait()
