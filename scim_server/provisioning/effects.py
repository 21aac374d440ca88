"""The Auth0 side of each reconcile step: which gateway calls it takes, and what they confirm.

Every effect is idempotent given what it returns, so that a reconcile cut short (a crash, a lost
answer) can run again from the last recorded step (DESIGN §6):

- Creating a user sends a deterministic ``user_id`` derived from the organization and the SCIM
  id. A create that succeeded but answered 500 (auth0.md §0.5) is retried, meets 409, is looked
  up by email, and is recognised as ours by that id: linked as *created* and *owned*, never
  duplicated, never mistaken for a stranger's account.
- A 409 for another account with the same email in the connection (a consultant who joined
  through another organization) links that account (``matched_email``, not owned): it is never
  re-profiled and never blocked by us.
- Creating first and looking up only on 409 costs one call per new joiner instead of two; the
  409 path is needed anyway.
- The leaver check asks Auth0 which organizations the user is still in: sessions, refresh
  tokens and blocking are tenant-wide (auth0.md §0.3), so they are touched only when none remain,
  and blocking only for users we created.
"""

import hashlib
import secrets
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim_server.auth0_gateway import Auth0Conflict
from scim_server.auth0_gateway import Auth0Gateway
from scim_server.auth0_gateway import Auth0NotFound
from scim_server.auth0_gateway import Auth0User
from scim_server.provisioning.batching import MemberBatcher
from scim_server.provisioning.directory import Auth0Directory


@dataclass(frozen=True)
class Linked:
    """The Auth0 user a SCIM user is tied to, and how."""

    user_id: str
    owned: bool
    """We created it, so we may update its profile and block it."""
    method: str
    """``created`` or ``matched_email`` (``login_hook`` and ``invitation`` come from elsewhere)."""


@dataclass(frozen=True)
class Departure:
    """What the tenant-wide part of a leaver did."""

    other_organizations: tuple[str, ...]
    revoked: bool
    blocked: bool


def deterministic_user_id(auth0_org_id: str, scim_id: str) -> str:
    """Return the ``user_id`` (without ``auth0|``) we create a SCIM user's Auth0 user with.

    >>> deterministic_user_id("org_1", "2819c223-7f76-453a-919d-413861904646")
    'scimf984f6708c7cc0c825408094'
    >>> len(deterministic_user_id("org_1", "x"))
    28
    """
    digest = hashlib.sha256(f"{auth0_org_id}\n{scim_id}".encode()).hexdigest()
    return f"scim{digest[:24]}"


def auth0_attributes(profile: Mapping[str, Any]) -> dict[str, Any]:
    """Turn a desired profile (``given_name``, ``app_metadata.department``…) into Auth0 fields.

    >>> auth0_attributes({"name": "Ann", "app_metadata.dept": "R&D", "app_metadata.site": None})
    {'name': 'Ann', 'app_metadata': {'dept': 'R&D', 'site': None}}
    """
    attributes: dict[str, Any] = {}
    for key, value in profile.items():
        container, dot, name = key.partition(".")
        if dot:
            attributes.setdefault(container, {})[name] = value
        else:
            attributes[key] = value
    return attributes


def initial_password() -> str:
    """Return a random password nobody knows.

    The SCIM ``password`` Okta may send is never stored (DESIGN §6), so by the time the worker
    creates the user it is gone; the person sets a password through Auth0's reset flow, or logs
    in without one. The suffix satisfies every Auth0 password-strength level.
    """
    return f"{secrets.token_urlsafe(32)}aA1!"


class Auth0Effects:
    """The gateway calls behind each step, for the reconciler.

    :param batcher: Coalesces add-member calls of concurrent reconciles.
    """

    def __init__(
        self, gateway: Auth0Gateway, directory: Auth0Directory, batcher: MemberBatcher
    ) -> None:
        self.gateway = gateway
        self.directory = directory
        self.batcher = batcher

    async def look_up(self, *, connection: str, email: str) -> Auth0User | None:
        """Return the user with this email in the connection, if there is one."""
        found = await self.gateway.find_users_by_email(email, connection=connection)
        return found[0] if found else None

    async def create_or_link(
        self,
        *,
        connection: str,
        email: str,
        user_key: str,
        attributes: Mapping[str, Any],
    ) -> Linked:
        """Create the user with a deterministic id, or link the account that has its email.

        :raises Auth0Rejected: When the connection cannot take new users (enterprise), or a 409
            names no account we can find by email.
        """
        try:
            created = await self.gateway.create_user(
                connection=connection,
                email=email,
                password=initial_password(),
                user_id=user_key,
                attributes=attributes,
            )
        except Auth0Conflict:
            existing = await self.look_up(connection=connection, email=email)
            if existing is None:
                raise
            ours = existing.user_id.endswith(f"|{user_key}")
            return Linked(existing.user_id, ours, "created" if ours else "matched_email")
        return Linked(created.user_id, True, "created")

    async def invite(
        self,
        org_id: str,
        *,
        email: str,
        role_names: Iterable[str],
        client_id: str,
        inviter_name: str,
    ) -> str:
        """Invite the person into the organization with its roles; return the invitation id."""
        role_ids = await self.directory.role_ids(role_names)
        invitation = await self.gateway.create_invitation(
            org_id,
            email=email,
            inviter_name=inviter_name,
            client_id=client_id,
            role_ids=sorted(role_ids.values()),
        )
        return invitation.id

    async def delete_invitation(self, org_id: str, invitation_id: str) -> bool:
        """Withdraw an invitation; return ``False`` when it was already gone (accepted, expired)."""
        try:
            await self.gateway.delete_invitation(org_id, invitation_id)
        except Auth0NotFound:
            return False
        return True

    async def add_member(self, org_id: str, user_id: str) -> None:
        """Make the user a member, batched with the other joiners of the organization."""
        await self.batcher.add(org_id, user_id)

    async def remove_member(self, org_id: str, user_id: str) -> None:
        """End the membership (and with it the member's roles in the organization)."""
        await self.gateway.remove_members(org_id, [user_id])

    async def assign_roles(self, org_id: str, user_id: str, names: Iterable[str]) -> dict[str, str]:
        """Assign roles by name; return ``{name: id}`` of what was assigned."""
        role_ids = await self.directory.role_ids(names)
        if role_ids:
            await self.gateway.assign_member_roles(org_id, user_id, sorted(role_ids.values()))
        return role_ids

    async def remove_roles(self, org_id: str, user_id: str, role_ids: Iterable[str]) -> None:
        """Remove roles we assigned (by their recorded ids)."""
        await self.gateway.remove_member_roles(org_id, user_id, sorted(role_ids))

    async def update_profile(self, user_id: str, attributes: Mapping[str, Any]) -> None:
        """Write the profile of a user we own."""
        await self.gateway.update_user(user_id, attributes)

    async def unblock(self, user_id: str) -> None:
        """Lift the block we put on a rehired user."""
        await self.gateway.unblock_user(user_id)

    async def depart(self, user_id: str, *, block: bool) -> Departure:
        """Revoke access, and block when asked, only if the user is in no organization any more."""
        remaining = await self.gateway.get_user_organizations(user_id)
        if remaining:
            return Departure(tuple(o.id for o in remaining), revoked=False, blocked=False)
        await self.gateway.revoke_access(user_id)
        if block:
            await self.gateway.block_user(user_id)
        return Departure((), revoked=True, blocked=block)
