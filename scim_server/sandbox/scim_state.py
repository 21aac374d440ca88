"""Auth0 Inbound SCIM state of the emulated tenant: SCIM configurations and SCIM tokens (auth0.md §13).

Auth0 serves SCIM for an enterprise connection once the connection has a *SCIM configuration*
(which SCIM attribute becomes the last part of the ``user_id``, and how SCIM attributes map onto
the Auth0 profile) and a *SCIM token* the IdP presents. This module keeps both, with Auth0's
rules on them; the Management API endpoints (``scim_configuration.py``) and the SCIM server
(``inbound_scim.py``) read and write it. It hangs on the :class:`~scim_server.sandbox.tenant.Tenant`
as ``tenant.inbound_scim``.

Where Auth0's behaviour is unverified, the stricter reading is modelled (noted at each rule).
"""

import secrets
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from scim_server.sandbox import errors
from scim_server.sandbox import identifiers

SCIM_STRATEGIES = ("samlp", "oidc", "okta", "waad")
"""SAML, OIDC, Okta Workforce and Entra: the only connection types Auth0 serves SCIM for."""

DEFAULT_USER_ID_ATTRIBUTE = {
    "samlp": "userName",
    "oidc": "externalId",
    "okta": "externalId",
    "waad": "externalId",
}
"""Auth0's default ``user_id_attribute`` per strategy (auth0.md §13)."""

TOKEN_SCOPES = (
    "get:users",
    "post:users",
    "put:users",
    "patch:users",
    "delete:users",
    "get:groups",
    "post:groups",
    "put:groups",
    "patch:groups",
    "delete:groups",
)
"""The closed list of scopes a SCIM token may carry."""

MIN_TOKEN_LIFETIME = 900
"""``token_lifetime`` must be greater than this many seconds."""

MAX_ACTIVE_TOKENS = 2
"""At most two unexpired tokens per connection."""

TENANT_NAME = "emulator"
"""The emulated tenant's name, which every configuration reports."""

UNSUPPORTED = "This connection type does not support SCIM"
"""The real 404 message for a connection of another strategy (TF recordings)."""

_COMMON_MAPPING = (
    ("preferred_username", "userName"),
    ("email", "emails[primary eq true].value"),
    ("app_metadata.external_id", "externalId"),
    ("blocked", "active"),
    ("name", "displayName"),
    ("given_name", "name.givenName"),
    ("family_name", "name.familyName"),
)
_ENTRA_MAPPING = (
    ("upn", "userName"),
    ("email", 'emails[type eq "work"].value'),
    *_COMMON_MAPPING[2:],
)


def default_mapping(strategy: str) -> list[dict[str, str]]:
    """Return the attribute mapping a new configuration gets, as recorded for Okta and Entra.

    Only the recorded pairs are modelled (auth0.md §13); the real list may be longer, and clients
    must read it from ``GET …/scim-configuration/default-mapping`` rather than assume it.

    >>> default_mapping("waad")[0]
    {'auth0': 'upn', 'scim': 'userName'}
    """
    pairs = _ENTRA_MAPPING if strategy == "waad" else _COMMON_MAPPING
    return [{"auth0": auth0, "scim": scim} for auth0, scim in pairs]


def unsupported_connection() -> errors.ManagementError:
    """Return the 404 for a connection whose strategy has no SCIM (its body has no errorCode)."""
    return errors.ManagementError(404, UNSUPPORTED)


@dataclass
class ScimToken:
    """One SCIM token of a connection; ``token`` is shown once, at creation."""

    token_id: str
    token: str = field(repr=False)
    scopes: list[str]
    created_at: float
    valid_until: float | None
    last_used_at: float | None = None

    def is_active(self, now: float) -> bool:
        """Tell whether the token has not expired (a token without lifetime never does)."""
        return self.valid_until is None or now < self.valid_until


@dataclass
class InboundScimState:
    """The SCIM configurations, tokens and SCIM-pushed groups of a tenant's connections.

    :param available: Whether the tenant's plan includes SCIM for enterprise connections; a
        tenant without it answers 403 to the SCIM configuration endpoints.
    """

    available: bool = True
    configurations: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Connection id -> the configuration as the Management API returns it."""
    tokens: dict[str, list[ScimToken]] = field(default_factory=dict)
    """Connection id -> its tokens, expired ones included, in creation order."""
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Connection id -> group id -> the stored SCIM ``Group`` (Auth0 keeps pushed groups)."""

    def configuration(self, connection_id: str) -> dict[str, Any]:
        """Return a connection's configuration, or raise the 404 Auth0 answers without one.

        The message is unverified; the status is what the SDK maps (``NotFoundError``).
        """
        try:
            return self.configurations[connection_id]
        except KeyError:
            raise errors.ManagementError(
                404, "The connection does not have a SCIM configuration.", "inexistent_scim_config"
            ) from None

    def configure(
        self,
        connection: dict[str, Any],
        *,
        now: str,
        user_id_attribute: str | None = None,
        mapping: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Store a connection's configuration, the strategy's defaults for what is not given."""
        strategy = connection["strategy"]
        configuration = {
            "connection_id": connection["id"],
            "connection_name": connection["name"],
            "strategy": strategy,
            "tenant_name": TENANT_NAME,
            "user_id_attribute": user_id_attribute or DEFAULT_USER_ID_ATTRIBUTE[strategy],
            "mapping": mapping or default_mapping(strategy),
            "created_at": now,
            "updated_on": now,
        }
        self.configurations[connection["id"]] = configuration
        return configuration

    def issue_token(
        self, connection_id: str, *, scopes: list[str], lifetime: int | None, now: float
    ) -> ScimToken:
        """Mint a token for a connection, refusing a third active one (409, as the SDK maps it)."""
        active = [t for t in self.tokens.get(connection_id, []) if t.is_active(now)]
        if len(active) >= MAX_ACTIVE_TOKENS:
            raise errors.ManagementError(
                409,
                f"A connection can have at most {MAX_ACTIVE_TOKENS} active SCIM tokens.",
                "scim_token_limit_reached",
            )
        token = ScimToken(
            token_id=identifiers.prefixed_id("tkn"),
            token="tok_" + secrets.token_urlsafe(32),
            scopes=list(dict.fromkeys(scopes)),
            created_at=now,
            valid_until=None if lifetime is None else now + lifetime,
        )
        self.tokens.setdefault(connection_id, []).append(token)
        return token

    def token_presented(self, connection_id: str, bearer: str, *, now: float) -> ScimToken | None:
        """Return the live token of this connection a request presents, noting its use."""
        for token in self.tokens.get(connection_id, []):
            if secrets.compare_digest(token.token, bearer) and token.is_active(now):
                token.last_used_at = now
                return token
        return None

    def forget(self, connection_id: str) -> None:
        """Drop a connection's configuration with its tokens and groups (configuration DELETE)."""
        self.configurations.pop(connection_id, None)
        self.tokens.pop(connection_id, None)
        self.groups.pop(connection_id, None)
