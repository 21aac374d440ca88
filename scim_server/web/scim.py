"""The SCIM endpoints of every organization: ``/scim/v2/{org}/...`` (DESIGN §3).

Each request is authenticated against the organization in its URL: a token of another
organization answers exactly as an unknown token does (401), so nothing tells one
organization's existence or data to another. The request then runs in one database
transaction over a storage bound to that organization, and is committed only when it succeeds.
"""

import json
import logging
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass

from scim2_models import PayloadTooLargeException
from scim2_models import UnauthorizedException
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService
from starlette.requests import Request
from starlette.responses import Response

from scim_server.intake.handler import ScimHandler
from scim_server.intake.request_log import WRITE_METHODS
from scim_server.intake.request_log import ScimWrite
from scim_server.intake.tenancy import Tenancy
from scim_server.storage.tokens import Bearer
from scim_server.web.errors import error_response
from scim_server.web.logs import REQUEST_ID_HEADER as REQUEST_ID_HEADER
from scim_server.web.logs import bind_org
from scim_server.web.logs import bound_request_id
from scim_server.web.rate_limits import RateLimiter
from scim_server.web.rate_limits import admit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScimEndpoints:
    """What the SCIM endpoints need: the tenancy (database and services) and the limits."""

    tenancy: Tenancy
    max_body_bytes: int
    public_url: str | None = None
    after_write: Callable[[], None] | None = None
    """Called after a write is committed: wakes the provisioning worker (DESIGN §6)."""
    limiter: RateLimiter | None = None
    """Requests per organization (``web/rate_limits.py``): 429 over the limit."""

    async def serve(self, request: Request) -> Response:
        """Serve one SCIM request of one organization; log every write, answered or refused."""
        request_id = bound_request_id(request.headers)
        org_key = request.path_params["org"]
        path = "/" + request.path_params.get("path", "")
        service: ScimService = self.tenancy.default_service
        bearer: Bearer | None = None
        body = b""
        try:
            async with self.tenancy.session() as session:
                bearer = await self.tenancy.authenticate(
                    session, org_key=org_key, token=bearer_token(request.headers)
                )
                if bearer is None:
                    raise UnauthorizedException(detail="Missing, invalid or expired bearer token")
                org = bearer.organization
                bind_org(org.key)
                if self.limiter is not None:
                    admit(self.limiter, org.key)  # per organization, once authenticated
                service = self.tenancy.service_for(org)
                body = await read_body(request, self.max_body_bytes)
                scim_request = ScimRequest(
                    method=request.method,
                    base_url=self.base_url(request, org_key),
                    path=path,
                    query=dict(request.query_params),
                    headers=list(request.headers.items()),
                    body=body,
                )
                storage = self.tenancy.storage(
                    session, org, request_id=request_id, actor=bearer.token_name
                )
                response = await ScimHandler(service, storage).handle(scim_request)
                if request.method in WRITE_METHODS:
                    write = ScimWrite(
                        request.method, path, int(response.status), body, response.body
                    )
                    await self.tenancy.record_write(session, bearer, write, request_id=request_id)
                await session.commit()
            if self.after_write is not None and request.method != "GET":
                self.after_write()
        except Exception as exception:  # the one translation point: web/errors.py
            response = error_response(service, exception, request_id=request_id)
            if bearer is not None and request.method in WRITE_METHODS:
                write = ScimWrite(request.method, path, int(response.status), body, response.body)
                await self.record_refusal(bearer, write, request_id=request_id)
        return to_starlette(response, request_id=request_id)

    async def record_refusal(self, bearer: Bearer, write: ScimWrite, *, request_id: str) -> None:
        """Log a refused write in a transaction of its own (the request's was rolled back).

        A log that cannot be written (the database is down) must not turn the refusal the
        client gets into another error: the process log keeps it then.
        """
        try:
            async with self.tenancy.session() as session:
                await self.tenancy.record_write(session, bearer, write, request_id=request_id)
                await session.commit()
        except Exception:
            log.exception("Could not log the refused %s %s", write.method, write.path)

    def base_url(self, request: Request, org_key: str) -> str:
        """Return the organization's SCIM root as the client sees it."""
        root = self.public_url or str(request.base_url)
        return f"{root.rstrip('/')}/scim/v2/{org_key}"


def bearer_token(headers: Mapping[str, str]) -> str:
    """Return the bearer token of a request, or an empty string."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.casefold() == "bearer" else ""


async def read_body(request: Request, limit: int) -> bytes:
    """Read a body up to ``limit`` bytes; a larger one is a 413, without reading it all."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLargeException(detail=f"The request body exceeds {limit} bytes")
    return body


def to_starlette(response: ScimResponse, *, request_id: str) -> Response:
    """Turn a SCIM response into a Starlette response carrying the request id."""
    body = b"" if response.body is None else json.dumps(response.body).encode()
    headers = {**response.headers, REQUEST_ID_HEADER: request_id}
    media_type = headers.pop("Content-Type", None)
    return Response(body, status_code=int(response.status), headers=headers, media_type=media_type)
