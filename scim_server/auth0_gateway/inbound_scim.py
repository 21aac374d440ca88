"""A client of Auth0's Inbound SCIM endpoint of one enterprise connection (mode ``relay``).

``{management_url}/scim/v2/connections/{connection_id}`` creates, reads, finds, patches and
deletes the connection's users ahead of their first login; the SCIM ``id`` it answers is the
Auth0 ``user_id`` (auth0.md §13). The SDK has no client for it, so this is httpx, under the
same rules as the Management API gateway:

- Nothing is retried here (the worker owns retries and idempotency). A 409 is
  :class:`~scim_server.auth0_gateway.errors.Auth0Conflict`, so that a create whose answer was
  lost is looked up (:meth:`InboundScimClient.get_user` by the ``user_id`` Auth0 derives, or
  :meth:`InboundScimClient.find_users`), never sent twice.
- Failures leave as the gateway's error tree: 429 and 5xx, timeouts and network errors are
  ``Auth0Unavailable`` (with the wait Auth0 asked for); a 401 too, since a token rotated by another
  replica is fixed by reloading it, and an expired one stays visible as a failing task until
  ``doctor`` replaces it; 404 is ``Auth0NotFound``; other 4xx are ``Auth0Rejected``, with the
  SCIM ``scimType`` as ``error_code``.
- Each client has its own rate limiter, since Auth0 limits each connection separately
  (25 requests per second on Enterprise plans), and it obeys the ``X-RateLimit-*`` headers.
"""

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
from scim2_models import ScimFilter

from scim_server.auth0_gateway.clock import Clock
from scim_server.auth0_gateway.clock import SystemClock
from scim_server.auth0_gateway.errors import Auth0Conflict
from scim_server.auth0_gateway.errors import Auth0Error
from scim_server.auth0_gateway.errors import Auth0NotFound
from scim_server.auth0_gateway.errors import Auth0Rejected
from scim_server.auth0_gateway.errors import Auth0Unavailable
from scim_server.auth0_gateway.failures import retry_wait
from scim_server.auth0_gateway.limiter import RateLimiter
from scim_server.auth0_gateway.metrics import Auth0Metrics
from scim_server.auth0_gateway.metrics import MeteredTransport
from scim_server.auth0_gateway.scim_values import InboundScimUser
from scim_server.auth0_gateway.transport import RateLimitedTransport

DEFAULT_RPS = 25.0
"""Auth0's Inbound SCIM rate per connection on Enterprise and B2B plans (5 on Free)."""

SCIM_MEDIA_TYPE = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PAGE_SIZE = 100


def _path(user_id: str) -> str:
    """Return a user's path; the ``user_id`` holds ``|`` (and may hold ``/``), so it is quoted."""
    return f"/Users/{quote(user_id, safe='')}"


