"""What the gateway returns: small frozen values in Auth0's vocabulary, free of SDK types."""

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

#: The Auth0 user attributes ``create_user`` and ``update_user`` accept (auth0.md §2.1, §2.3).
USER_ATTRIBUTES = frozenset(
    {
        "email",
        "email_verified",
        "phone_number",
        "phone_verified",
        "given_name",
        "family_name",
        "name",
        "nickname",
        "picture",
        "username",
        "app_metadata",
        "user_metadata",
        "blocked",
    }
)


@dataclass(frozen=True)
class Auth0User:
    """An Auth0 user as far as provisioning cares; ``profile`` holds the other root attributes."""

    user_id: str
    email: str | None
    connection: str | None
    blocked: bool = False
    email_verified: bool = False
    app_metadata: Mapping[str, Any] = field(default_factory=dict)
    user_metadata: Mapping[str, Any] = field(default_factory=dict)
    profile: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "Auth0User":
        """Build from the JSON user object (its primary identity names the connection)."""
        identities = data.get("identities") or [{}]
        return cls(
            user_id=str(data["user_id"]),
            email=data.get("email"),
            connection=identities[0].get("connection"),
            blocked=bool(data.get("blocked", False)),
            email_verified=bool(data.get("email_verified", False)),
            app_metadata=dict(data.get("app_metadata") or {}),
            user_metadata=dict(data.get("user_metadata") or {}),
            profile={
                k: v
                for k, v in data.items()
                if k in USER_ATTRIBUTES
                and k not in ("email", "blocked", "email_verified", "app_metadata", "user_metadata")
            },
        )


@dataclass(frozen=True)
class Auth0Organization:
    """An Auth0 organization."""

    id: str
    name: str
    display_name: str | None = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "Auth0Organization":
        """Build from the JSON organization object."""
        return cls(
            id=str(data["id"]), name=str(data["name"]), display_name=data.get("display_name")
        )


@dataclass(frozen=True)
class Auth0Role:
    """A tenant role, assignable to organization members."""

    id: str
    name: str
    description: str | None = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "Auth0Role":
        """Build from the JSON role object."""
        return cls(id=str(data["id"]), name=str(data["name"]), description=data.get("description"))


@dataclass(frozen=True)
class Auth0Member:
    """An organization member; ``roles`` is ``None`` unless the listing asked for roles."""

    user_id: str
    email: str | None = None
    roles: tuple[Auth0Role, ...] | None = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "Auth0Member":
        """Build from the JSON member object."""
        roles = data.get("roles")
        return cls(
            user_id=str(data["user_id"]),
            email=data.get("email"),
            roles=None if roles is None else tuple(Auth0Role.from_wire(r) for r in roles),
        )


@dataclass(frozen=True)
class Auth0Invitation:
    """An organization invitation; accepting it makes the invitee a member with ``roles``."""

    id: str
    organization_id: str
    email: str
    invitation_url: str
    ticket_id: str | None = None
    roles: tuple[str, ...] = ()
    connection_id: str | None = None
    expires_at: str | None = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "Auth0Invitation":
        """Build from the JSON invitation object."""
        return cls(
            id=str(data["id"]),
            organization_id=str(data["organization_id"]),
            email=str((data.get("invitee") or {}).get("email", "")),
            invitation_url=str(data.get("invitation_url", "")),
            ticket_id=data.get("ticket_id"),
            roles=tuple(data.get("roles") or ()),
            connection_id=data.get("connection_id"),
            expires_at=data.get("expires_at"),
        )


@dataclass(frozen=True)
class Auth0Connection:
    """A connection; ``strategy`` says whether users can be created in it (``auth0``, ``email``, ``sms``)."""

    id: str
    name: str
    strategy: str

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "Auth0Connection":
        """Build from the JSON connection object."""
        return cls(
            id=str(data["id"]), name=str(data["name"]), strategy=str(data.get("strategy", ""))
        )

    @classmethod
    def from_enabled(cls, data: Mapping[str, Any]) -> "Auth0Connection":
        """Build from an organization's enabled-connection object (``connection_id`` + ``connection``)."""
        inner = data.get("connection") or {}
        return cls(
            id=str(data["connection_id"]),
            name=str(inner.get("name", "")),
            strategy=str(inner.get("strategy", "")),
        )
