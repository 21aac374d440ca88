"""The Auth0 Management API emulator as an ASGI application (auth0.md §9).

Each Management API request goes through the same steps as on a real tenant, in this order:
the rate-limit bucket (its ``X-RateLimit-*`` headers go on every answer, a 429 when it is empty),
routing on the raw path, the bearer token (401 ``Invalid token.``), injected faults, then the
handler. Every answer is logged in :attr:`Emulator.calls`.
"""

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import Response
from starlette.routing import Mount
from starlette.routing import Route
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

from scim_server.sandbox import directory
from scim_server.sandbox import errors
from scim_server.sandbox import invitations
from scim_server.sandbox import organizations
from scim_server.sandbox import scim_configuration
from scim_server.sandbox import users
from scim_server.sandbox.admin import admin_routes
from scim_server.sandbox.calls import CallLog
from scim_server.sandbox.calls import CallRecord
from scim_server.sandbox.faults import Fault
from scim_server.sandbox.faults import FaultInjector
from scim_server.sandbox.inbound_scim import PREFIX as SCIM_PREFIX
from scim_server.sandbox.inbound_scim import InboundScimServer
from scim_server.sandbox.ratelimit import Admission
from scim_server.sandbox.ratelimit import TokenBucket
from scim_server.sandbox.routing import Call
from scim_server.sandbox.routing import Router
from scim_server.sandbox.tenant import Tenant
from scim_server.sandbox.tokens import DEFAULT_TOKEN_LIFETIME
from scim_server.sandbox.tokens import GrantError
from scim_server.sandbox.tokens import TokenIssuer

_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


async def _read_body(request: Request) -> Any:
    """Parse a JSON or form-encoded body; Auth0 accepts both on writes (auth0.md §9)."""
    raw = await request.body()
    if not raw:
        return None
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode()))
    try:
        return json.loads(raw)
    except ValueError:
        raise errors.invalid_body("Invalid JSON") from None


def _raw_path(request: Request) -> str:
    """Return the path as sent (ids keep their escapes), below the mount point if mounted.

    ``serve --sandbox`` mounts the emulator at ``/__auth0__``, where the support commands reach
    it over HTTP; the raw path still carries that prefix.
    """
    raw = request.scope.get("raw_path")
    # httpx's ASGITransport passes the query string in raw_path; uvicorn does not.
    path = raw.decode("latin-1").split("?", 1)[0] if raw else str(request.scope["path"])
    mount = str(request.scope.get("root_path", "")).rstrip("/")
    return path[len(mount) :] if mount and path.startswith(mount + "/") else path


