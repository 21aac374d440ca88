"""The port to a connection's Auth0 SCIM configuration and SCIM tokens (auth0.md §13).

Part of :class:`~scim_server.auth0_gateway.port.Auth0Gateway` (``gateway.scim_configurations``)
and under the same contract: only the gateway's error tree leaves it, nothing is retried, every
call passes the process-wide limiter. Besides:

- A connection whose strategy has no SCIM raises
  :class:`~scim_server.auth0_gateway.errors.Auth0ScimUnsupported` from every method.
- A connection without configuration raises ``Auth0NotFound`` from ``get`` and the token calls.
- A missing Management API scope (``read|create|update|delete:scim_config``,
  ``read|create|delete:scim_token``) is an ``Auth0Rejected`` with ``error_code``
  ``insufficient_scope``; a tenant whose plan lacks SCIM is another 403 ``Auth0Rejected``.
"""

from collections.abc import Sequence
from typing import Protocol

from scim_server.auth0_gateway.scim_values import ScimConfiguration
from scim_server.auth0_gateway.scim_values import ScimMapping
from scim_server.auth0_gateway.scim_values import ScimToken


class ScimConfigurations(Protocol):
    """The SCIM configuration and SCIM tokens of the tenant's enterprise connections."""

    async def get(self, connection_id: str) -> ScimConfiguration:
        """Return a connection's SCIM configuration."""
        ...

    async def create(
        self, connection_id: str, *, user_id_attribute: str | None = None
    ) -> ScimConfiguration:
        """Create the configuration, with Auth0's default mapping.

        :param user_id_attribute: ``None`` takes the strategy's default (``userName`` for SAML,
            ``externalId`` for OIDC, Okta and Entra).
        :raises Auth0Conflict: The connection has one already.
        """
        ...

    async def update(
        self, connection_id: str, *, user_id_attribute: str, mapping: Sequence[ScimMapping]
    ) -> ScimConfiguration:
        """Replace the configuration's ``user_id_attribute`` and mapping."""
        ...

    async def delete(self, connection_id: str) -> None:
        """Delete the configuration and, with it, its tokens."""
        ...

    async def default_mapping(self, connection_id: str) -> tuple[ScimMapping, ...]:
        """Return the mapping a new configuration of this connection gets."""
        ...

    async def list_tokens(self, connection_id: str) -> list[ScimToken]:
        """Return the connection's tokens (expired ones too), without their secrets."""
        ...

    async def create_token(
        self, connection_id: str, *, scopes: Sequence[str], lifetime: int | None = None
    ) -> ScimToken:
        """Mint a token; its ``token`` is the only time the secret is shown.

        :param lifetime: Seconds, more than 900; ``None`` for a token that does not expire.
        :raises Auth0Conflict: The connection has two active tokens already.
        """
        ...

    async def delete_token(self, connection_id: str, token_id: str) -> None:
        """Delete a token; the IdP holding it is refused from then on.

        :raises Auth0NotFound: The connection has no such token.
        """
        ...