class InboundScimClient:
    """Users of one connection through Auth0's SCIM endpoint; build one per connection and keep it.

    :param management_url: ``https://{domain}`` or an emulator's URL, as for the gateway.
    :param token: The connection's SCIM token (``tok_…``); :meth:`use_token` swaps it.
    :param max_rps: This connection's budget.
    :param transport: An httpx transport, for in-process tests (``httpx.ASGITransport``).
    :param metrics: Where requests are counted; the gateway's, so ``/metrics`` shows them too.
    """

    def __init__(
        self,
        *,
        management_url: str,
        connection_id: str,
        token: str,
        max_rps: float = DEFAULT_RPS,
        timeout: float = 10.0,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        metrics: Auth0Metrics | None = None,
    ) -> None:
        self.connection_id = connection_id
        self._clock = clock or SystemClock()
        base = management_url.rstrip("/")
        self.limiter = RateLimiter(max_rps=max_rps, clock=self._clock)
        metered = MeteredTransport(
            transport or httpx.AsyncHTTPTransport(),
            metrics or Auth0Metrics(),
            base_path=httpx.URL(base).path,
        )
        self._http = httpx.AsyncClient(
            transport=RateLimitedTransport(metered, self.limiter),
            base_url=f"{base}/scim/v2/connections/{quote(connection_id, safe='')}",
            timeout=timeout,
            headers={"Accept": SCIM_MEDIA_TYPE},
        )
        self.use_token(token)

    def use_token(self, token: str) -> None:
        """Send ``token`` from now on (after a rotation, or a 401 that a reload may fix)."""
        self._http.headers["Authorization"] = f"Bearer {token}"

    async def aclose(self) -> None:
        """Release the HTTP connections."""
        await self._http.aclose()

    async def create_user(self, resource: Mapping[str, Any]) -> InboundScimUser:
        """POST a SCIM User; Auth0 creates the user in the connection (not in any organization).

        :param resource: The User as Auth0 should receive it; it must carry the configuration's
            ``user_id_attribute``, and ``schemas`` defaults to the core User schema.
        :raises Auth0Conflict: A user with the same derived ``user_id`` exists: look it up.
        """
        body = {"schemas": [USER_SCHEMA], **resource}
        return InboundScimUser.from_wire(await self._send("users.create", "POST", "/Users", body))

    async def get_user(self, user_id: str) -> InboundScimUser:
        """GET a user by its Auth0 ``user_id``.

        :raises Auth0NotFound: The connection has no such user.
        """
        return InboundScimUser.from_wire(await self._send("users.get", "GET", _path(user_id)))

    async def find_users(self, attribute: str, value: str) -> list[InboundScimUser]:
        """Return the users whose ``attribute`` equals ``value`` (Auth0 supports ``eq`` only).

        The value is quoted into the filter, so it stays a value whatever it holds.
        """
        expression = f"{attribute} eq {ScimFilter.quote(value)}"
        found: list[InboundScimUser] = []
        while True:
            params = {"filter": expression, "startIndex": len(found) + 1, "count": PAGE_SIZE}
            page = await self._send("users.list", "GET", "/Users", params=params)
            resources = page.get("Resources") or []
            found += [InboundScimUser.from_wire(r) for r in resources]
            if not resources or len(found) >= int(page.get("totalResults", 0)):
                return found

    async def patch_user(self, user_id: str, operations: Sequence[Mapping[str, Any]]) -> None:
        """PATCH a user with RFC 7644 §3.5.2 operations; Auth0 keeps only mapped attributes."""
        body = {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}
        await self._send("users.patch", "PATCH", _path(user_id), body)

    async def set_active(self, user_id: str, active: bool) -> None:
        """Activate or deactivate a user; deactivating blocks it and revokes its sessions."""
        await self.patch_user(user_id, [{"op": "replace", "path": "active", "value": active}])

    async def delete_user(self, user_id: str) -> None:
        """DELETE a user: Auth0 deletes the Auth0 user itself, in every organization.

        :raises Auth0NotFound: It was deleted already.
        """
        await self._send("users.delete", "DELETE", _path(user_id))

    async def _send(
        self,
        operation: str,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request and return its JSON body (empty for a 204), or raise our error."""
        name = f"inbound_scim.{operation}"
        headers = {"Content-Type": SCIM_MEDIA_TYPE} if body is not None else {}
        try:
            response = await self._http.request(
                method, path, json=body, params=params, headers=headers
            )
        except httpx.TimeoutException as error:
            raise Auth0Unavailable(f"{name}: timed out ({type(error).__name__})") from error
        except httpx.HTTPError as error:
            raise Auth0Unavailable(f"{name}: {type(error).__name__}") from error
        if response.status_code >= 300:
            raise _error(name, response, now=self._clock.time())
        if response.status_code == 204:
            return {}
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise Auth0Error(f"{name}: unreadable answer ({response.status_code})", status=200)
        return data


def _error(name: str, response: httpx.Response, *, now: float) -> Auth0Error:
    """Return the error tree's exception for a failed answer (an RFC 7644 §3.12 error body)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    code = body.get("scimType")
    message = f"{name}: {status} {body.get('detail') or ''}".strip()
    if status in (401, 429) or status >= 500:
        wait = retry_wait(status, response.headers, now=now)
        return Auth0Unavailable(message, status=status, error_code=code, retry_after=wait)
    if status == 409:
        return Auth0Conflict(message, status=status, error_code=code)
    if status == 404:
        return Auth0NotFound(message, status=status, error_code=code)
    return Auth0Rejected(message, status=status, error_code=code)
