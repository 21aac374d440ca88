"""The ASGI application: composition root of the server (DESIGN §2)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from scim_server.config import Settings
from scim_server.provisioning.scim import Tenancy
from scim_server.web.scim import ScimEndpoints

SCIM_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(settings: Settings) -> Starlette:
    """Build the application; the database is opened lazily and closed at shutdown.

    :raises scim_server.mapping.profile.MappingError: When a mapping profile is invalid.
    """
    tenancy = Tenancy.open(settings)
    scim = ScimEndpoints(
        tenancy=tenancy, max_body_bytes=settings.max_body_bytes, public_url=settings.public_url
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await tenancy.close()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/scim/v2/{org}", scim.serve, methods=SCIM_METHODS),
            Route("/scim/v2/{org}/{path:path}", scim.serve, methods=SCIM_METHODS),
        ],
        lifespan=lifespan,
    )
    app.state.tenancy = tenancy
    return app


async def healthz(request: Request) -> JSONResponse:
    """Answer that the process is alive (no dependency is checked)."""
    return JSONResponse({"status": "ok"})
