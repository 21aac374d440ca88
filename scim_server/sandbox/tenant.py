"""The emulated tenant's data: users, connections, organizations, members, roles, invitations.

Everything is kept as the JSON objects the Management API returns, so a handler answers a GET by
copying a dict. The tenant also offers what tests need beyond the API: seeding, a snapshot of the
whole state for assertions, and the two things only an end user can do in Auth0 (log in through an
enterprise connection, accept an invitation).
"""

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

from scim_server.sandbox import errors
from scim_server.sandbox import identifiers
from scim_server.sandbox.scim_state import InboundScimState

#: Strategies whose users ``POST /api/v2/users`` can create, with their ``user_id`` provider prefix.
CREATABLE_STRATEGIES = {"auth0": "auth0", "email": "email", "sms": "sms"}

#: At most 50 roles per organization member; the next assign is a 409 (auth0.md §0.7).
MEMBER_ROLES_LIMIT = 50


def iso_timestamp(epoch: float) -> str:
    """Format a time the way Auth0 does: ISO 8601, milliseconds, ``Z``.

    >>> iso_timestamp(0)
    '1970-01-01T00:00:00.000Z'
    """
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def gravatar(email: str) -> str:
    """Return the gravatar URL Auth0 fills ``picture`` with."""
    digest = hashlib.md5(email.encode(), usedforsecurity=False).hexdigest()
    return f"https://s.gravatar.com/avatar/{digest}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fdefault.png"


