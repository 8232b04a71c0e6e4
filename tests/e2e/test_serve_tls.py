"""`senri serve --tls-cert/--tls-key` answers HTTPS only, with keys checked inside the tunnel."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from senri.api.auth import KeyRing

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command line."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is part of the base system senri's setup expects"
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_https_with_keys(tmp_path: Path) -> None:
    cert, private = _certificate(tmp_path)
    ring = KeyRing(tmp_path / "keys.json")
    key = ring.create("tls", ["read"])
    ring.save()
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "senri", "serve", "--port", str(port), "--api-keys",
         str(ring.path), "--tls-cert", str(cert), "--tls-key", str(private)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    trusted = ssl.create_default_context(cafile=str(cert))
    url = f"https://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2, context=trusted) as r:
                    assert json.load(r)["status"] == "ok"
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        else:
            pytest.fail(f"senri serve did not start: {(tmp_path / 'serve.log').read_text()}")
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{url}/events", timeout=5, context=trusted)
        assert denied.value.code == 401
        denied.value.close()  # an unread error response would hold its connection open
        request = urllib.request.Request(f"{url}/events", headers={"X-API-Key": key})
        with pytest.raises(urllib.error.HTTPError) as no_store:  # past the key: no archive set
            urllib.request.urlopen(request, timeout=5, context=trusted)
        assert no_store.value.code == 503
        no_store.value.close()
        with pytest.raises(urllib.error.URLError):  # a client that does not trust it stops
            urllib.request.urlopen(f"{url}/healthz", timeout=5)
        with pytest.raises((urllib.error.URLError, ConnectionError)):  # plain HTTP is not served
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a half-open client connection holds the shutdown
            proc.kill()
            proc.wait()
        log.close()
