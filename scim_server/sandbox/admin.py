"""The ``/__emulator__`` admin surface: state, call log, faults and seeding over HTTP.

It exists for tests that run the emulator in another process (``python -m scim_server.sandbox``);
in-process tests use the :class:`~scim_server.sandbox.app.Emulator` attributes directly. It is
unauthenticated: the emulator is a sandbox and must never hold real data.
"""

import dataclasses
from typing import Any
from typing import Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import Response
from starlette.routing import Route

from scim_server.sandbox import errors
from scim_server.sandbox.calls import CallLog
from scim_server.sandbox.faults import Fault
from scim_server.sandbox.faults import FaultInjector
from scim_server.sandbox.seeding import seed_tenant
from scim_server.sandbox.tenant import Tenant


class Emulated(Protocol):
    """What the admin surface reaches into: the emulator's state, call log and faults.

    A protocol rather than the :class:`~scim_server.sandbox.app.Emulator` itself, which serves
    these routes: the app depends on its admin surface, never the reverse.
    """

    tenant: Tenant
    calls: CallLog
    faults: FaultInjector


async def _json(request: Request) -> dict[str, Any]:
    body = await request.json() if await request.body() else {}
    if not isinstance(body, dict):
        raise errors.invalid_body("Expected an object")
    return body


def admin_routes(emulator: Emulated) -> list[Route]:
    """Return the admin routes bound to one emulator."""

    async def state(request: Request) -> Response:
        return JSONResponse(emulator.tenant.snapshot())

    async def calls(request: Request) -> Response:
        if request.method == "DELETE":
            emulator.calls.clear()
            return Response(status_code=204)
        return JSONResponse([dataclasses.asdict(r) for r in emulator.calls.records])

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            emulator.faults.clear()
            return Response(status_code=204)
        try:
            fault = emulator.faults.add(Fault(**await _json(request)))
        except TypeError as error:
            return JSONResponse({"message": str(error)}, 400)
        return JSONResponse(dataclasses.asdict(fault), 201)

    async def seed(request: Request) -> Response:
        return JSONResponse(seed_tenant(emulator.tenant, await _json(request)))

    async def login(request: Request) -> Response:
        body = await _json(request)
        try:
            user = emulator.tenant.log_in(
                connection=body["connection"],
                email=body["email"],
                organization=body.get("organization"),
            )
        except errors.ManagementError as error:
            return JSONResponse(error.body(), error.status)
        return JSONResponse(user)

    async def accept(request: Request) -> Response:
        body = await _json(request)
        try:
            user = emulator.tenant.accept_invitation(
                request.path_params["org_id"],
                request.path_params["invitation_id"],
                connection=body["connection"],
            )
        except errors.ManagementError as error:
            return JSONResponse(error.body(), error.status)
        return JSONResponse(user)

    return [
        Route("/state", state, methods=["GET"]),
        Route("/calls", calls, methods=["GET", "DELETE"]),
        Route("/faults", faults, methods=["POST", "DELETE"]),
        Route("/seed", seed, methods=["POST"]),
        Route("/logins", login, methods=["POST"]),
        Route(
            "/organizations/{org_id}/invitations/{invitation_id}/accept", accept, methods=["POST"]
        ),
    ]
