"""API keys with scopes for `senri serve`: who may read the archive, ask, change collections.

Keys live in a JSON file (``$SENRI_HOME/api_keys.json`` unless `senri serve --api-keys` names
another), one entry per key: a name, its scopes, an optional rate (requests per minute) and
the SHA-256 of the key. The key itself is shown once, when `senri keys create` makes it, and
never stored. A request presents it as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; a
missing or unknown key is 401, a key without the route's scope 403 (`senri.api.guard`).
`/healthz` stays open for load balancers and probes.

Scopes (``admin`` holds every other one):
    read       GET/POST /events, GET /frames, /streams, /timeline, /around, /status,
               POST /similar, POST /faces/search
    ask        POST /ask, POST /vqa
    write      PUT/DELETE /collections/{name}/items/{id} (audited)
    admin      GET /admin/keys, GET /admin/audit, and every scope above
    sensitive  frames with faces and number plates as recorded (others see them pixelated)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from senri.errors import SenriError

SCOPES: dict[str, str] = {
    "read": "read events and frames, search collections (/events, /frames, /similar, /faces)",
    "ask": "ask questions over the archive and about pictures (POST /ask, /vqa)",
    "write": "add and delete items of collections (PUT/DELETE /collections/...)",
    "admin": "list keys, read the audit log, and every other scope",
    "sensitive": "see faces and number plates in frames (others see them pixelated)",
}
DEFAULT_SCOPES = ("read", "ask")
# scopes of key files written before the scopes were renamed
_RENAMED = {"events": "read", "similar": "read"}
PREFIX = "snr_"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ApiKeyError(SenriError):
    """A key file that cannot be read or written, or a bad key name or scope."""


@dataclass(frozen=True)
class ApiKey:
    name: str
    scopes: frozenset[str]
    sha256: str
    rate: float | None = None
    """Requests per minute this key may make; None: the server's default."""

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def default_path() -> Path:
    from senri import config

    return config.home() / "api_keys.json"


class KeyRing:
    """The keys a server accepts; `check` compares digests in constant time.

    Example:
        >>> ring = KeyRing(Path("keys.json"))  # doctest: +SKIP
        >>> key = ring.create("dashboard", ["ask", "read"])  # shown once
        >>> ring.check(key).name
        'dashboard'
    """

    def __init__(
        self, path: Path, keys: Iterable[ApiKey] = (), stamp: tuple[int, ...] | None = None
    ) -> None:
        self.path = path
        self.keys = {k.name: k for k in keys}
        self.stamp = stamp

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        """The keys in `path` (none when the file does not exist)."""
        try:
            stamp = _stamp(path)
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            raise ApiKeyError(f"cannot read API keys from {path}: {exc}") from None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            keys = [
                ApiKey(
                    str(k["name"]),
                    frozenset(_RENAMED.get(s, s) for s in k["scopes"]),
                    str(k["sha256"]),
                    _rate(k.get("rate")),
                )
                for k in doc["keys"]
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ApiKeyError(f"cannot read API keys from {path}: {exc}") from None
        for key in keys:
            _check_scopes(key.scopes)
        return cls(path, keys, stamp)

    def reloaded(self) -> KeyRing:
        """This ring, or the file's keys when the file changed since it was read (so a key
        revoked with `senri keys revoke` stops working without a restart). A file that has
        become unreadable keeps the keys last read, so a bad edit locks no one out."""
        try:
            stamp: tuple[int, ...] | None = _stamp(self.path)
        except OSError:
            stamp = None
        if stamp == self.stamp:
            return self
        try:
            return KeyRing.load(self.path)
        except ApiKeyError:
            return self

    def save(self) -> None:
        """Write the file atomically, readable by its owner only (it holds digests, not keys)."""
        doc = {
            "keys": [
                {
                    "name": k.name,
                    "scopes": sorted(k.scopes),
                    "sha256": k.sha256,
                    **({"rate": k.rate} if k.rate is not None else {}),
                }
                for k in self.keys.values()
            ]
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
        os.replace(tmp, self.path)
        self.stamp = _stamp(self.path)

    def create(self, name: str, scopes: Iterable[str] = (), rate: float | None = None) -> str:
        """A new key called `name` with `scopes` (none: read and ask) and `rate` requests per
        minute (None: the server's default); returns the key, the only time it is seen."""
        if not name or not all(c.isalnum() or c in "-_." for c in name):
            raise ApiKeyError(f"a key name is letters, digits, '-', '_' or '.'; got {name!r}")
        if name in self.keys:
            raise ApiKeyError(f"a key called {name!r} exists; revoke it first")
        wanted = frozenset(scopes) or frozenset(DEFAULT_SCOPES)
        _check_scopes(wanted)
        key = PREFIX + secrets.token_urlsafe(32)
        self.keys[name] = ApiKey(name, wanted, digest(key), _rate(rate))
        return key

    def revoke(self, name: str) -> None:
        if self.keys.pop(name, None) is None:
            raise ApiKeyError(f"no key called {name!r}")

    def check(self, presented: str) -> ApiKey | None:
        """The key whose digest matches `presented`, or None; every entry is compared."""
        found = None
        wanted = digest(presented)
        for key in self.keys.values():
            if hmac.compare_digest(key.sha256, wanted):
                found = key
        return found

    def __bool__(self) -> bool:
        return bool(self.keys)


def _stamp(path: Path) -> tuple[int, ...]:
    """What changes when the file is rewritten (a save replaces it, so the inode changes)."""
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _rate(value: Any) -> float | None:
    if value is None:
        return None
    rate = float(value)
    if not 0 < rate < float("inf"):
        raise ApiKeyError(f"a key's rate is a positive number of requests per minute; got {value}")
    return rate


def _check_scopes(scopes: Iterable[str]) -> None:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ApiKeyError(f"unknown scope(s) {', '.join(unknown)}; scopes: {', '.join(SCOPES)}")
