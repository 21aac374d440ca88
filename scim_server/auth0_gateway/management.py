"""The :class:`~scim_server.auth0_gateway.port.Auth0Gateway` on auth0-python 6.8's async client.

Why not ``AsyncManagementClient``: it hard-codes ``https://`` and refreshes its token with a
blocking call in the event loop (auth0.md §0.6, §1). We use the generated ``AsyncAuth0`` with
``base_url={management_url}/api/v2``, our :class:`ClientCredentialsToken` as its async token
supplier, ``max_retries=0`` (the SDK would retry 409s and re-send POSTs that already succeeded,
auth0.md §0.5), and an httpx transport that puts every request through one
:class:`RateLimiter`.
"""

from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any
from typing import TypeVar

import httpx
from auth0.management import AsyncAuth0
from auth0.management.types import OrganizationInvitationInvitee
from auth0.management.types import OrganizationInvitationInviter

from scim_server.auth0_gateway.clock import Clock
from scim_server.auth0_gateway.clock import SystemClock
from scim_server.auth0_gateway.errors import Auth0NotFound
from scim_server.auth0_gateway.errors import Auth0Unavailable
from scim_server.auth0_gateway.failures import translated
from scim_server.auth0_gateway.limiter import RateLimiter
from scim_server.auth0_gateway.metrics import Auth0Metrics
from scim_server.auth0_gateway.metrics import MeteredTransport
from scim_server.auth0_gateway.scim_configuration import SdkScimConfigurations
from scim_server.auth0_gateway.token import ClientCredentialsToken
from scim_server.auth0_gateway.transport import RateLimitedTransport
from scim_server.auth0_gateway.values import USER_ATTRIBUTES
from scim_server.auth0_gateway.values import Auth0Connection
from scim_server.auth0_gateway.values import Auth0Invitation
from scim_server.auth0_gateway.values import Auth0Member
from scim_server.auth0_gateway.values import Auth0Organization
from scim_server.auth0_gateway.values import Auth0Role
from scim_server.auth0_gateway.values import Auth0User

T = TypeVar("T")

#: Auth0's limit on users per ``POST /organizations/{id}/members`` (auth0.md §0.7).
MAX_MEMBERS_PER_CALL = 10
#: The largest page Auth0 serves.
PAGE_SIZE = 100


def management_url_for(*, domain: str | None, management_url: str | None) -> str:
    """Return where the Management API lives: ``AUTH0_MANAGEMENT_URL``, else ``https://{AUTH0_DOMAIN}``.

    >>> management_url_for(domain="acme.eu.auth0.com", management_url=None)
    'https://acme.eu.auth0.com'
    >>> management_url_for(domain="x", management_url="http://127.0.0.1:8123/")
    'http://127.0.0.1:8123'
    """
    if management_url:
        return management_url.rstrip("/")
    if domain:
        return f"https://{domain.rstrip('/')}"
    raise ValueError("Set AUTH0_MANAGEMENT_URL or AUTH0_DOMAIN")


def _wire(model: Any) -> dict[str, Any]:
    """Return an SDK response model as the JSON object Auth0 sent."""
    data: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


def _checked(attributes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(attributes) - USER_ATTRIBUTES)
    if unknown:
        raise ValueError(f"not Auth0 user attributes: {', '.join(unknown)}")
    return dict(attributes)


def _batch(user_ids: Sequence[str]) -> list[str]:
    if not 1 <= len(user_ids) <= MAX_MEMBERS_PER_CALL:
        raise ValueError(
            f"between 1 and {MAX_MEMBERS_PER_CALL} users per call, got {len(user_ids)}"
        )
    return list(user_ids)


