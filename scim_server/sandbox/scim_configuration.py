"""Handlers for a connection's SCIM configuration and SCIM tokens (auth0.md §13, Management API).

``/api/v2/connections/{id}/scim-configuration`` (GET, POST, PATCH, DELETE), its
``default-mapping``, its ``tokens`` (GET, POST) and ``tokens/{token_id}`` (DELETE), and the
tenant-wide listing ``/api/v2/connections-scim-configurations`` the SDK's ``list`` reads. Only
SAML, OIDC, Okta Workforce and Entra connections have one; any other strategy answers Auth0's
404 "This connection type does not support SCIM".
"""

from collections.abc import Set
from typing import Any

from scim_server.sandbox import errors
from scim_server.sandbox.paging import checkpoint_page
from scim_server.sandbox.routing import Call
from scim_server.sandbox.routing import Endpoint
from scim_server.sandbox.routing import Reply
from scim_server.sandbox.routing import endpoint
from scim_server.sandbox.scim_mapping import check_mapping
from scim_server.sandbox.scim_mapping import check_scim_path
from scim_server.sandbox.scim_state import MIN_TOKEN_LIFETIME
from scim_server.sandbox.scim_state import SCIM_STRATEGIES
from scim_server.sandbox.scim_state import TOKEN_SCOPES
from scim_server.sandbox.scim_state import ScimToken
from scim_server.sandbox.scim_state import default_mapping
from scim_server.sandbox.scim_state import unsupported_connection
from scim_server.sandbox.tenant import iso_timestamp


def _connection(call: Call) -> dict[str, Any]:
    """Return the path's connection if it can have SCIM, else raise what Auth0 answers.

    A tenant whose plan lacks SCIM answers 403; the real body is unverified.
    """
    connection = call.tenant.connections.get(call.params["id"])
    if connection is None:
        raise errors.connection_not_found()
    if connection["strategy"] not in SCIM_STRATEGIES:
        raise unsupported_connection()
    if not call.tenant.inbound_scim.available:
        raise errors.ManagementError(
            403,
            "SCIM provisioning is not available on this tenant's plan "
            "(it requires Enterprise Connections).",
            "operation_not_supported",
        )
    return connection


def _fields(call: Call, allowed: Set[str], required: Set[str] = frozenset()) -> dict[str, Any]:
    """Return the body, refusing unknown and missing properties (``additionalProperties:false``)."""
    payload = call.payload()
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise errors.invalid_body(f"Additional properties not allowed: {','.join(unknown)}")
    missing = sorted(set(required) - set(payload))
    if missing:
        raise errors.invalid_body(f"Missing required property: {missing[0]}")
    return payload


def get_configuration(call: Call) -> Reply:
    """``GET …/scim-configuration``: 404 when the connection has none."""
    connection = _connection(call)
    return Reply(200, call.tenant.inbound_scim.configuration(connection["id"]))


def create_configuration(call: Call) -> Reply:
    """``POST …/scim-configuration``: ``{}`` takes the defaults; 409 when one exists already."""
    connection = _connection(call)
    payload = {} if call.body is None else _fields(call, {"user_id_attribute", "mapping"})
    state = call.tenant.inbound_scim
    if connection["id"] in state.configurations:
        raise errors.ManagementError(
            409, "The connection already has a SCIM configuration.", "scim_config_conflict"
        )
    attribute = payload.get("user_id_attribute")
    mapping = payload.get("mapping")
    configuration = state.configure(
        connection,
        now=call.tenant.now(),
        user_id_attribute=check_scim_path(attribute) if "user_id_attribute" in payload else None,
        mapping=check_mapping(mapping) if "mapping" in payload else None,
    )
    return Reply(201, configuration)


def update_configuration(call: Call) -> Reply:
    """``PATCH …/scim-configuration``: both fields are required, as the SDK sends them."""
    connection = _connection(call)
    configuration = call.tenant.inbound_scim.configuration(connection["id"])
    payload = _fields(call, {"user_id_attribute", "mapping"}, {"user_id_attribute", "mapping"})
    configuration["user_id_attribute"] = check_scim_path(payload["user_id_attribute"])
    configuration["mapping"] = check_mapping(payload["mapping"])
    configuration["updated_on"] = call.tenant.now()
    return Reply(200, configuration)


def delete_configuration(call: Call) -> Reply:
    """``DELETE …/scim-configuration``: 204; its tokens go with it, so the IdP is cut off."""
    connection = _connection(call)
    call.tenant.inbound_scim.configuration(connection["id"])
    call.tenant.inbound_scim.forget(connection["id"])
    return Reply(204)


def get_default_mapping(call: Call) -> Reply:
    """``GET …/scim-configuration/default-mapping``: the strategy's defaults."""
    return Reply(200, {"mapping": default_mapping(_connection(call)["strategy"])})


