"""Handlers for organizations, their members and member roles (auth0.md §3.1 to §3.3)."""

import re
from typing import Any

from scim_server.sandbox import errors
from scim_server.sandbox.paging import checkpoint_page
from scim_server.sandbox.paging import is_checkpoint
from scim_server.sandbox.paging import offset_page
from scim_server.sandbox.paging import project
from scim_server.sandbox.routing import Call
from scim_server.sandbox.routing import Endpoint
from scim_server.sandbox.routing import Reply
from scim_server.sandbox.routing import endpoint

_NAME = re.compile(r"^[a-z0-9_-]{1,50}$")
_CREATE_FIELDS = {
    "name",
    "display_name",
    "branding",
    "metadata",
    "enabled_connections",
    "token_quota",
}
#: At most 10 users per ``POST /organizations/{id}/members`` (auth0.md §0.7).
MEMBERS_PER_REQUEST = 10


def create_organization(call: Call) -> Reply:
    """``POST /api/v2/organizations``: 201; 409 ``organization_conflict`` for a taken name."""
    payload = call.payload()
    unknown = sorted(set(payload) - _CREATE_FIELDS)
    if unknown:
        raise errors.invalid_body(f"Additional properties not allowed: {','.join(unknown)}")
    name = payload.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise errors.invalid_body(f"String does not match pattern ^[a-z0-9_-]{{1,50}}$: {name}")
    metadata = payload.get("metadata") or {}
    if len(metadata) > 25 or any(not isinstance(v, str) or len(v) > 255 for v in metadata.values()):
        raise errors.invalid_body(
            "metadata allows at most 25 string values of at most 255 characters"
        )
    if call.tenant.organization_named(name) is not None:
        raise errors.ManagementError(
            409, "An organization with the same name already exists.", "organization_conflict"
        )
    organization = call.tenant.add_organization(
        name, display_name=payload.get("display_name"), metadata=metadata
    )
    for entry in payload.get("enabled_connections") or []:
        connection = call.tenant.connections.get(entry.get("connection_id", ""))
        if connection is None:
            raise errors.connection_not_found()
        call.tenant.enable_connection(
            organization["id"], connection, bool(entry.get("assign_membership_on_login"))
        )
    if "branding" in payload:
        organization["branding"] = payload["branding"]
    return Reply(201, organization)


def get_organization(call: Call) -> Reply:
    """``GET /api/v2/organizations/{id}``."""
    return Reply(200, call.tenant.organization(call.params["id"]))


def get_organization_by_name(call: Call) -> Reply:
    """``GET /api/v2/organizations/name/{name}``: the same 404 as by id, without errorCode."""
    organization = call.tenant.organization_named(call.params["name"])
    if organization is None:
        raise errors.organization_not_found()
    return Reply(200, organization)


def _member_ids(call: Call, *, limit: int | None = None) -> list[str]:
    payload = call.payload()
    members = payload.get("members")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        raise errors.invalid_body("Missing required property: members")
    if limit is not None and len(members) > limit:
        raise errors.invalid_body(
            f"Array is too long ({len(members)}), maximum {limit}' on property members "
            "(List of user IDs to add to the organization as members.)"
        )
    return members


def add_members(call: Call) -> Reply:
    """``POST …/members``: at most 10 users, 204; adding an existing member changes nothing.

    Auth0's answer for a user that does not exist is unknown (auth0.md §3.2); we answer the user
    404 and add nobody, so a caller learns which batch to look at.
    """
    org_id = call.tenant.organization(call.params["id"])["id"]
    user_ids = _member_ids(call, limit=MEMBERS_PER_REQUEST)
    for user_id in user_ids:
        call.tenant.user(user_id)
    for user_id in user_ids:
        call.tenant.add_member(org_id, user_id)
    return Reply(204)


def remove_members(call: Call) -> Reply:
    """``DELETE …/members`` with a JSON body: 204, also for users who are not members."""
    org_id = call.tenant.organization(call.params["id"])["id"]
    for user_id in _member_ids(call):
        call.tenant.remove_member(org_id, user_id)
    return Reply(204)


def _role_view(call: Call, role_id: str) -> dict[str, Any]:
    role = call.tenant.roles.get(role_id, {"id": role_id, "name": role_id})
    return {"id": role["id"], "name": role["name"]}