class ManagementApiGateway:
    """Talks to one tenant's Management API; build one per process and share it.

    :param management_url: ``https://{domain}`` or an emulator's ``http://127.0.0.1:PORT``.
    :param max_rps: The call budget for this process (``AUTH0_MAX_RPS``).
    :param burst: The limiter's bucket size (default ``max_rps`` rounded up).
    :param audience: Default ``{management_url}/api/v2/``; a custom-domain URL needs the canonical one.
    :param transport: An httpx transport, for in-process tests (``httpx.ASGITransport``).
    :param metrics: Where every request is counted (``/metrics``); a new one by default.
    """

    def __init__(
        self,
        *,
        management_url: str,
        client_id: str,
        client_secret: str,
        max_rps: float,
        burst: float | None = None,
        audience: str | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        metrics: Auth0Metrics | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        base = management_url.rstrip("/")
        self.metrics = metrics or Auth0Metrics()
        inner = MeteredTransport(
            transport or httpx.AsyncHTTPTransport(),
            self.metrics,
            base_path=httpx.URL(base).path,
        )
        self.limiter = RateLimiter(max_rps=max_rps, burst=burst, clock=self._clock)
        self._token_http = httpx.AsyncClient(transport=inner, timeout=timeout)
        self._api_http = httpx.AsyncClient(
            transport=RateLimitedTransport(inner, self.limiter), timeout=timeout
        )
        self._token = ClientCredentialsToken(
            http=self._token_http,
            token_url=f"{base}/oauth/token",
            client_id=client_id,
            client_secret=client_secret,
            audience=audience or f"{base}/api/v2/",
            clock=self._clock,
        )
        self._sdk = AsyncAuth0(
            base_url=f"{base}/api/v2",
            token=self._token.peek,
            async_token=self._token.get,
            httpx_client=self._api_http,
            timeout=timeout,
            max_retries=0,
        )
        self.scim_configurations = SdkScimConfigurations(self._sdk, self._errors)

    @contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        """Translate failures; a 401 also drops the cached token so the retry fetches a new one."""
        try:
            with translated(operation, self._clock):
                yield
        except Auth0Unavailable as error:
            if error.status == 401:
                self._token.invalidate()
            raise

    async def _call(self, operation: str, pending: Awaitable[T]) -> T:
        with self._errors(operation):
            return await pending

    async def granted_scopes(self) -> frozenset[str] | None:
        """Obtain the Management API token (or reuse it) and return the scopes it grants."""
        await self._token.get()
        return self._token.scopes

    async def aclose(self) -> None:
        """Close both HTTP clients."""
        await self._api_http.aclose()
        await self._token_http.aclose()

    # Users.

    async def get_user(self, user_id: str) -> Auth0User:
        """Return a user by ``user_id``."""
        found = await self._call("users.get", self._sdk.users.get(user_id))
        return Auth0User.from_wire(_wire(found))

    async def find_users_by_email(
        self, email: str, *, connection: str | None = None
    ) -> list[Auth0User]:
        """Return the users with this email (retrying once in lower case), in ``connection`` if given."""
        candidates = [email] if email == email.lower() else [email, email.lower()]
        for candidate in candidates:
            found = await self._call(
                "users.list_users_by_email", self._sdk.users.list_users_by_email(email=candidate)
            )
            users = [Auth0User.from_wire(_wire(u)) for u in found]
            users = [u for u in users if connection in (None, u.connection)]
            if users:
                return users
        return []

    async def create_user(
        self,
        *,
        connection: str,
        email: str,
        password: str | None = None,
        user_id: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        verify_email: bool = False,
    ) -> Auth0User:
        """Create a user in a database or passwordless connection (one POST, never retried).

        ``None`` attributes are left out: there is nothing to unset yet, and Auth0 refuses a null.
        """
        fields = {k: v for k, v in _checked(attributes or {}).items() if v is not None}
        fields["email"] = email
        if password is not None:
            fields["password"] = password
        if user_id is not None:
            fields["user_id"] = user_id
        created = await self._call(
            "users.create",
            self._sdk.users.create(connection=connection, verify_email=verify_email, **fields),
        )
        return Auth0User.from_wire(_wire(created))

    async def update_user(self, user_id: str, attributes: Mapping[str, Any]) -> Auth0User:
        """PATCH root attributes; ``None`` values unset them."""
        updated = await self._call(
            "users.update", self._sdk.users.update(user_id, **_checked(attributes))
        )
        return Auth0User.from_wire(_wire(updated))

    async def block_user(self, user_id: str) -> None:
        """PATCH ``blocked: true``."""
        await self._call("users.update", self._sdk.users.update(user_id, blocked=True))

    async def unblock_user(self, user_id: str) -> None:
        """PATCH ``blocked: false``."""
        await self._call("users.update", self._sdk.users.update(user_id, blocked=False))

    async def delete_sessions(self, user_id: str) -> None:
        """``DELETE /users/{id}/sessions``."""
        await self._call("users.sessions.delete", self._sdk.users.sessions.delete(user_id))

    async def revoke_refresh_tokens(self, user_id: str) -> None:
        """``DELETE /users/{id}/refresh-tokens``."""
        await self._call(
            "users.refresh_token.delete", self._sdk.users.refresh_token.delete(user_id)
        )

    async def revoke_access(self, user_id: str) -> None:
        """``POST /users/{id}/revoke-access``: sessions and refresh tokens in one call."""
        await self._call("users.revoke_access", self._sdk.users.revoke_access(user_id))

    async def get_user_organizations(self, user_id: str) -> list[Auth0Organization]:
        """Read every page of the user's organizations."""
        with self._errors("users.organizations.list"):
            pager = await self._sdk.users.organizations.list(user_id, per_page=PAGE_SIZE)
            return [Auth0Organization.from_wire(_wire(o)) async for o in pager]

    # Organizations and members.

    async def get_organization(self, org_id: str) -> Auth0Organization:
        """Return an organization by id."""
        found = await self._call("organizations.get", self._sdk.organizations.get(org_id))
        return Auth0Organization.from_wire(_wire(found))

    async def get_organization_by_name(self, name: str) -> Auth0Organization:
        """Return an organization by name."""
        found = await self._call(
            "organizations.get_by_name", self._sdk.organizations.get_by_name(name)
        )
        return Auth0Organization.from_wire(_wire(found))

    async def add_members(self, org_id: str, user_ids: Sequence[str]) -> None:
        """``POST /organizations/{id}/members`` with 1 to 10 users."""
        members = _batch(user_ids)
        await self._call(
            "organizations.members.create",
            self._sdk.organizations.members.create(org_id, members=members),
        )

    async def remove_members(self, org_id: str, user_ids: Sequence[str]) -> None:
        """``DELETE /organizations/{id}/members`` with a JSON body."""
        members = list(user_ids)
        if not members:
            return
        await self._call(
            "organizations.members.delete",
            self._sdk.organizations.members.delete(org_id, members=members),
        )

    async def list_members(
        self, org_id: str, *, with_roles: bool = False
    ) -> AsyncIterator[Auth0Member]:
        """Yield members page by page (the SDK always uses checkpoint pages)."""
        fields = "user_id,email,roles" if with_roles else None
        with self._errors("organizations.members.list"):
            pager = await self._sdk.organizations.members.list(
                org_id, take=PAGE_SIZE, fields=fields, include_fields=True if with_roles else None
            )
            async for member in pager:
                yield Auth0Member.from_wire(_wire(member))

    async def get_member_roles(self, org_id: str, user_id: str) -> list[Auth0Role]:
        """Read every page of a member's direct roles."""
        with self._errors("organizations.members.roles.list"):
            pager = await self._sdk.organizations.members.roles.list(
                org_id, user_id, per_page=PAGE_SIZE
            )
            return [Auth0Role.from_wire(_wire(r)) async for r in pager]

    async def assign_member_roles(self, org_id: str, user_id: str, role_ids: Sequence[str]) -> None:
        """``POST …/members/{user_id}/roles``."""
        roles = list(role_ids)
        await self._call(
            "organizations.members.roles.assign",
            self._sdk.organizations.members.roles.assign(org_id, user_id, roles=roles),
        )

    async def remove_member_roles(self, org_id: str, user_id: str, role_ids: Sequence[str]) -> None:
        """``DELETE …/members/{user_id}/roles`` with a JSON body."""
        roles = list(role_ids)
        if not roles:
            return
        await self._call(
            "organizations.members.roles.delete",
            self._sdk.organizations.members.roles.delete(org_id, user_id, roles=roles),
        )

    # Roles, invitations, connections.

    async def list_roles(self, *, name_filter: str | None = None) -> list[Auth0Role]:
        """Read every page of roles."""
        with self._errors("roles.list"):
            pager = await self._sdk.roles.list(name_filter=name_filter, per_page=PAGE_SIZE)
            return [Auth0Role.from_wire(_wire(r)) async for r in pager]

    async def find_role_by_name(self, name: str) -> Auth0Role:
        """Filter on the server, then compare exactly: ``name_filter``'s matching is unknown (auth0.md §3.4)."""
        for role in await self.list_roles(name_filter=name):
            if role.name == name:
                return role
        raise Auth0NotFound(f"roles.list: no role named {name!r}", status=404)

    async def create_invitation(
        self,
        org_id: str,
        *,
        email: str,
        inviter_name: str,
        client_id: str,
        connection_id: str | None = None,
        role_ids: Sequence[str] = (),
        ttl_seconds: int | None = None,
        send_email: bool = True,
    ) -> Auth0Invitation:
        """``POST /organizations/{id}/invitations``."""
        options: dict[str, Any] = {"send_invitation_email": send_email}
        if connection_id is not None:
            options["connection_id"] = connection_id
        if role_ids:
            options["roles"] = list(role_ids)
        if ttl_seconds is not None:
            options["ttl_sec"] = ttl_seconds
        created = await self._call(
            "organizations.invitations.create",
            self._sdk.organizations.invitations.create(
                org_id,
                inviter=OrganizationInvitationInviter(name=inviter_name),
                invitee=OrganizationInvitationInvitee(email=email),
                client_id=client_id,
                **options,
            ),
        )
        return Auth0Invitation.from_wire(_wire(created))

    async def delete_invitation(self, org_id: str, invitation_id: str) -> None:
        """``DELETE /organizations/{id}/invitations/{invitation_id}``."""
        await self._call(
            "organizations.invitations.delete",
            self._sdk.organizations.invitations.delete(org_id, invitation_id),
        )

    async def list_invitations(self, org_id: str) -> list[Auth0Invitation]:
        """Read every page of invitations."""
        with self._errors("organizations.invitations.list"):
            pager = await self._sdk.organizations.invitations.list(org_id, per_page=PAGE_SIZE)
            return [Auth0Invitation.from_wire(_wire(i)) async for i in pager]

    async def list_enabled_connections(self, org_id: str) -> list[Auth0Connection]:
        """Read every page of the connections enabled for an organization."""
        with self._errors("organizations.enabled_connections.list"):
            pager = await self._sdk.organizations.enabled_connections.list(
                org_id, per_page=PAGE_SIZE
            )
            return [Auth0Connection.from_enabled(_wire(c)) async for c in pager]

    async def list_connections(self) -> list[Auth0Connection]:
        """Read every page of connections (checkpoint pages)."""
        with self._errors("connections.list"):
            pager = await self._sdk.connections.list(take=PAGE_SIZE)
            return [Auth0Connection.from_wire(_wire(c)) async for c in pager]
