"""API keys for `senri serve`: digests at rest, scopes per route, rate limits, an audit log of
writes, revocation without a restart, and what the OpenAPI document declares."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from senri.api.app import create_app
from senri.api.auth import ApiKeyError, KeyRing
from senri.api.guard import AuditLog, Guard, RateLimiter
from senri.ask.frame import Media, MediaIndex
from senri.cli import app as cli
from senri.engine.session import GraphSession
from senri.models.photos import sample_photo
from senri.worlds import shapes
from tests.serving import home_with_models

pytestmark = pytest.mark.unit


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys.json")


def png(name: str) -> bytes:
    ok, buf = cv2.imencode(".png", sample_photo(name)[:, :, ::-1])
    assert ok
    return buf.tobytes()


def test_keys_are_stored_as_digests_readable_by_the_owner_only(ring: KeyRing) -> None:
    key = ring.create("dashboard", ["ask", "read"], rate=30)
    ring.save()
    text = ring.path.read_text()
    assert key.startswith("snr_") and key not in text
    assert stat.S_IMODE(ring.path.stat().st_mode) == 0o600
    again = KeyRing.load(ring.path)
    found = again.check(key)
    assert found is not None and found.name == "dashboard"
    assert found.scopes == {"ask", "read"} and found.rate == 30
    assert again.check(key + "x") is None and again.check("") is None


def test_bad_names_scopes_rates_and_files_are_refused(ring: KeyRing, tmp_path: Path) -> None:
    with pytest.raises(ApiKeyError, match="letters, digits"):
        ring.create("two words")
    with pytest.raises(ApiKeyError, match="unknown scope"):
        ring.create("x", ["everything"])
    with pytest.raises(ApiKeyError, match="requests per minute"):
        ring.create("x", rate=0)
    ring.create("x")
    with pytest.raises(ApiKeyError, match="exists"):
        ring.create("x")
    assert ring.keys["x"].scopes == {"read", "ask"}  # none given: the least that is useful
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ApiKeyError, match="cannot read API keys"):
        KeyRing.load(bad)
    with pytest.raises(ApiKeyError, match="no key called"):
        ring.revoke("nobody")


def test_a_key_file_with_the_old_scope_names_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"keys": [{"name": "a", "scopes": ["events", "similar", "ask"],
                                          "sha256": "0" * 64}]}))  # fmt: skip
    assert KeyRing.load(path).keys["a"].scopes == {"read", "ask"}


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> MediaIndex:
    world = shapes.generate(tmp_path_factory.mktemp("world"), seed=7, duration=4.0)
    return MediaIndex({"cam1": Media(Path(world.video), 0.0)})


def test_every_route_but_healthz_needs_a_key(ring: KeyRing, media: MediaIndex) -> None:
    ring.create("k", ["admin"])
    app = create_app(media=media, guard=Guard(ring))
    c = TestClient(app)
    routes = [
        (method.upper(), re.sub(r"\{[^}]+\}", "x", path))
        for path, ops in app.openapi()["paths"].items()
        for method in ops
    ]
    assert len(routes) >= 12 and ("PUT", "/collections/x/items/x") in routes
    for method, path in routes:
        r = c.request(method, path)
        if path == "/healthz":
            assert r.status_code == 200
        else:
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
    assert c.get("/").status_code == 200  # the page itself asks for the key


def test_each_scope_opens_its_routes_and_no_others(ring: KeyRing) -> None:
    reader, asker, admin = (ring.create(n, s) for n, s in
                            (("r", ["read"]), ("a", ["ask"]), ("boss", ["admin"])))  # fmt: skip
    c = TestClient(create_app(guard=Guard(ring)))

    def status(method: str, path: str, key: str, **kw: object) -> int:
        return c.request(method, path, headers={"X-API-Key": key}, **kw).status_code  # type: ignore[arg-type]

    body = {"question": "how many cars?"}
    # past the check, the route says no archive is configured: 503
    assert status("POST", "/ask", asker, json=body) == 503
    bearer = {"Authorization": f"Bearer {asker}"}
    assert c.post("/ask", json=body, headers=bearer).status_code == 503
    assert status("GET", "/events", reader) == 503
    r = c.get("/events", headers={"X-API-Key": asker})
    assert r.status_code == 403 and "lacks the 'read' scope" in r.json()["detail"]
    assert status("POST", "/ask", reader, json=body) == 403
    assert status("PUT", "/collections/c/items/i", reader) == 403  # read cannot write
    assert status("DELETE", "/collections/c/items/i", asker) == 403
    assert status("GET", "/admin/keys", reader) == 403
    assert status("PUT", "/collections/c/items/i", admin) == 422  # admin may: the image is missing
    assert status("GET", "/events", admin) == 503
    assert status("POST", "/ask", admin, json=body) == 503
    assert c.post("/ask", json=body, headers={"X-API-Key": "snr_guess"}).status_code == 401


@pytest.fixture
def writable(
    ring: KeyRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embed_graph: GraphSession
) -> Iterator[tuple[TestClient, Guard, dict[str, str]]]:
    keys = {n: ring.create(n, s) for n, s in
            (("writer", ["write", "read"]), ("reader", ["read"]), ("boss", ["admin"]))}  # fmt: skip
    ring.save()
    monkeypatch.setenv("SENRI_HOME", str(home_with_models(tmp_path)))  # collections land here
    guard = Guard(KeyRing.load(ring.path), audit=AuditLog(tmp_path / "audit.log"))
    with TestClient(create_app(embedder=embed_graph, guard=guard)) as c:
        yield c, guard, keys


def test_writes_change_the_collection_and_are_audited(
    writable: tuple[TestClient, Guard, dict[str, str]],
) -> None:
    c, guard, keys = writable
    w, r = {"X-API-Key": keys["writer"]}, {"X-API-Key": keys["reader"]}
    item = "/collections/crew/items/people/astronaut.png"
    upload = {"image": ("a.png", png("astronaut.png"), "image/png")}
    made = c.put(item, files=upload, data={"metadata": '{"who": "astronaut"}'}, headers=w)
    assert made.status_code == 200, made.text
    assert made.json() == {"collection": "crew", "id": "people/astronaut.png", "replaced": False,
                           "items": 1}  # fmt: skip
    again = c.put(item, files={"image": ("c.png", png("camera.png"), "image/png")}, headers=w)
    assert again.json()["replaced"] is True and again.json()["items"] == 1
    query = {"image": ("q.png", png("camera.png"), "image/png")}
    found = c.post("/similar", data={"collection": "crew", "k": "1"}, files=query, headers=r)
    hit = found.json()["hits"][0]
    assert hit["id"] == "people/astronaut.png" and hit["score"] > 0.99  # replaced by the camera
    assert c.put(item, files=upload, headers=r).status_code == 403
    bad = c.put(item, files=upload, data={"metadata": "[1, 2]"}, headers=w)
    assert bad.status_code == 422 and "JSON object" in bad.json()["detail"]
    assert c.delete(item, headers=w).status_code == 200
    gone = c.delete(item, headers=w)
    assert gone.status_code == 404 and "no item" in gone.json()["detail"]
    assert c.delete("/collections/nowhere/items/x", headers=w).status_code == 404
    assert guard.audit is not None
    entries = guard.audit.tail(100)
    assert [(e["key"], e["method"], e["status"]) for e in entries] == [
        ("writer", "PUT", 200), ("writer", "PUT", 200), ("reader", "PUT", 403),
        ("writer", "PUT", 422), ("writer", "DELETE", 200), ("writer", "DELETE", 404),
        ("writer", "DELETE", 404),
    ]  # fmt: skip
    assert entries[0]["path"] == item and entries[0]["client"]
    log = c.get("/admin/audit", params={"limit": 2}, headers={"X-API-Key": keys["boss"]})
    assert [e["status"] for e in log.json()["entries"][:2]] == [404, 404]
    listed = c.get("/admin/keys", headers={"X-API-Key": keys["boss"]}).json()["keys"]
    assert {k["name"]: k["scopes"] for k in listed}["writer"] == ["read", "write"]
    assert all("sha256" not in k for k in listed)


def test_a_revoked_key_stops_at_the_next_request(ring: KeyRing) -> None:
    key = ring.create("temp", ["read"])
    ring.save()
    c = TestClient(create_app(guard=Guard(KeyRing.load(ring.path))))
    assert c.get("/events", headers={"X-API-Key": key}).status_code == 503
    ring.revoke("temp")
    ring.create("other")
    ring.save()  # what `senri keys revoke` does, while the server runs
    assert c.get("/events", headers={"X-API-Key": key}).status_code == 401
    ring.path.write_text("{broken")  # a bad edit locks no one out: the last keys stay
    assert c.get("/events", headers={"X-API-Key": key}).status_code == 401


def test_rate_limits_answer_429_with_retry_after(ring: KeyRing) -> None:
    slow = ring.create("slow", ["read"], rate=6)  # 6 a minute: a bucket of one, refilled in 10 s
    fast = ring.create("fast", ["read"])  # the server's default: 60 a minute, bursts of 10
    guard = Guard(ring, rate=60)
    now = [1000.0]
    guard.limiter.clock = lambda: now[0]
    c = TestClient(create_app(guard=guard))
    assert c.get("/events", headers={"X-API-Key": slow}).status_code == 503
    r = c.get("/events", headers={"X-API-Key": slow})
    assert r.status_code == 429 and r.headers["retry-after"] == "10"
    assert "6 requests per minute" in r.json()["detail"]
    codes = [c.get("/events", headers={"X-API-Key": fast}).status_code for _ in range(11)]
    assert codes == [503] * 10 + [429]  # each key has its own bucket
    now[0] += 10.0
    assert c.get("/events", headers={"X-API-Key": slow}).status_code == 503
    assert c.get("/healthz").status_code == 200  # probes are never limited


def test_a_server_without_keys_limits_each_client_address() -> None:
    limiter = RateLimiter(clock=lambda: 0.0)
    assert [limiter.take("client:a", 12) for _ in range(3)][:2] == [0.0, 0.0]
    assert limiter.take("client:a", 12) == pytest.approx(5.0)  # 12/min: one every 5 s
    assert limiter.take("client:b", 12) == 0.0
    c = TestClient(create_app(guard=Guard(rate=6)))
    assert [c.get("/events").status_code for _ in range(2)] == [503, 429]


def test_openapi_declares_the_schemes_and_refusals(ring: KeyRing) -> None:
    ring.create("k")
    spec = TestClient(create_app(guard=Guard(ring))).get("/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"APIKeyHeader", "HTTPBearer"}
    for path, method in (("/ask", "post"), ("/similar", "post"), ("/admin/keys", "get"),
                         ("/collections/{name}/items/{item_id}", "put")):  # fmt: skip
        op = spec["paths"][path][method]
        assert {"APIKeyHeader": []} in op["security"], path
        assert {"401", "403", "429"} <= set(op["responses"]), path
    assert "security" not in spec["paths"]["/healthz"]["get"]
    open_spec = TestClient(create_app()).get("/openapi.json").json()
    assert "securitySchemes" not in open_spec.get("components", {})
    assert "/admin/keys" not in open_spec["paths"]
    assert "429" not in open_spec["paths"]["/ask"]["post"]["responses"]


def test_keys_cli_creates_lists_and_revokes(tmp_path: Path) -> None:
    runner = CliRunner()
    path = str(tmp_path / "keys.json")
    r = runner.invoke(cli, ["keys", "create", "grafana", "--scope", "read", "--rate", "120",
                            "--api-keys", path])  # fmt: skip
    assert r.exit_code == 0, r.output
    key = r.stdout.strip()
    assert key.startswith("snr_")
    assert KeyRing.load(Path(path)).check(key) is not None
    r = runner.invoke(cli, ["keys", "list", "--api-keys", path])
    assert r.stdout.strip() == "grafana\tread\t120/min"
    assert runner.invoke(cli, ["keys", "revoke", "grafana", "--api-keys", path]).exit_code == 0
    assert not KeyRing.load(Path(path))
    r = runner.invoke(cli, ["keys", "revoke", "grafana", "--api-keys", path])
    assert r.exit_code == 2 and "no key called" in r.output
    r = runner.invoke(cli, ["keys", "create", "x", "--scope", "root", "--api-keys", path])
    assert r.exit_code == 2 and "unknown scope" in r.output


def test_serve_refuses_an_open_interface_without_keys(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli, ["serve", "--host", "0.0.0.0", "--api-keys", str(tmp_path / "none.json")]
    )
    assert r.exit_code == 2
    assert "would answer anyone" in r.output and "--insecure" in r.output
    cert = tmp_path / "cert.pem"
    cert.write_text("-")
    r = CliRunner().invoke(cli, ["serve", "--tls-cert", str(cert)])
    assert r.exit_code == 2 and "--tls-cert and --tls-key go together" in r.output


def test_an_audit_log_is_owner_only_and_skips_broken_lines(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a" / "audit.log")
    assert log.tail(5) == []
    log.write({"key": "k", "status": 200})
    with log.path.open("a") as fh:
        fh.write("{torn\n")
    log.write({"key": "k", "status": 404})
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert [e["status"] for e in log.tail(5)] == [200, 404] and np.isfinite(log.tail(1)[0]["time"])