class Emulator:
    """A stateful emulated tenant served as ASGI, with its state, faults and call log exposed.

    :param client_id: The only client allowed to get tokens.
    :param client_secret: Its secret.
    :param rps: The tenant-global Management API rate (``None``: unlimited, headers still sent).
    :param burst: The bucket size (default: ``rps`` rounded up).
    :param clock: Wall-clock time in epoch seconds, for timestamps, token expiry and the bucket.
    :param admin: Serve the ``/__emulator__`` surface for out-of-process tests.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        rps: float | None = None,
        burst: int | None = None,
        clock: Callable[[], float] = time.time,
        token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
        jwt_tokens: bool = True,
        login_url: str = "https://app.example.test/login",
        admin: bool = True,
        fault_seed: int | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        self.tenant = Tenant(clock=clock, login_url=login_url)
        self.tokens = TokenIssuer(
            client_id=client_id,
            client_secret=client_secret,
            clock=clock,
            lifetime=token_lifetime,
            jwt_like=jwt_tokens,
        )
        self.bucket = TokenBucket(rps=rps, burst=burst, clock=clock)
        self.faults = FaultInjector(fault_seed)
        self.calls = CallLog()
        self._router = Router(
            users.ENDPOINTS
            + organizations.ENDPOINTS
            + invitations.ENDPOINTS
            + directory.ENDPOINTS
            + scim_configuration.ENDPOINTS
        )
        routes: list[Route | Mount] = [Route("/oauth/token", self._token, methods=["POST"])]
        if admin:
            routes.append(Mount("/__emulator__", routes=admin_routes(self)))
        routes.append(Route("/api/v2/{rest:path}", self._management, methods=_METHODS))
        self.inbound_scim = InboundScimServer(
            self.tenant, clock=clock, calls=self.calls, faults=self.faults
        )
        routes.append(Route(f"{SCIM_PREFIX}{{rest:path}}", self._inbound_scim, methods=_METHODS))
        self.app = Starlette(routes=routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection (so uvicorn and httpx.ASGITransport take the emulator itself)."""
        await self.app(scope, receive, send)

    def _log(self, request: Request, endpoint: str, status: int) -> None:
        self.calls.record(
            CallRecord(self.clock(), request.method, _raw_path(request), endpoint, status)
        )

    async def _inbound_scim(self, request: Request) -> Response:
        return await self.inbound_scim.serve(request, _raw_path(request))

    async def _token(self, request: Request) -> Response:
        try:
            params = await _read_body(request)
            if not isinstance(params, dict):
                raise GrantError(400, "invalid_request", "The request body must be an object")
            status, body = 200, self.tokens.grant(params)
        except errors.ManagementError:
            status, body = 400, {"error": "invalid_request", "error_description": "Invalid body"}
        except GrantError as error:
            status, body = error.status, error.body
        self._log(request, "oauth.token", status)
        return JSONResponse(body, status, headers={"Cache-Control": "no-store"})

    async def _management(self, request: Request) -> Response:
        admission = self.bucket.admit()
        name = "unknown"
        try:
            matched = self._router.match(request.method, _raw_path(request))
            if matched is None:
                raise errors.ManagementError(404, "Not Found")
            found, params = matched
            name = found.name
            if not self.tokens.is_valid(request.headers.get("authorization")):
                raise errors.invalid_token()
            if found.scope is not None and not self.tokens.grants(found.scope):
                raise errors.insufficient_scope(found.scope)
            if not admission.allowed:
                raise errors.too_many_requests()
            verdict = self.faults.draw(name)
            if verdict.latency:
                await asyncio.sleep(verdict.latency)
            failure = verdict.failure
            if failure is not None and not failure.after_success:
                self._fail(failure)
            call = Call(self.tenant, params, request.query_params, await _read_body(request))
            reply = found.handler(call)
            if failure is not None:
                self._fail(failure)
            status, body = reply.status, reply.body
        except _InjectedRateLimit as error:
            status, body, admission = error.status, error.body(), error.admission
        except errors.ManagementError as error:
            status, body = error.status, error.body()
        self._log(request, name, status)
        headers = admission.headers()
        if body is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(body, status, headers=headers)

    def _fail(self, failure: Fault) -> None:
        """Raise the injected failure; a 429 also reports an empty bucket, as Auth0 would."""
        if failure.status == 429:
            raise _InjectedRateLimit(self.bucket.exhausted(failure.retry_after))
        raise errors.ManagementError(failure.status or 503, "Injected fault")


class _InjectedRateLimit(errors.ManagementError):
    """An injected 429, carrying the empty-bucket headers that go with it."""

    def __init__(self, admission: Admission) -> None:
        limit = errors.too_many_requests()
        super().__init__(limit.status, limit.message, limit.error_code)
        self.admission = admission


def create_emulator_app(
    *,
    client_id: str,
    client_secret: str,
    rps: float | None = None,
    burst: int | None = None,
    **options: Any,
) -> Emulator:
    """Build an emulator; ``options`` are the other :class:`Emulator` keyword arguments."""
    return Emulator(
        client_id=client_id, client_secret=client_secret, rps=rps, burst=burst, **options
    )