@dataclass
class Tenant:
    """The mutable state of one emulated tenant; handlers and tests share it."""

    clock: Callable[[], float]
    login_url: str = "https://app.example.test/login"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    organizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    enabled_connections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    members: dict[str, dict[str, int]] = field(default_factory=dict)
    """Organization id -> {user_id: membership sequence number}, in insertion order."""
    member_roles: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    invitations: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    revocations: list[tuple[str, str]] = field(default_factory=list)
    """(user_id, "sessions" | "refresh_tokens") in call order."""
    inbound_scim: InboundScimState = field(default_factory=InboundScimState)
    """The SCIM configurations and tokens of the enterprise connections (auth0.md §13)."""
    _sequence: int = 0

    def now(self) -> str:
        """Return the current time as an Auth0 timestamp."""
        return iso_timestamp(self.clock())

    def next_sequence(self) -> int:
        """Return an increasing number that orders memberships for checkpoint cursors."""
        self._sequence += 1
        return self._sequence

    # Lookups that raise the Management API's own 404s.

    def user(self, user_id: str) -> dict[str, Any]:
        """Return the stored user, or raise Auth0's 404 ``inexistent_user``."""
        try:
            return self.users[user_id]
        except KeyError:
            raise errors.user_not_found() from None

    def organization(self, org_id: str) -> dict[str, Any]:
        """Return the stored organization, or raise Auth0's 404 for organizations."""
        try:
            return self.organizations[org_id]
        except KeyError:
            raise errors.organization_not_found() from None

    def role(self, role_id: str) -> dict[str, Any]:
        """Return the stored role, or raise Auth0's 404 for roles."""
        try:
            return self.roles[role_id]
        except KeyError:
            raise errors.role_not_found() from None

    def connection_named(self, name: str) -> dict[str, Any] | None:
        """Return the connection with this name, if any."""
        return next((c for c in self.connections.values() if c["name"] == name), None)

    def organization_named(self, name: str) -> dict[str, Any] | None:
        """Return the organization with this name, if any."""
        return next((o for o in self.organizations.values() if o["name"] == name), None)

    def user_connection(self, user: dict[str, Any]) -> str:
        """Return the name of the connection of the user's primary identity."""
        return str(user["identities"][0]["connection"])

    def find_user(self, *, connection: str, email: str) -> dict[str, Any] | None:
        """Return the user with this exact email in this connection, if any."""
        for user in self.users.values():
            if user.get("email") == email and self.user_connection(user) == connection:
                return user
        return None

    # Writes shared by handlers and tests.

    def add_user(
        self, *, connection: dict[str, Any], user_id: str, attributes: dict[str, Any]
    ) -> dict[str, Any]:
        """Store a new user with Auth0's defaults for the fields that were not given."""
        email = attributes.get("email")
        provider, _, local_id = user_id.partition("|")
        if provider in ("samlp", "waad", "oidc", "okta", "adfs"):
            local_id = local_id.partition("|")[2] or local_id
        now = self.now()
        user: dict[str, Any] = {"created_at": now}
        user.update(attributes)
        user.setdefault("email_verified", False)
        identifier = (
            email or attributes.get("phone_number") or attributes.get("username") or local_id
        )
        user.setdefault("name", identifier)
        user.setdefault("nickname", attributes.get("username") or str(identifier).split("@")[0])
        user.setdefault("picture", gravatar(str(identifier)))
        user["identities"] = [
            {
                "connection": connection["name"],
                "user_id": local_id,
                "provider": provider,
                "isSocial": False,
            }
        ]
        user["updated_at"] = now
        user["user_id"] = user_id
        self.users[user_id] = user
        return user

    def remove_user(self, user_id: str) -> None:
        """Delete a user with its memberships and member roles."""
        self.users.pop(user_id, None)
        for org_id in self.members:
            self.remove_member(org_id, user_id)

    def add_member(self, org_id: str, user_id: str) -> None:
        """Make the user a member; adding a member again changes nothing."""
        self.members.setdefault(org_id, {}).setdefault(user_id, self.next_sequence())

    def remove_member(self, org_id: str, user_id: str) -> None:
        """End a membership and, with it, the member's roles in that organization.

        Whether Auth0 drops the roles with the membership is not documented (auth0.md §3.2);
        dropping them is the stricter assumption, since a rehire must then assign them again.
        """
        self.members.get(org_id, {}).pop(user_id, None)
        self.member_roles.pop((org_id, user_id), None)

    def assign_member_roles(self, org_id: str, user_id: str, role_ids: list[str]) -> None:
        """Add roles to a member, refusing to go past Auth0's 50 roles per member (409)."""
        current = self.member_roles.setdefault((org_id, user_id), [])
        added = [r for r in dict.fromkeys(role_ids) if r not in current]
        if len(current) + len(added) > MEMBER_ROLES_LIMIT:
            raise errors.ManagementError(
                409, "No more roles can be assigned to this organization member"
            )
        current.extend(added)

    # Seeding.

    def add_connection(self, name: str, strategy: str = "auth0") -> dict[str, Any]:
        """Create a connection (``auth0`` is a database; ``samlp``, ``okta``, ``waad`` are enterprise)."""
        connection: dict[str, Any] = {
            "id": identifiers.prefixed_id("con"),
            "name": name,
            "display_name": name,
            "strategy": strategy,
            "realms": [name],
            "is_domain_connection": False,
        }
        self.connections[connection["id"]] = connection
        return connection

    def add_role(self, name: str, description: str = "") -> dict[str, Any]:
        """Create a tenant role that organizations can assign to members."""
        role = {
            "id": identifiers.prefixed_id("rol"),
            "name": name,
            "description": description or name,
        }
        self.roles[role["id"]] = role
        return role

    def add_organization(
        self,
        name: str,
        *,
        display_name: str | None = None,
        metadata: dict[str, str] | None = None,
        connections: tuple[str, ...] = (),
        assign_membership_on_login: bool = False,
    ) -> dict[str, Any]:
        """Create an organization and enable the named connections on it."""
        organization: dict[str, Any] = {"id": identifiers.prefixed_id("org"), "name": name}
        organization["display_name"] = display_name or name
        if metadata:
            organization["metadata"] = dict(metadata)
        self.organizations[organization["id"]] = organization
        self.members[organization["id"]] = {}
        for connection_name in connections:
            connection = self.connection_named(connection_name)
            if connection is None:
                raise errors.connection_not_found()
            self.enable_connection(organization["id"], connection, assign_membership_on_login)
        return organization

    def enable_connection(
        self, org_id: str, connection: dict[str, Any], assign_membership_on_login: bool
    ) -> dict[str, Any]:
        """Enable a connection on an organization (at most 10, like Auth0)."""
        enabled = self.enabled_connections.setdefault(org_id, [])
        if len(enabled) >= 10:
            raise errors.invalid_body("An organization can have at most 10 connections")
        entry = {
            "connection_id": connection["id"],
            "assign_membership_on_login": assign_membership_on_login,
            "show_as_button": True,
            "is_signup_enabled": False,
            "connection": {"name": connection["name"], "strategy": connection["strategy"]},
        }
        enabled.append(entry)
        return entry

    # What end users do.

    def log_in(
        self, *, connection: str, email: str, organization: str | None = None
    ) -> dict[str, Any]:
        """Simulate a first (or later) login: an enterprise user appears in Auth0 only this way.

        With an organization whose connection has ``assign_membership_on_login``, the user also
        becomes a member, which is Auth0's just-in-time membership (auth0.md §3.6).
        """
        found = self.connection_named(connection)
        if found is None:
            raise errors.connection_not_found()
        user = self.find_user(connection=connection, email=email)
        if user is None:
            strategy = found["strategy"]
            provider = CREATABLE_STRATEGIES.get(strategy, strategy)
            user_id = (
                f"{provider}|{identifiers.hex_id()}"
                if strategy in CREATABLE_STRATEGIES
                else f"{provider}|{connection}|{email}"
            )
            user = self.add_user(
                connection=found,
                user_id=user_id,
                attributes={"email": email, "email_verified": True},
            )
        user["logins_count"] = int(user.get("logins_count", 0)) + 1
        user["last_login"] = self.now()
        if organization is not None:
            org = self.organization(organization)
            for entry in self.enabled_connections.get(org["id"], []):
                if entry["connection_id"] == found["id"] and entry["assign_membership_on_login"]:
                    self.add_member(org["id"], user["user_id"])
        return user

    def accept_invitation(
        self, org_id: str, invitation_id: str, *, connection: str
    ) -> dict[str, Any]:
        """Simulate the invitee signing up or logging in: member, with the invitation's roles."""
        invitation = self.invitations.get(org_id, {}).pop(invitation_id, None)
        if invitation is None:
            raise errors.invitation_not_found()
        user = self.log_in(connection=connection, email=invitation["invitee"]["email"])
        user["email_verified"] = True
        self.add_member(org_id, user["user_id"])
        if invitation.get("roles"):
            self.assign_member_roles(org_id, user["user_id"], list(invitation["roles"]))
        return user

    def snapshot(self) -> dict[str, Any]:
        """Return a deep copy of the whole state, keyed by ids, for assertions."""
        return copy.deepcopy(
            {
                "users": self.users,
                "connections": self.connections,
                "organizations": self.organizations,
                "members": {org: list(members) for org, members in self.members.items()},
                "member_roles": {
                    org: {
                        user: sorted(self.roles[r]["name"] for r in role_ids if r in self.roles)
                        for (o, user), role_ids in self.member_roles.items()
                        if o == org and role_ids
                    }
                    for org in self.organizations
                },
                "roles": self.roles,
                "invitations": self.invitations,
                "revocations": [list(r) for r in self.revocations],
            }
        )
