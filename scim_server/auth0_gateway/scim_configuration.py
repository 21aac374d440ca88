"""The :class:`~scim_server.auth0_gateway.scim_port.ScimConfigurations` port on the SDK 6.8.

``client.connections.scim_configuration`` and its ``.tokens`` (auth0.md §13), called on the
gateway's own ``AsyncAuth0`` client, so these calls share its token, limiter, metrics and
``max_retries=0``. The SDK's mapping item names its Auth0 side ``auth_0`` (alias ``auth0``);
:class:`~scim_server.auth0_gateway.scim_values.ScimMapping` says ``auth0``.
"""

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import AbstractContextManager
from contextlib import contextmanager
from typing import Any

from auth0.management import AsyncAuth0
from auth0.management.types import CreateScimConfigurationRequestContent
from auth0.management.types import ScimMappingItem

from scim_server.auth0_gateway.errors import Auth0NotFound
from scim_server.auth0_gateway.errors import Auth0ScimUnsupported
from scim_server.auth0_gateway.scim_values import ScimConfiguration
from scim_server.auth0_gateway.scim_values import ScimMapping
from scim_server.auth0_gateway.scim_values import ScimToken

UNSUPPORTED = "does not support SCIM"
"""What Auth0's 404 for a connection type without SCIM says (TF recordings, auth0.md §13)."""


def _wire(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


class SdkScimConfigurations:
    """SCIM configurations and tokens through the gateway's SDK client.

    :param sdk: The gateway's client.
    :param errors: The gateway's translation of SDK failures into its error tree.
    """

    def __init__(
        self, sdk: AsyncAuth0, errors: Callable[[str], AbstractContextManager[None]]
    ) -> None:
        self._api = sdk.connections.scim_configuration
        self._errors = errors

    @contextmanager
    def _translated(self, operation: str) -> Iterator[None]:
        """Translate, and tell a connection type without SCIM from a missing configuration."""
        try:
            with self._errors(f"connections.scim_configuration.{operation}"):
                yield
        except Auth0NotFound as error:
            if UNSUPPORTED in str(error):
                raise Auth0ScimUnsupported(
                    str(error), status=error.status, error_code=error.error_code
                ) from error
            raise

    async def get(self, connection_id: str) -> ScimConfiguration:
        """``GET /connections/{id}/scim-configuration``."""
        with self._translated("get"):
            found = await self._api.get(connection_id)
        return ScimConfiguration.from_wire(_wire(found))

    async def create(
        self, connection_id: str, *, user_id_attribute: str | None = None
    ) -> ScimConfiguration:
        """``POST /connections/{id}/scim-configuration``, with Auth0's default mapping.

        An unset field is left out, not sent as ``null`` (the SDK sends what was set).
        """
        chosen = {} if user_id_attribute is None else {"user_id_attribute": user_id_attribute}
        request = CreateScimConfigurationRequestContent(**chosen)
        with self._translated("create"):
            created = await self._api.create(connection_id, request=request)
        return ScimConfiguration.from_wire(_wire(created))

    async def update(
        self, connection_id: str, *, user_id_attribute: str, mapping: Sequence[ScimMapping]
    ) -> ScimConfiguration:
        """``PATCH /connections/{id}/scim-configuration`` with both fields."""
        items = [ScimMappingItem(auth0=m.auth0, scim=m.scim) for m in mapping]
        with self._translated("update"):
            updated = await self._api.update(
                connection_id, user_id_attribute=user_id_attribute, mapping=items
            )
        return ScimConfiguration.from_wire(_wire(updated))

    async def delete(self, connection_id: str) -> None:
        """``DELETE /connections/{id}/scim-configuration``."""
        with self._translated("delete"):
            await self._api.delete(connection_id)

    async def default_mapping(self, connection_id: str) -> tuple[ScimMapping, ...]:
        """``GET /connections/{id}/scim-configuration/default-mapping``."""
        with self._translated("get_default_mapping"):
            found = await self._api.get_default_mapping(connection_id)
        return tuple(ScimMapping(str(m["auth0"]), str(m["scim"])) for m in _wire(found)["mapping"])

    async def list_tokens(self, connection_id: str) -> list[ScimToken]:
        """``GET /connections/{id}/scim-configuration/tokens`` (a bare array)."""
        with self._translated("tokens.get"):
            found = await self._api.tokens.get(connection_id)
        return [ScimToken.from_wire(_wire(t)) for t in found]

    async def create_token(
        self, connection_id: str, *, scopes: Sequence[str], lifetime: int | None = None
    ) -> ScimToken:
        """``POST /connections/{id}/scim-configuration/tokens``; the answer holds the secret."""
        options: dict[str, Any] = {} if lifetime is None else {"token_lifetime": lifetime}
        with self._translated("tokens.create"):
            created = await self._api.tokens.create(connection_id, scopes=list(scopes), **options)
        return ScimToken.from_wire(_wire(created))

    async def delete_token(self, connection_id: str, token_id: str) -> None:
        """``DELETE /connections/{id}/scim-configuration/tokens/{token_id}``."""
        with self._translated("tokens.delete"):
            await self._api.tokens.delete(connection_id, token_id)
