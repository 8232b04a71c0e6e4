"""``GET /admin/keys`` and ``GET /admin/audit``: the server's keys and its record of writes.

Both need the ``admin`` scope. Keys are listed by name, scopes and rate, never by value (the
server holds only digests). The audit log is read back newest last, at most `limit` entries.
"""

from __future__ import annotations

from typing import Annotated, Any

from senri.api.auth import SCOPES
from senri.api.guard import Guard

try:
    from fastapi import APIRouter, Query
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from senri.errors import MissingDependencyError

    raise MissingDependencyError("fastapi", "the HTTP API (pip install fastapi)") from exc


def admin_router(guard: Guard) -> APIRouter:
    """The admin routes of a server guarded by `guard`."""
    router = APIRouter(tags=["admin"], dependencies=guard.needs("admin"))

    @router.get("/admin/keys")
    def keys() -> dict[str, Any]:
        """The keys the server accepts now (the file is re-read when it changes)."""
        ring = guard.ring()
        found = list(ring.keys.values()) if ring is not None else []
        return {
            "keys": [
                {
                    "name": k.name,
                    "scopes": [s for s in SCOPES if s in k.scopes],
                    "rate": k.rate if k.rate is not None else guard.rate,
                }
                for k in found
            ],
            "default_rate": guard.rate,
        }

    @router.get("/admin/audit")
    def audit(limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> dict[str, Any]:
        """The last `limit` audited requests, oldest first (none when the log is off)."""
        entries = guard.audit.tail(limit) if guard.audit is not None else []
        return {"entries": entries}

    return router
