"""The ASGI application: composition root of the server (DESIGN §2)."""

import time
from collections.abc import AsyncIterator
from collections.abc import Callable
from contextlib import asynccontextmanager

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.routing import Mount
from starlette.routing import Route
from starlette.types import ASGIApp

from scim_server.auth0_gateway import Auth0Gateway
from scim_server.config import Settings
from scim_server.intake.tenancy import Tenancy
from scim_server.provisioning.runtime import build_worker
from scim_server.web.admin_api import AdminApi
from scim_server.web.admin_page import AdminPage
from scim_server.web.health import health_routes
from scim_server.web.hooks import LoginHook
from scim_server.web.logs import RequestMiddleware
from scim_server.web.metrics import HttpMetrics
from scim_server.web.metrics import MetricsEndpoint
from scim_server.web.metrics import collectors_of
from scim_server.web.rate_limits import AuthFailureThrottle
from scim_server.web.rate_limits import RateLimits
from scim_server.web.scim import ScimEndpoints
from scim_server.web.unrouted import unrouted

SCIM_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
SANDBOX_PATH = "/__auth0__"
"""Where ``serve --sandbox`` shows its emulator (``/__auth0__/__emulator__/state``)."""


def create_app(
    settings: Settings,
    *,
    gateway: Auth0Gateway | None = None,
    emulator: ASGIApp | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """Build the application; the database is opened lazily and closed at shutdown.

    :param gateway: Auth0, for the provisioning worker the lifespan runs (and closes at
        shutdown); without one no worker runs, SCIM writes only queue work (tests, and servers
        whose Auth0 credentials are not set yet).
    :param emulator: The sandbox's Auth0 emulator, mounted at ``/__auth0__`` for people to look.
    :param clock: The monotonic clock the request limits refill by (``web/rate_limits.py``).
    :raises scim_server.mapping.profile.MappingError: When a mapping profile is invalid.
    """
    tenancy = Tenancy.open(settings)
    worker = None if gateway is None else build_worker(settings, tenancy.database, gateway)
    wake = worker.wake if worker is not None else _no_worker
    limits = RateLimits.of(settings, clock=clock)
    scim = ScimEndpoints(
        tenancy=tenancy,
        max_body_bytes=settings.max_body_bytes,
        public_url=settings.public_url,
        after_write=wake,
        limiter=limits.per_org,
    )
    hook = LoginHook(database=tenancy.database, secret=settings.hook_secret, wake=wake)
    http_metrics = HttpMetrics()
    metrics = MetricsEndpoint(
        database=tenancy.database,
        collectors=[http_metrics, *collectors_of(gateway=gateway, worker=worker)],
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            if worker is None:
                yield
                return
            async with anyio.create_task_group() as group:
                group.start_soon(worker.run)
                yield
                group.cancel_scope.cancel()
        finally:
            if gateway is not None:
                await gateway.aclose()
            await tenancy.close()

    routes: list[BaseRoute] = [
        *health_routes(tenancy.database),
        metrics.route(),
        Route("/hooks/auth0/login", hook.serve, methods=["POST"]),
        Route("/scim/v2/{org}", scim.serve, methods=SCIM_METHODS),
        Route("/scim/v2/{org}/{path:path}", scim.serve, methods=SCIM_METHODS),
        *AdminPage().routes,
        Mount(
            "/admin/api",
            routes=AdminApi.build(
                settings, tenancy=tenancy, wake=wake, limiter=limits.per_caller
            ).routes(),
        ),
    ]
    if emulator is not None:
        routes.append(Mount(SANDBOX_PATH, app=emulator))
    middleware = [
        Middleware(RequestMiddleware, observe=http_metrics.observe),
        Middleware(AuthFailureThrottle, limiter=limits.failures),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=middleware,
        exception_handlers={404: unrouted, 405: unrouted},
    )
    app.state.tenancy = tenancy
    app.state.worker = worker
    return app


def _no_worker() -> None:
    """Nothing to wake: this process runs no worker (another one polls the queue)."""
