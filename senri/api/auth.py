"""API keys with scopes for `senri serve`: who may read events, ask, or search by image.

Keys live in a JSON file (``$SENRI_HOME/api_keys.json`` unless `senri serve --api-keys` names
another), one entry per key: a name, its scopes and the SHA-256 of the key. The key itself is
shown once, when `senri keys add` makes it, and never stored. A request presents it as
``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; a missing or unknown key is 401, a key
without the route's scope 403. `/healthz` stays open for load balancers and probes.

Scopes:
    events   GET/POST /events, GET /frames (the archive's events and thumbnails)
    ask      POST /ask, POST /vqa (questions over the archive and about a picture)
    similar  POST /similar, POST /faces/search (search the collections by image)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from senri.errors import SenriError

SCOPES: dict[str, str] = {
    "events": "read events and frame thumbnails (GET/POST /events, GET /frames)",
    "ask": "ask questions over the archive and about pictures (POST /ask, /vqa)",
    "similar": "search collections by image (POST /similar, /faces/search)",
}
PREFIX = "snr_"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ApiKeyError(SenriError):
    """A key file that cannot be read or written, or a bad key name or scope."""


@dataclass(frozen=True)
class ApiKey:
    name: str
    scopes: frozenset[str]
    sha256: str


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def default_path() -> Path:
    from senri import config

    return config.home() / "api_keys.json"


class KeyRing:
    """The keys a server accepts; `check` compares digests in constant time.

    Example:
        >>> ring = KeyRing(Path("keys.json"))  # doctest: +SKIP
        >>> key = ring.add("dashboard", ["ask", "events"])  # shown once
        >>> ring.check(key).name
        'dashboard'
    """

    def __init__(self, path: Path, keys: Iterable[ApiKey] = ()) -> None:
        self.path = path
        self.keys = {k.name: k for k in keys}

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        """The keys in `path` (none when the file does not exist)."""
        if not path.exists():
            return cls(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            keys = [
                ApiKey(str(k["name"]), frozenset(k["scopes"]), str(k["sha256"]))
                for k in doc["keys"]
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ApiKeyError(f"cannot read API keys from {path}: {exc}") from None
        for key in keys:
            _check_scopes(key.scopes)
        return cls(path, keys)

    def save(self) -> None:
        """Write the file atomically, readable by its owner only (it holds digests, not keys)."""
        doc = {
            "keys": [
                {"name": k.name, "scopes": sorted(k.scopes), "sha256": k.sha256}
                for k in self.keys.values()
            ]
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
        os.replace(tmp, self.path)

    def add(self, name: str, scopes: Iterable[str]) -> str:
        """A new key called `name` with `scopes`; returns the key (the only time it is seen)."""
        if not name or not all(c.isalnum() or c in "-_." for c in name):
            raise ApiKeyError(f"a key name is letters, digits, '-', '_' or '.'; got {name!r}")
        if name in self.keys:
            raise ApiKeyError(f"a key called {name!r} exists; remove it first")
        wanted = frozenset(scopes) or frozenset(SCOPES)
        _check_scopes(wanted)
        key = PREFIX + secrets.token_urlsafe(32)
        self.keys[name] = ApiKey(name, wanted, digest(key))
        return key

    def remove(self, name: str) -> None:
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


def _check_scopes(scopes: Iterable[str]) -> None:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ApiKeyError(f"unknown scope(s) {', '.join(unknown)}; scopes: {', '.join(SCOPES)}")


def requirement(ring: KeyRing | None) -> Callable[[str], list[Any]]:
    """`needs(scope)`: the FastAPI dependencies a route adds to require `scope` (none when
    the server runs without keys). They declare both header schemes in the OpenAPI document."""
    from fastapi import Depends, HTTPException, Security
    from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

    header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")
    bearer = HTTPBearer(auto_error=False, description="an API key as a bearer token")

    def needs(scope: str) -> list[Any]:
        if ring is None:
            return []

        def check(
            api_key: str | None = Security(header),
            token: HTTPAuthorizationCredentials | None = Security(bearer),
        ) -> ApiKey:
            presented = api_key or (token.credentials if token else None)
            if not presented:
                raise HTTPException(
                    401,
                    "an API key is required: send X-API-Key or Authorization: Bearer",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            key = ring.check(presented)
            if key is None:
                raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
            if scope not in key.scopes:
                raise HTTPException(403, f"key {key.name!r} lacks the {scope!r} scope")
            return key

        return [Depends(check)]

    return needs