def list_members(call: Call) -> Reply:
    """``GET …/members``: checkpoint pages when ``take``/``from`` is given, else offset pages.

    Each member is ``{user_id, email, picture, name}``; ``roles`` only when ``fields`` asks for it.
    """
    org_id = call.tenant.organization(call.params["id"])["id"]
    entries = []
    for user_id, sequence in call.tenant.members.get(org_id, {}).items():
        user = call.tenant.users.get(user_id, {})
        member = {"user_id": user_id, "email": user.get("email"), "picture": user.get("picture")}
        member["name"] = user.get("name")
        role_ids = call.tenant.member_roles.get((org_id, user_id), [])
        member["roles"] = [_role_view(call, r) for r in role_ids]
        entries.append((sequence, user_id, project(member, call, hidden=("roles",))))
    if is_checkpoint(call):
        return Reply(200, checkpoint_page(call, "members", entries))
    return Reply(200, offset_page(call, "members", [m for _, _, m in entries], limited=True))


def _role_ids(call: Call) -> list[str]:
    roles = call.payload().get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise errors.invalid_body("Missing required property: roles")
    return roles


def list_member_roles(call: Call) -> Reply:
    """``GET …/members/{user_id}/roles``: the directly assigned roles, offset pages."""
    org_id = call.tenant.organization(call.params["id"])["id"]
    user_id = call.tenant.user(call.params["user_id"])["user_id"]
    roles = [call.tenant.role(r) for r in call.tenant.member_roles.get((org_id, user_id), [])]
    return Reply(200, offset_page(call, "roles", roles))


def assign_member_roles(call: Call) -> Reply:
    """``POST …/members/{user_id}/roles``: 204; 409 past 50 roles per member."""
    org_id = call.tenant.organization(call.params["id"])["id"]
    user_id = call.tenant.user(call.params["user_id"])["user_id"]
    role_ids = _role_ids(call)
    for role_id in role_ids:
        call.tenant.role(role_id)
    call.tenant.assign_member_roles(org_id, user_id, role_ids)
    return Reply(204)


def remove_member_roles(call: Call) -> Reply:
    """``DELETE …/members/{user_id}/roles`` with a JSON body: 204, idempotent."""
    org_id = call.tenant.organization(call.params["id"])["id"]
    user_id = call.params["user_id"]
    removed = set(_role_ids(call))
    current = call.tenant.member_roles.get((org_id, user_id), [])
    call.tenant.member_roles[(org_id, user_id)] = [r for r in current if r not in removed]
    return Reply(204)


def add_enabled_connection(call: Call) -> Reply:
    """``POST …/enabled_connections``: 201 with the connection's name and strategy."""
    org_id = call.tenant.organization(call.params["id"])["id"]
    payload = call.payload()
    connection = call.tenant.connections.get(str(payload.get("connection_id")))
    if connection is None:
        raise errors.connection_not_found()
    entry = call.tenant.enable_connection(
        org_id, connection, bool(payload.get("assign_membership_on_login"))
    )
    return Reply(201, entry)


def list_enabled_connections(call: Call) -> Reply:
    """``GET …/enabled_connections``: offset pages."""
    org_id = call.tenant.organization(call.params["id"])["id"]
    enabled = call.tenant.enabled_connections.get(org_id, [])
    return Reply(200, offset_page(call, "enabled_connections", enabled))


_MEMBER = "/api/v2/organizations/{id}/members/{user_id}/roles"
ENDPOINTS: list[Endpoint] = [
    endpoint("POST", "/api/v2/organizations", "organizations.create", create_organization),
    endpoint(
        "GET",
        "/api/v2/organizations/name/{name}",
        "organizations.get_by_name",
        get_organization_by_name,
    ),
    endpoint("GET", "/api/v2/organizations/{id}", "organizations.get", get_organization),
    endpoint(
        "GET", "/api/v2/organizations/{id}/members", "organizations.members.list", list_members
    ),
    endpoint(
        "POST", "/api/v2/organizations/{id}/members", "organizations.members.create", add_members
    ),
    endpoint(
        "DELETE",
        "/api/v2/organizations/{id}/members",
        "organizations.members.delete",
        remove_members,
    ),
    endpoint("GET", _MEMBER, "organizations.members.roles.list", list_member_roles),
    endpoint("POST", _MEMBER, "organizations.members.roles.assign", assign_member_roles),
    endpoint("DELETE", _MEMBER, "organizations.members.roles.delete", remove_member_roles),
    endpoint(
        "POST",
        "/api/v2/organizations/{id}/enabled_connections",
        "organizations.enabled_connections.add",
        add_enabled_connection,
    ),
    endpoint(
        "GET",
        "/api/v2/organizations/{id}/enabled_connections",
        "organizations.enabled_connections.list",
        list_enabled_connections,
    ),
]
"""The organization endpoints, named after the SDK calls that reach them."""
