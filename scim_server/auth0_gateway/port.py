"""The port through which provisioning talks to Auth0, in Auth0's own vocabulary.

Contract (every implementation follows it; ``tests/auth0_gateway`` checks it over HTTP):

- Failures raise only the tree in :mod:`scim_server.auth0_gateway.errors`; "not found" is
  :class:`Auth0NotFound`, never ``None``. Look-ups that may match nothing return a list.
- Nothing is retried: one method call is at most one Auth0 write, so the caller owns retries
  and idempotency (auth0.md §0.5). Listing methods read every page.
- Writes that Auth0 makes idempotent stay so: removing members or member roles that are not
  there, and deleting sessions of a user who has none, succeed.
- ``add_members`` takes at most 10 users (Auth0's limit); batching is the caller's job.
- Every call passes one process-wide rate limiter, which also obeys Auth0's rate-limit headers.
"""

from collections.abc import AsyncIterator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import Protocol

from scim_server.auth0_gateway.scim_port import ScimConfigurations
from scim_server.auth0_gateway.values import Auth0Connection
from scim_server.auth0_gateway.values import Auth0Invitation
from scim_server.auth0_gateway.values import Auth0Member
from scim_server.auth0_gateway.values import Auth0Organization
from scim_server.auth0_gateway.values import Auth0Role
from scim_server.auth0_gateway.values import Auth0User


class Auth0Gateway(Protocol):
    """Users, organizations, members, member roles and invitations of one Auth0 tenant."""

    @property
    def scim_configurations(self) -> ScimConfigurations:
        """The enterprise connections' Auth0 Inbound SCIM set-up (mode ``relay``)."""
        ...

    async def get_user(self, user_id: str) -> Auth0User:
        """Return a user by ``user_id`` (immediately consistent, unlike search)."""
        ...

    async def find_users_by_email(
        self, email: str, *, connection: str | None = None
    ) -> list[Auth0User]:
        """Return the users with this email, in ``connection`` when given.

        Auth0 matches emails case-sensitively and stores database emails lower-cased
        (auth0.md §2.5), so a miss on a mixed-case email is retried once in lower case.
        """
        ...

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
        """Create a user in a database or passwordless connection.

        :param user_id: A deterministic id (without the ``auth0|`` prefix), so a retry after a lost
            answer hits :class:`Auth0Conflict` instead of creating a twin.
        :param attributes: Other root attributes, keys from :data:`USER_ATTRIBUTES`.
        :raises Auth0Conflict: The email (or id) already exists in the connection: look it up.
        :raises Auth0Rejected: An enterprise connection, or an invalid payload.
        """
        ...

    async def update_user(self, user_id: str, attributes: Mapping[str, Any]) -> Auth0User:
        """Replace root attributes; metadata merges one level deep, ``None`` unsets (auth0.md §2.3)."""
        ...

    async def block_user(self, user_id: str) -> None:
        """Block the user tenant-wide (it does not revoke sessions or tokens by itself)."""
        ...

    async def unblock_user(self, user_id: str) -> None:
        """Lift an administrator's block."""
        ...

    async def delete_sessions(self, user_id: str) -> None:
        """Revoke all the user's sessions, in every organization."""
        ...

    async def revoke_refresh_tokens(self, user_id: str) -> None:
        """Revoke all the user's refresh tokens, in every organization."""
        ...

    async def revoke_access(self, user_id: str) -> None:
        """Revoke sessions and refresh tokens in one call (``POST /users/{id}/revoke-access``)."""
        ...

    async def get_user_organizations(self, user_id: str) -> list[Auth0Organization]:
        """Return every organization the user is a member of."""
        ...

    async def get_organization(self, org_id: str) -> Auth0Organization:
        """Return an organization by id."""
        ...

    async def get_organization_by_name(self, name: str) -> Auth0Organization:
        """Return an organization by its name."""
        ...

    async def add_members(self, org_id: str, user_ids: Sequence[str]) -> None:
        """Add 1 to 10 existing users to an organization; existing members are left as they are."""
        ...

    async def remove_members(self, org_id: str, user_ids: Sequence[str]) -> None:
        """Remove users from an organization; users who are not members are ignored."""
        ...

    def list_members(self, org_id: str, *, with_roles: bool = False) -> AsyncIterator[Auth0Member]:
        """Yield every member (checkpoint pages, so past 1000); with their direct roles if asked."""
        ...

    async def get_member_roles(self, org_id: str, user_id: str) -> list[Auth0Role]:
        """Return the roles assigned directly to a member in an organization."""
        ...

    async def assign_member_roles(self, org_id: str, user_id: str, role_ids: Sequence[str]) -> None:
        """Assign roles to a member.

        :raises Auth0Conflict: The member would have more than 50 roles.
        """
        ...

    async def remove_member_roles(self, org_id: str, user_id: str, role_ids: Sequence[str]) -> None:
        """Remove roles from a member; roles not assigned are ignored."""
        ...

    async def list_roles(self, *, name_filter: str | None = None) -> list[Auth0Role]:
        """Return the tenant's roles, narrowed by Auth0's case-insensitive ``name_filter``."""
        ...

    async def find_role_by_name(self, name: str) -> Auth0Role:
        """Return the role with exactly this name.

        :raises Auth0NotFound: No role has this exact name.
        """
        ...

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
        """Invite someone into an organization with roles; they apply when the invitee accepts."""
        ...

    async def delete_invitation(self, org_id: str, invitation_id: str) -> None:
        """Withdraw an invitation.

        :raises Auth0NotFound: It was accepted, expired or withdrawn already.
        """
        ...

    async def list_invitations(self, org_id: str) -> list[Auth0Invitation]:
        """Return the organization's pending invitations."""
        ...

    async def list_connections(self) -> list[Auth0Connection]:
        """Return the tenant's connections (``scim-server doctor`` checks the org's one exists)."""
        ...

    async def list_enabled_connections(self, org_id: str) -> list[Auth0Connection]:
        """Return the connections enabled for an organization (its members log in through them)."""
        ...

    async def granted_scopes(self) -> frozenset[str] | None:
        """Obtain the Management API token and return its scopes; ``None`` when Auth0 did not say.

        :raises Auth0Rejected: The client credentials (or the audience) were refused.
        :raises Auth0Unavailable: The token endpoint could not answer now.
        """
        ...

    async def aclose(self) -> None:
        """Release the HTTP connections."""
        ...
