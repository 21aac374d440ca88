"""Auth0's Inbound SCIM server at ``/scim/v2/connections/{connection_id}`` (auth0.md §13).

The SCIM protocol is scim2-server's (``ScimService`` and ``ScimHandler``, RFC 7644 error bodies);
the data is :class:`~scim_server.sandbox.inbound_storage.ConnectionDirectory`. Each request goes
through the same steps as a Management API request, in this order: the connection's own
rate-limit bucket (25 requests per second by default, Auth0's ``X-RateLimit-*`` headers on every
answer), the connection (404 unless it is SAML, OIDC, Okta or Entra *and* has a SCIM
configuration), the bearer (401 unless it is a live SCIM token of that connection), the empty
bucket (429), injected faults, then the operation, which needs its scope (``get:users``,
``post:users``…; 403 otherwise). Every answer is logged in the emulator's call log under names
such as ``inbound_scim.users.create``, which fault injection matches too.
"""

import asyncio
import json
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import unquote

from scim2_models import URI
from scim2_models import AuthenticationScheme
from scim2_models import Bulk
from scim2_models import ChangePassword
from scim2_models import EnterpriseUser
from scim2_models import Error
from scim2_models import ETag
from scim2_models import Filter
from scim2_models import ForbiddenException
from scim2_models import Group
from scim2_models import NotFoundException
from scim2_models import Pagination
from scim2_models import Patch
from scim2_models import Reference
from scim2_models import ResourceType
from scim2_models import SchemaExtension
from scim2_models import SCIMException
from scim2_models import ScimProvider
from scim2_models import ServiceProviderConfig
from scim2_models import Sort
from scim2_models import UnauthorizedException
from scim2_models import User
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation
from scim2_server.routing import Target
from scim2_server.service import ScimService
from starlette.requests import Request
from starlette.responses import Response

from scim_server.sandbox.calls import CallLog
from scim_server.sandbox.calls import CallRecord
from scim_server.sandbox.faults import Fault
from scim_server.sandbox.faults import FaultInjector
from scim_server.sandbox.inbound_storage import ConnectionDirectory
from scim_server.sandbox.ratelimit import Admission
from scim_server.sandbox.ratelimit import TokenBucket
from scim_server.sandbox.scim_state import SCIM_STRATEGIES
from scim_server.sandbox.tenant import Tenant

PREFIX = "/scim/v2/connections/"

DEFAULT_RPS = 25.0
"""Auth0's Inbound SCIM rate on Enterprise and B2B plans: 25 requests per second per connection."""

MAX_RESULTS = 100

_VERBS = {
    Operation.query: ("get", "get"),
    Operation.search: ("get", "list"),
    Operation.search_with_body: ("get", "list"),
    Operation.create: ("post", "create"),
    Operation.replace: ("put", "replace"),
    Operation.patch: ("patch", "patch"),
    Operation.delete: ("delete", "delete"),
}
"""Operation -> (the verb of its scope, the verb of its call-log name)."""


def _resource_types() -> list[ResourceType]:
    return [
        ResourceType(
            id="User",
            name="User",
            endpoint=Reference[URI]("/Users"),
            schema_=Reference[URI](str(User.__schema__)),
            schema_extensions=[
                SchemaExtension(
                    schema_=Reference[URI](str(EnterpriseUser.__schema__)), required=False
                )
            ],
        ),
        ResourceType(
            id="Group",
            name="Group",
            endpoint=Reference[URI]("/Groups"),
            schema_=Reference[URI](str(Group.__schema__)),
            schema_extensions=[],
        ),
    ]


def _config() -> ServiceProviderConfig:
    """Announce what Auth0 supports: PATCH and ``eq`` filters; no bulk, sorting, ETags or passwords."""
    return ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Auth0 SCIM token",
                description="A SCIM token of the connection",
            )
        ],
        pagination=Pagination(
            index=True,
            cursor=False,
            default_pagination_method=Pagination.DefaultPaginationMethod.index,
            default_page_size=MAX_RESULTS,
            max_page_size=MAX_RESULTS,
        ),
    )


class _ScopedService(ScimService):
    """The SCIM service whose operations each need the matching scope of the SCIM token."""

    def authorize(self, request: ScimRequest, target: Target, resource_type: ResourceType) -> None:
        """Refuse an operation the token's scopes (the request's subject) do not cover."""
        scope = f"{_VERBS[target.operation][0]}:{str(resource_type.name).lower()}s"
        if scope not in request.subject:
            raise ForbiddenException(detail=f"The SCIM token lacks the {scope} scope")


def _name_of(target: Target) -> str:
    """Return the call-log name of an operation, such as ``inbound_scim.users.create``."""
    if target.endpoint is None or target.operation not in _VERBS:
        return "inbound_scim.discovery"
    return f"inbound_scim.{target.endpoint.lower()}.{_VERBS[target.operation][1]}"


