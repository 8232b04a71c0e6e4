"""Who may call which route of `senri serve`, how often, and the record of what changed.

`Guard.needs(scope)` gives the FastAPI dependencies of a route:

- with keys (`senri.api.auth.KeyRing`): the key is read from ``X-API-Key`` or ``Authorization:
  Bearer``; none or an unknown one is 401 with ``WWW-Authenticate: Bearer``, a key without the
  scope 403. The key file is re-read when it changes, so a revoked key stops at once;
- per caller (the key's name, or the client address on a server without keys), a token bucket
  of `rate` requests per minute with bursts of ten seconds' worth; an empty bucket is 429 with
  ``Retry-After`` in whole seconds.

`AuditLog` appends one JSON line per audited request (writes and admin routes, allowed or
not): time, key, client, method, path and status.

Example:
    >>> guard = Guard(KeyRing.load(path), rate=600)            # doctest: +SKIP
    >>> @app.get("/events", dependencies=guard.needs("read"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from senri.api.auth import ApiKey, KeyRing

try:
    from fastapi import Depends, HTTPException, Request, Security
    from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from senri.errors import MissingDependencyError

    raise MissingDependencyError("fastapi", "the HTTP API (pip install fastapi)") from exc

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
BURST_S = 10.0
"""A bucket holds this many seconds' worth of requests."""
_MAX_CALLERS = 10_000


class RateLimiter:
    """Token buckets per caller; `take` answers 0 when a request may go, else seconds to wait."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, caller: str, per_minute: float) -> float:
        per_s = per_minute / 60.0
        size = max(1.0, per_s * BURST_S)
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(caller, (size, now))
            tokens = min(size, tokens + (now - at) * per_s)
            if tokens >= 1.0:
                self._buckets[caller] = (tokens - 1.0, now)
                return 0.0
            self._buckets[caller] = (tokens, now)
            if len(self._buckets) > _MAX_CALLERS:  # forget the callers whose buckets are full
                self._buckets = {
                    c: (t, a) for c, (t, a) in self._buckets.items() if t + (now - a) * per_s < size
                }
            return (1.0 - tokens) / per_s


class AuditLog:
    """JSON lines appended to `path` (made readable by its owner only); `tail` reads them back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, entry: dict[str, Any]) -> None:
        line = json.dumps({"time": round(time.time(), 3), **entry}, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line)

    def tail(self, n: int) -> list[dict[str, Any]]:
        """The last `n` entries, oldest first (lines that do not parse are skipped)."""
        try:
            with self.path.open(encoding="utf-8") as fh:
                lines = deque(fh, maxlen=n)
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


class Guard:
    """The keys, rate limits and audit log of one server; see the module docstring."""

    def __init__(
        self,
        keys: KeyRing | None = None,
        *,
        rate: float | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        if rate is not None and not 0 < rate < math.inf:
            raise ValueError(f"rate must be a positive number of requests per minute; got {rate}")
        self.keys = keys if keys else None
        self.rate = rate
        self.audit = audit
        self.limiter = RateLimiter()
        self._lock = threading.Lock()

    def ring(self) -> KeyRing | None:
        """The key ring, re-read when its file changed."""
        if self.keys is None:
            return None
        with self._lock:
            self.keys = self.keys.reloaded()
            return self.keys

    def statuses(self) -> tuple[int, ...]:
        """The refusals every guarded route may answer, for the OpenAPI document."""
        return (*((401, 403) if self.keys else ()), *((429,) if self.rate or self.keys else ()))

    def _limit(self, caller: str, key: ApiKey | None) -> None:
        per_minute = key.rate if key is not None and key.rate is not None else self.rate
        if per_minute is None:
            return
        wait = self.limiter.take(caller, per_minute)
        if wait > 0:
            raise HTTPException(
                429,
                f"rate limit of {per_minute:g} requests per minute reached; retry in {wait:.1f} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    def needs(self, scope: str) -> list[Any]:
        """The dependencies of a route that requires `scope` (and counts against the limit)."""
        if self.keys is None:

            def open_route(request: Request) -> None:
                request.state.key = None
                self._limit(f"client:{request.client.host if request.client else '?'}", None)

            return [Depends(open_route)]

        header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")
        bearer = HTTPBearer(auto_error=False, description="an API key as a bearer token")

        def check(
            request: Request,
            api_key: str | None = Security(header),
            token: HTTPAuthorizationCredentials | None = Security(bearer),
        ) -> ApiKey:
            request.state.key = None
            presented = api_key or (token.credentials if token else None)
            if not presented:
                raise HTTPException(
                    401,
                    "an API key is required: send X-API-Key or Authorization: Bearer",
                    headers=_CHALLENGE,
                )
            ring = self.ring()
            key = ring.check(presented) if ring is not None else None
            if key is None:
                raise HTTPException(401, "unknown API key", headers=_CHALLENGE)
            request.state.key = key
            if not key.allows(scope):
                raise HTTPException(403, f"key {key.name!r} lacks the {scope!r} scope")
            self._limit(f"key:{key.name}", key)
            return key

        return [Depends(check)]

    def sees_all(self, request: Request) -> bool:
        """Whether the caller of `request` may see faces and plates (the ``sensitive`` scope);
        on a server without keys, everyone may."""
        if self.keys is None:
            return True
        key = getattr(request.state, "key", None)
        return key is not None and key.allows("sensitive")
