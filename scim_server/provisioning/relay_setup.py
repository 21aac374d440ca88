"""Setting an organization up for mode ``relay``: its connection's Auth0 SCIM configuration and token.

Mode ``relay`` creates enterprise-connection users through Auth0's own SCIM endpoint of the
organization's connection (auth0.md §13), which needs three things in Auth0 and one here: a
connection whose strategy has SCIM (SAML, OIDC, Okta Workforce, Entra), its SCIM configuration
with the ``user_id_attribute`` the mapping profile requires, and a SCIM token, kept encrypted
by :class:`~scim_server.storage.relay_tokens.RelayTokenVault`. :func:`set_up_relay` makes all
of them so, creating what is missing and reusing what is right, so running it again (a repair)
changes nothing that works. Every failure an operator must fix is a :class:`RelaySetupError`
whose message is one line.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from scim_server.auth0_gateway import SCIM_STRATEGIES
from scim_server.auth0_gateway import Auth0Connection
from scim_server.auth0_gateway import Auth0Error
from scim_server.auth0_gateway import Auth0Gateway
from scim_server.auth0_gateway import Auth0NotFound
from scim_server.auth0_gateway import Auth0Rejected
from scim_server.auth0_gateway import Auth0ScimUnsupported
from scim_server.auth0_gateway import ScimConfiguration
from scim_server.auth0_gateway import ScimToken
from scim_server.mapping.profile import MappingProfile
from scim_server.storage.relay_tokens import RelayToken
from scim_server.storage.relay_tokens import RelayTokenVault

RELAY_TOKEN_SCOPES = ("get:users", "post:users", "patch:users", "delete:users")
"""All the SCIM token may do: create a joiner, find one, patch (and deactivate), delete.
No ``put:users`` (relay patches) and no group scope (membership and roles go through the
Management API)."""

SETUP_SCOPES = (
    "read:connections",
    "read:scim_config",
    "create:scim_config",
    "read:scim_token",
    "create:scim_token",
    "delete:scim_token",
)
"""The Management API scopes set-up needs besides the provisioning ones."""

MAX_ACTIVE_TOKENS = 2
"""Auth0 allows two active SCIM tokens per connection."""

RENEWAL_MARGIN = timedelta(days=7)
"""A stored token expiring sooner than this is replaced."""


class RelaySetupError(ValueError):
    """Mode ``relay`` cannot be set up until the operator fixes what the message says."""


@dataclass(frozen=True)
class RelaySetup:
    """What set-up found or made: the connection, its configuration and the stored token."""

    connection: Auth0Connection
    configuration: ScimConfiguration
    token: RelayToken
    created_configuration: bool
    minted_token: bool


def _unsupported(connection: str, why: str) -> RelaySetupError:
    return RelaySetupError(
        f"Connection {connection!r} cannot be used in mode relay ({why}): This connection type "
        "does not support SCIM (use mode link or invite)"
    )


@contextmanager
def _explained(connection: str) -> Iterator[None]:
    """Turn what Auth0 refuses into the one-line error an operator can act on."""
    try:
        yield
    except Auth0ScimUnsupported:
        raise _unsupported(connection, "Auth0 answered") from None
    except Auth0Rejected as error:
        if error.status == 403 and error.error_code == "insufficient_scope":
            raise RelaySetupError(
                f"The Auth0 application lacks a Management API scope ({error}); mode relay "
                f"needs {', '.join(SETUP_SCOPES)}"
            ) from None
        if error.status == 403:
            raise RelaySetupError(
                "The Auth0 tenant's plan does not include SCIM for enterprise connections "
                f"({error})"
            ) from None
        raise RelaySetupError(
            f"Auth0 refused the set-up of connection {connection!r}: {error}"
        ) from None
    except Auth0Error as error:
        raise RelaySetupError(
            f"Auth0 could not set connection {connection!r} up: {error}"
        ) from None


async def set_up_relay(
    *,
    gateway: Auth0Gateway,
    vault: RelayTokenVault,
    connection: str,
    profile: MappingProfile,
    token_lifetime: int | None = None,
    now: datetime | None = None,
) -> RelaySetup:
    """Make the organization's connection, SCIM configuration and SCIM token ready for relay.

    :param vault: The organization's stored token.
    :param connection: The name of the organization's Auth0 connection.
    :param profile: Its mapping profile, whose ``[relay]`` table names the ``user_id_attribute``.
    :param token_lifetime: Seconds a new token lives (more than 900); ``None``: it never expires.
    :raises RelaySetupError: With the one-line reason it cannot be done.
    :raises ConfigError: When the stored token cannot be opened with ``SCIM_SECRET_KEY``.
    """
    moment = now or datetime.now(UTC)
    with _explained(connection):
        found = await _connection_named(gateway, connection)
        configuration, created = await _configuration(gateway, found, profile)
        stored = await vault.load()
        listed = await gateway.scim_configurations.list_tokens(found.id)
        if stored is not None and _is_usable(stored, found, listed, moment):
            return RelaySetup(found, configuration, stored, created, minted_token=False)
        token = await _replace_token(
            gateway, vault, found, stored, listed, lifetime=token_lifetime, now=moment
        )
    return RelaySetup(found, configuration, token, created, minted_token=True)


async def _connection_named(gateway: Auth0Gateway, name: str) -> Auth0Connection:
    """Return the tenant's connection of this name, if its strategy has Auth0 Inbound SCIM."""
    found = next((c for c in await gateway.list_connections() if c.name == name), None)
    if found is None:
        raise RelaySetupError(f"Auth0 has no connection named {name!r}")
    if found.strategy not in SCIM_STRATEGIES:
        raise _unsupported(name, f"strategy {found.strategy}")
    return found


