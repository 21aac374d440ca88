"""``/healthz`` (the process is alive) and ``/readyz`` (it can serve: database and schema).

An orchestrator restarts a process whose ``/healthz`` fails, and sends no traffic to one whose
``/readyz`` fails. So ``/healthz`` checks nothing outside the process (a database outage must
not restart every replica), while ``/readyz`` reads the schema revision: the database must
answer, within :data:`READY_TIMEOUT` seconds, and be migrated to the revision this code
expects (a replica of a new version waits until ``scim-server migrate`` has run). A failure
answers 503 with the reason, which names no host, user or password.
"""

import logging
from functools import cache

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from scim_server.storage.database import Database
from scim_server.storage.migrate import current_revision
from scim_server.storage.migrate import head_revision

log = logging.getLogger(__name__)

READY_TIMEOUT = 5.0
"""Seconds the database has to answer a readiness probe (Kubernetes waits 1 s by default:
set ``timeoutSeconds`` above this)."""


@cache
def expected_revision() -> str | None:
    """Return the schema revision this code needs (read from the shipped migrations once)."""
    return head_revision()


async def healthz(request: Request) -> JSONResponse:
    """Answer that the process is alive (no dependency is checked)."""
    return JSONResponse({"status": "ok"})


class Readiness:
    """The readiness probe of one database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def problem(self) -> str | None:
        """Return why this process cannot serve, or ``None`` when it can."""
        try:
            with anyio.fail_after(READY_TIMEOUT):
                revision = await current_revision(self.database.engine)
        except TimeoutError:
            return f"database did not answer within {READY_TIMEOUT:g} s"
        except Exception as error:  # any failure to reach the database means "not ready"
            log.warning("/readyz: the database cannot be read: %s: %s", type(error).__name__, error)
            return f"database unreachable ({type(error).__name__})"
        expected = expected_revision()
        if revision is None:
            return "database schema missing: run scim-server migrate"
        if revision != expected:
            return (
                f"database schema at revision {revision}, this version needs {expected}: "
                "run scim-server migrate"
            )
        return None

    async def serve(self, request: Request) -> JSONResponse:
        """Answer 200 when ready, else 503 with the reason."""
        problem = await self.problem()
        if problem is not None:
            return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)
        return JSONResponse({"status": "ok", "schema": expected_revision()})


def health_routes(database: Database) -> list[Route]:
    """Return the routes of both probes."""
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", Readiness(database).serve, methods=["GET"]),
    ]