class _Failure(Exception):
    """An answer decided before the operation: a 429 or an injected fault."""

    def __init__(self, status: int, detail: str, admission: Admission | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.admission = admission


class InboundScimServer:
    """The Inbound SCIM endpoints of every enterprise connection of one emulated tenant.

    :param rps: Each connection's rate; set it before a connection's first request.
    """

    def __init__(
        self,
        tenant: Tenant,
        *,
        clock: Callable[[], float],
        calls: CallLog,
        faults: FaultInjector,
        rps: float = DEFAULT_RPS,
    ) -> None:
        self._tenant = tenant
        self._clock = clock
        self._calls = calls
        self._faults = faults
        self.rps = rps
        self._buckets: dict[str, TokenBucket] = {}
        self._service = _ScopedService(
            ScimProvider(
                models=[User, EnterpriseUser, Group],
                resource_types=_resource_types(),
                config=_config(),
            )
        )

    def _bucket(self, connection_id: str) -> TokenBucket:
        if connection_id not in self._buckets:
            self._buckets[connection_id] = TokenBucket(rps=self.rps, burst=None, clock=self._clock)
        return self._buckets[connection_id]

    def _directory(self, connection_id: str) -> ConnectionDirectory:
        """Return the directory of a connection that serves SCIM, else raise a SCIM 404."""
        connection = self._tenant.connections.get(connection_id)
        configuration = self._tenant.inbound_scim.configurations.get(connection_id)
        if connection is None or connection["strategy"] not in SCIM_STRATEGIES or not configuration:
            raise NotFoundException(detail=f"No SCIM endpoint for connection {connection_id}")
        return ConnectionDirectory(self._tenant, connection, configuration)

    def _scopes(self, connection_id: str, authorization: str | None) -> list[str]:
        """Return the scopes of the live SCIM token of this connection, else raise a SCIM 401."""
        scheme, _, bearer = (authorization or "").partition(" ")
        token = (
            self._tenant.inbound_scim.token_presented(connection_id, bearer, now=self._clock())
            if scheme.lower() == "bearer" and bearer
            else None
        )
        if token is None:
            raise UnauthorizedException(detail="Invalid or expired SCIM token")
        return token.scopes

    async def serve(self, request: Request, raw_path: str) -> Response:
        """Answer one request whose raw path starts with ``/scim/v2/connections/``."""
        raw_id, _, rest = raw_path.removeprefix(PREFIX).partition("/")
        connection_id = unquote(raw_id)
        admission = self._bucket(connection_id).admit()
        name = "inbound_scim.unknown"
        try:
            directory = self._directory(connection_id)
            scim_request = ScimRequest(
                method=request.method,
                base_url=f"{str(request.base_url).rstrip('/')}{PREFIX}{raw_id}",
                path=f"/{rest}",
                query=dict(request.query_params),
                headers=list(request.headers.items()),
                body=await request.body(),
                subject=self._scopes(connection_id, request.headers.get("authorization")),
            )
            if not admission.allowed:
                raise _Failure(429, "Too many requests")
            with self._service.provider:
                name = _name_of(self._service.match(scim_request))
            response = await self._handle(name, scim_request, directory, connection_id)
        except SCIMException as error:
            response = self._service.error_response(error)
        except _Failure as failure:
            admission = failure.admission or admission
            response = ScimResponse(
                HTTPStatus(failure.status),
                Error(status=failure.status, detail=failure.detail).model_dump(),
            )
        self._calls.record(
            CallRecord(self._clock(), request.method, raw_path, name, int(response.status))
        )
        body = None if response.body is None else json.dumps(response.body)
        headers = {**response.headers, **admission.headers()}
        return Response(body, int(response.status), headers=headers)

    async def _handle(
        self,
        name: str,
        scim_request: ScimRequest,
        directory: ConnectionDirectory,
        connection_id: str,
    ) -> ScimResponse:
        """Run the operation between the injected faults: before it, or after its work is done."""
        verdict = self._faults.draw(name)
        if verdict.latency:
            await asyncio.sleep(verdict.latency)
        failure = verdict.failure
        if failure is not None and not failure.after_success:
            raise self._injected(failure, connection_id)
        response = ScimHandler(self._service, directory).handle(scim_request)
        if failure is not None:
            raise self._injected(failure, connection_id)
        return response

    def _injected(self, fault: Fault, connection_id: str) -> _Failure:
        """Return an injected failure; a 429 also reports the connection's bucket as empty."""
        if fault.status == 429:
            exhausted = self._bucket(connection_id).exhausted(fault.retry_after)
            return _Failure(429, "Too many requests", exhausted)
        return _Failure(fault.status or 503, "Injected fault")