async def _configuration(
    gateway: Auth0Gateway, connection: Auth0Connection, profile: MappingProfile
) -> tuple[ScimConfiguration, bool]:
    """Return the connection's SCIM configuration, created if missing; check it against the profile."""
    wanted = profile.relay.user_id_attribute_for(connection.strategy)
    configurations = gateway.scim_configurations
    created = False
    try:
        configuration = await configurations.get(connection.id)
    except Auth0ScimUnsupported:
        raise
    except Auth0NotFound:
        configuration = await configurations.create(connection.id, user_id_attribute=wanted)
        created = True
    actual = configuration.user_id_attribute
    if wanted is not None and actual.casefold() != wanted.casefold():
        raise RelaySetupError(
            f"Connection {connection.name!r} makes Auth0 user_ids from {actual!r}, but profile "
            f"{profile.id!r} sends what {connection.strategy} logins assert in {wanted!r}: change "
            "the connection's SCIM configuration (user_id_attribute) or the profile"
        )
    return configuration, created


def _is_usable(
    stored: RelayToken, connection: Auth0Connection, listed: list[ScimToken], now: datetime
) -> bool:
    """Tell whether the stored token can stay: same connection, scopes, still at Auth0, not expiring."""
    return (
        stored.connection_id == connection.id
        and any(t.token_id == stored.token_id for t in listed)
        and set(RELAY_TOKEN_SCOPES) <= set(stored.scopes)
        and stored.is_active(now + RENEWAL_MARGIN)
    )


async def rotate_relay_token(
    *,
    gateway: Auth0Gateway,
    vault: RelayTokenVault,
    connection: Auth0Connection,
    lifetime: int | None = None,
    now: datetime | None = None,
) -> RelayToken:
    """Replace the organization's token with a new one (before it expires, or after a leak).

    :raises RelaySetupError: When Auth0 refuses, or two other tokens fill the cap.
    """
    moment = now or datetime.now(UTC)
    with _explained(connection.name):
        stored = await vault.load()
        listed = await gateway.scim_configurations.list_tokens(connection.id)
        return await _replace_token(
            gateway, vault, connection, stored, listed, lifetime=lifetime, now=moment
        )


async def _replace_token(
    gateway: Auth0Gateway,
    vault: RelayTokenVault,
    connection: Auth0Connection,
    stored: RelayToken | None,
    listed: list[ScimToken],
    *,
    lifetime: int | None,
    now: datetime,
) -> RelayToken:
    """Mint a new token, store it, then delete the one it replaces, within Auth0's two-token cap.

    The new token is stored before the old one is deleted, so the organization always has a
    working token. Tokens scim-server does not hold are never deleted: when they fill the cap,
    the operator is told which ones to remove.
    """
    previous = stored.token_id if stored and stored.connection_id == connection.id else None
    active = [t for t in listed if t.is_active(now)]
    if len(active) >= MAX_ACTIVE_TOKENS:
        foreign = ", ".join(t.token_id for t in active if t.token_id != previous)
        raise RelaySetupError(
            f"Connection {connection.name!r} has {len(active)} active Auth0 SCIM tokens, the most "
            f"Auth0 allows: delete {foreign} (not used by scim-server) in the Auth0 dashboard, "
            "then run this again"
        )
    configurations = gateway.scim_configurations
    minted = await configurations.create_token(
        connection.id, scopes=RELAY_TOKEN_SCOPES, lifetime=lifetime
    )
    assert minted.token is not None, "Auth0 shows a new token's secret in its answer"
    token = RelayToken(
        connection_id=connection.id,
        token_id=minted.token_id,
        scopes=minted.scopes,
        created_at=minted.created_at or now,
        valid_until=minted.valid_until,
        token=minted.token,
    )
    await vault.store(token)
    if previous is not None and any(t.token_id == previous for t in active):
        with suppress(Auth0NotFound):  # someone deleted it meanwhile: just as good
            await configurations.delete_token(connection.id, previous)
    return token