def list_configurations(call: Call) -> Reply:
    """``GET /api/v2/connections-scim-configurations``: checkpoint pages of every configuration."""
    configurations = list(call.tenant.inbound_scim.configurations.values())
    entries = [(index, c["connection_id"], c) for index, c in enumerate(configurations, start=1)]
    return Reply(200, checkpoint_page(call, "scim_configurations", entries))


def _listed(token: ScimToken) -> dict[str, Any]:
    """Return a token as listings show it: never its value."""
    listed: dict[str, Any] = {
        "token_id": token.token_id,
        "scopes": token.scopes,
        "created_at": iso_timestamp(token.created_at),
    }
    if token.valid_until is not None:
        listed["valid_until"] = iso_timestamp(token.valid_until)
    if token.last_used_at is not None:
        listed["last_used_at"] = iso_timestamp(token.last_used_at)
    return listed


def list_tokens(call: Call) -> Reply:
    """``GET …/scim-configuration/tokens``: a bare array, expired tokens included."""
    connection = _connection(call)
    call.tenant.inbound_scim.configuration(connection["id"])
    return Reply(
        200, [_listed(t) for t in call.tenant.inbound_scim.tokens.get(connection["id"], [])]
    )


def create_token(call: Call) -> Reply:
    """``POST …/scim-configuration/tokens``: ``{scopes, token_lifetime?}``; the value is shown once.

    At least one scope from the closed list, a lifetime over 900 seconds when given, and at most
    two active tokens per connection (409).
    """
    connection = _connection(call)
    state = call.tenant.inbound_scim
    state.configuration(connection["id"])
    payload = _fields(call, {"scopes", "token_lifetime"}, {"scopes"})
    scopes = payload["scopes"]
    if not isinstance(scopes, list) or not scopes:
        raise errors.invalid_body("scopes must hold at least one scope")
    unknown = [s for s in scopes if s not in TOKEN_SCOPES]
    if unknown:
        raise errors.invalid_body(f"{unknown[0]} is not a SCIM token scope")
    lifetime = payload.get("token_lifetime")
    if lifetime is not None and (
        not isinstance(lifetime, int)
        or isinstance(lifetime, bool)
        or lifetime <= MIN_TOKEN_LIFETIME
    ):
        raise errors.invalid_body(
            f"token_lifetime must be an integer greater than {MIN_TOKEN_LIFETIME}"
        )
    token = state.issue_token(
        connection["id"], scopes=scopes, lifetime=lifetime, now=call.tenant.clock()
    )
    return Reply(201, {**_listed(token), "token": token.token})


def delete_token(call: Call) -> Reply:
    """``DELETE …/scim-configuration/tokens/{token_id}``: 204; 404 for a token it does not have."""
    connection = _connection(call)
    tokens = call.tenant.inbound_scim.tokens.get(connection["id"], [])
    kept = [t for t in tokens if t.token_id != call.params["token_id"]]
    if len(kept) == len(tokens):
        raise errors.ManagementError(404, "The SCIM token does not exist.", "inexistent_scim_token")
    call.tenant.inbound_scim.tokens[connection["id"]] = kept
    return Reply(204)


_CONFIGURATION = "/api/v2/connections/{id}/scim-configuration"
_NAME = "connections.scim_configuration"

ENDPOINTS: list[Endpoint] = [
    endpoint("GET", _CONFIGURATION, f"{_NAME}.get", get_configuration, "read:scim_config"),
    endpoint("POST", _CONFIGURATION, f"{_NAME}.create", create_configuration, "create:scim_config"),
    endpoint(
        "PATCH", _CONFIGURATION, f"{_NAME}.update", update_configuration, "update:scim_config"
    ),
    endpoint(
        "DELETE", _CONFIGURATION, f"{_NAME}.delete", delete_configuration, "delete:scim_config"
    ),
    endpoint(
        "GET",
        f"{_CONFIGURATION}/default-mapping",
        f"{_NAME}.get_default_mapping",
        get_default_mapping,
        "read:scim_config",
    ),
    endpoint(
        "GET", f"{_CONFIGURATION}/tokens", f"{_NAME}.tokens.get", list_tokens, "read:scim_token"
    ),
    endpoint(
        "POST",
        f"{_CONFIGURATION}/tokens",
        f"{_NAME}.tokens.create",
        create_token,
        "create:scim_token",
    ),
    endpoint(
        "DELETE",
        f"{_CONFIGURATION}/tokens/{{token_id}}",
        f"{_NAME}.tokens.delete",
        delete_token,
        "delete:scim_token",
    ),
    endpoint(
        "GET",
        "/api/v2/connections-scim-configurations",
        f"{_NAME}.list",
        list_configurations,
        "read:scim_config",
    ),
]
"""The SCIM configuration endpoints, named after the SDK calls that reach them, with their scopes."""
