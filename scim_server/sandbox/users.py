"""Handlers for users: create, read, update, block, delete, look-ups and revocations (auth0.md §2, §4)."""

from typing import Any

from scim_server.sandbox import errors
from scim_server.sandbox import identifiers
from scim_server.sandbox.paging import offset_page
from scim_server.sandbox.paging import project
from scim_server.sandbox.routing import Call
from scim_server.sandbox.routing import Endpoint
from scim_server.sandbox.routing import Reply
from scim_server.sandbox.routing import endpoint
from scim_server.sandbox.tenant import CREATABLE_STRATEGIES

_PROFILE_FIELDS = {
    "email",
    "phone_number",
    "user_metadata",
    "app_metadata",
    "blocked",
    "email_verified",
    "phone_verified",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "username",
}
_CREATE_FIELDS = _PROFILE_FIELDS | {"connection", "user_id", "password", "verify_email"}
_UPDATE_FIELDS = _PROFILE_FIELDS | {
    "password",
    "verify_email",
    "verify_phone_number",
    "connection",
    "client_id",
}
_WRITE_ONLY = {
    "password",
    "verify_email",
    "verify_phone_number",
    "connection",
    "client_id",
    "user_id",
}
_METADATA = ("app_metadata", "user_metadata")


def _reject_unknown(payload: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise errors.invalid_body(f"Additional properties not allowed: {','.join(unknown)}")


def _require(payload: dict[str, Any], name: str) -> Any:
    value = payload.get(name)
    if value in (None, ""):
        raise errors.invalid_body(f"Missing required property: {name}")
    return value


def create_user(call: Call) -> Reply:
    """``POST /api/v2/users``: only database and passwordless connections can take new users.

    The error for enterprise connections is unknown (auth0.md §0.1); we answer 400
    ``operation_not_supported`` as §9 suggests.
    """
    payload = call.payload()
    _reject_unknown(payload, _CREATE_FIELDS)
    nulls = sorted(name for name, value in payload.items() if value is None)
    if nulls:
        # The OAS types every create property (strings of minLength 1, objects, booleans);
        # a null is a payload validation error, unlike on PATCH where it unsets a field.
        raise errors.invalid_body(
            f"Payload validation error: 'Expected type string but found type null' on property {nulls[0]}."
        )
    connection = call.tenant.connection_named(str(_require(payload, "connection")))
    if connection is None:
        raise errors.ManagementError(400, "The connection does not exist.", "inexistent_connection")
    strategy = connection["strategy"]
    if strategy not in CREATABLE_STRATEGIES:
        raise errors.ManagementError(
            400,
            f"Creating users is not supported for the {strategy} strategy.",
            "operation_not_supported",
        )
    attributes = {k: v for k, v in payload.items() if k not in _WRITE_ONLY}
    if strategy == "sms":
        _require(payload, "phone_number")
    else:
        # Database emails are stored lower-cased (auth0.md §2.5).
        attributes["email"] = str(_require(payload, "email")).lower()
    if strategy == "auth0":
        _require(payload, "password")
    elif "password" in payload:
        raise errors.invalid_body("Additional properties not allowed: password")
    user_id = f"{CREATABLE_STRATEGIES[strategy]}|{payload.get('user_id') or identifiers.hex_id()}"
    duplicate = user_id in call.tenant.users or any(
        call.tenant.user_connection(u) == connection["name"]
        and (
            (attributes.get("email") and u.get("email") == attributes.get("email"))
            or (
                attributes.get("phone_number")
                and u.get("phone_number") == attributes["phone_number"]
            )
        )
        for u in call.tenant.users.values()
    )
    if duplicate:
        raise errors.ManagementError(409, "The user already exists.", "auth0_idp_error")
    user = call.tenant.add_user(connection=connection, user_id=user_id, attributes=attributes)
    return Reply(201, user)


def get_user(call: Call) -> Reply:
    """``GET /api/v2/users/{id}``: immediately consistent; honours ``fields``."""
    return Reply(200, project(call.tenant.user(call.params["id"]), call))


def update_user(call: Call) -> Reply:
    """``PATCH /api/v2/users/{id}``: fields are replaced, metadata merged one level deep, null unsets."""
    user = call.tenant.user(call.params["id"])
    payload = call.payload()
    _reject_unknown(payload, _UPDATE_FIELDS)
    for name, value in payload.items():
        if name in _WRITE_ONLY:
            continue
        if name in _METADATA:
            merged = dict(user.get(name, {}))
            for key, item in (value or {}).items():
                if item is None:
                    merged.pop(key, None)
                else:
                    merged[key] = item
            user[name] = merged
        elif value is None:
            user.pop(name, None)
        elif name == "email" and user["identities"][0]["provider"] == "auth0":
            user[name] = str(value).lower()
        else:
            user[name] = value
    user["updated_at"] = call.tenant.now()
    return Reply(200, user)


def delete_user(call: Call) -> Reply:
    """``DELETE /api/v2/users/{id}``: 204, also for a user that does not exist."""
    call.tenant.remove_user(call.params["id"])
    return Reply(204)


def users_by_email(call: Call) -> Reply:
    """``GET /api/v2/users-by-email``: a bare array; the match is case-sensitive (auth0.md §2.5)."""
    email = call.query.get("email")
    if not email:
        raise errors.ManagementError(
            400,
            "Query validation error: 'Missing required property: email'.",
            "invalid_query_string",
        )
    found = [project(u, call) for u in call.tenant.users.values() if u.get("email") == email]
    return Reply(200, found)


def user_organizations(call: Call) -> Reply:
    """``GET /api/v2/users/{id}/organizations``: offset pages of the user's organizations."""
    user_id = call.tenant.user(call.params["id"])["user_id"]
    organizations = [
        call.tenant.organizations[org_id]
        for org_id, members in call.tenant.members.items()
        if user_id in members and org_id in call.tenant.organizations
    ]
    return Reply(200, offset_page(call, "organizations", organizations))


def _revoke(call: Call, *kinds: str) -> Reply:
    user_id = call.tenant.user(call.params["id"])["user_id"]
    call.tenant.revocations.extend((user_id, kind) for kind in kinds)
    return Reply(202, {})


def delete_sessions(call: Call) -> Reply:
    """``DELETE /api/v2/users/{id}/sessions``: 202 ``{}`` (REC-go TestUserManager_DeleteUserSessions)."""
    return _revoke(call, "sessions")


def delete_refresh_tokens(call: Call) -> Reply:
    """``DELETE /api/v2/users/{id}/refresh-tokens``: 202 ``{}``."""
    return _revoke(call, "refresh_tokens")


def revoke_access(call: Call) -> Reply:
    """``POST /api/v2/users/{id}/revoke-access``: sessions and, unless preserved, refresh tokens."""
    payload = call.body if isinstance(call.body, dict) else {}
    if payload.get("preserve_refresh_tokens"):
        return _revoke(call, "sessions")
    return _revoke(call, "sessions", "refresh_tokens")


ENDPOINTS: list[Endpoint] = [
    endpoint("POST", "/api/v2/users", "users.create", create_user),
    endpoint("GET", "/api/v2/users/{id}", "users.get", get_user),
    endpoint("PATCH", "/api/v2/users/{id}", "users.update", update_user),
    endpoint("DELETE", "/api/v2/users/{id}", "users.delete", delete_user),
    endpoint("GET", "/api/v2/users-by-email", "users.list_users_by_email", users_by_email),
    endpoint(
        "GET", "/api/v2/users/{id}/organizations", "users.organizations.list", user_organizations
    ),
    endpoint("DELETE", "/api/v2/users/{id}/sessions", "users.sessions.delete", delete_sessions),
    endpoint(
        "DELETE",
        "/api/v2/users/{id}/refresh-tokens",
        "users.refresh_token.delete",
        delete_refresh_tokens,
    ),
    endpoint("POST", "/api/v2/users/{id}/revoke-access", "users.revoke_access", revoke_access),
]
"""The user endpoints, named after the SDK calls that reach them."""
