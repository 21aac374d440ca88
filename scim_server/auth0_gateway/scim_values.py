"""Auth0 Inbound SCIM in our vocabulary: configurations, SCIM tokens and the users it serves.

Free of SDK types, like :mod:`~scim_server.auth0_gateway.values` (auth0.md §13).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

SCIM_STRATEGIES = frozenset({"samlp", "oidc", "okta", "waad"})
"""The strategies Auth0 serves Inbound SCIM for: SAML, OIDC, Okta Workforce, Entra."""


def _moment(value: object) -> datetime | None:
    """Read an Auth0 ISO 8601 timestamp (``…Z``), or ``None`` when absent."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class ScimMapping:
    """One mapping pair: an Auth0 profile field and the SCIM attribute it comes from."""

    auth0: str
    scim: str


@dataclass(frozen=True)
class ScimConfiguration:
    """A connection's SCIM configuration.

    ``user_id_attribute`` is the SCIM attribute whose value becomes the last part of the
    ``user_id``: ``{strategy}|{connection name}|{value}``.
    """

    connection_id: str
    connection_name: str
    strategy: str
    user_id_attribute: str
    mapping: tuple[ScimMapping, ...]

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "ScimConfiguration":
        """Build from the JSON configuration object."""
        return cls(
            connection_id=str(data["connection_id"]),
            connection_name=str(data["connection_name"]),
            strategy=str(data["strategy"]),
            user_id_attribute=str(data["user_id_attribute"]),
            mapping=tuple(ScimMapping(str(m["auth0"]), str(m["scim"])) for m in data["mapping"]),
        )


@dataclass(frozen=True)
class ScimToken:
    """A SCIM token of a connection; ``token`` (the secret) is only known right after creation."""

    token_id: str
    scopes: tuple[str, ...]
    created_at: datetime | None = None
    valid_until: datetime | None = None
    last_used_at: datetime | None = None
    token: str | None = field(default=None, repr=False)

    def is_active(self, now: datetime) -> bool:
        """Tell whether the token has not expired (without ``valid_until`` it never does)."""
        return self.valid_until is None or now < self.valid_until

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "ScimToken":
        """Build from a token object of a listing or of a creation."""
        return cls(
            token_id=str(data["token_id"]),
            scopes=tuple(data.get("scopes") or ()),
            created_at=_moment(data.get("created_at")),
            valid_until=_moment(data.get("valid_until")),
            last_used_at=_moment(data.get("last_used_at")),
            token=data.get("token"),
        )


@dataclass(frozen=True)
class InboundScimUser:
    """A user as Auth0's SCIM endpoint serves it; its SCIM ``id`` is the Auth0 ``user_id``."""

    user_id: str
    user_name: str | None
    external_id: str | None
    active: bool
    resource: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "InboundScimUser":
        """Build from a SCIM User (``active`` absent reads as active, RFC 7643 §4.1.1)."""
        return cls(
            user_id=str(data["id"]),
            user_name=data.get("userName"),
            external_id=data.get("externalId"),
            active=data.get("active") is not False,
            resource=dict(data),
        )
