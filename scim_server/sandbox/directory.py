"""Handlers for the tenant-wide catalogues: roles and connections (auth0.md §3.4, §6.2)."""

from scim_server.sandbox import errors
from scim_server.sandbox.paging import checkpoint_page
from scim_server.sandbox.paging import is_checkpoint
from scim_server.sandbox.paging import offset_page
from scim_server.sandbox.paging import project
from scim_server.sandbox.routing import Call
from scim_server.sandbox.routing import Endpoint
from scim_server.sandbox.routing import Reply
from scim_server.sandbox.routing import endpoint


def list_roles(call: Call) -> Reply:
    """``GET /api/v2/roles``: offset pages; ``name_filter`` is case-insensitive.

    Whether Auth0 matches ``name_filter`` exactly or by substring is unknown (auth0.md §3.4); a
    substring match is the looser reading, so clients must compare names exactly themselves.
    """
    wanted = (call.query.get("name_filter") or "").lower()
    roles = [r for r in call.tenant.roles.values() if wanted in r["name"].lower()]
    return Reply(200, offset_page(call, "roles", roles))


def create_role(call: Call) -> Reply:
    """``POST /api/v2/roles``: 200, not 201 (REC-go TestRoleManager)."""
    payload = call.payload()
    name = payload.get("name")
    if not isinstance(name, str) or not name:
        raise errors.invalid_body("Missing required property: name")
    if any(r["name"] == name for r in call.tenant.roles.values()):
        raise errors.ManagementError(409, "Role with name already exists.")
    return Reply(200, call.tenant.add_role(name, str(payload.get("description") or "")))


def get_role(call: Call) -> Reply:
    """``GET /api/v2/roles/{id}``: 404 without errorCode when unknown."""
    return Reply(200, call.tenant.role(call.params["id"]))


def list_connections(call: Call) -> Reply:
    """``GET /api/v2/connections``: checkpoint pages with ``take``/``from``, else offset pages."""
    wanted_strategy = call.query.getlist("strategy")
    wanted_name = call.query.get("name")
    connections = [
        project(c, call)
        for c in call.tenant.connections.values()
        if (not wanted_strategy or c["strategy"] in wanted_strategy)
        and wanted_name in (None, c["name"])
    ]
    if is_checkpoint(call):
        entries = [(index, str(c.get("id")), c) for index, c in enumerate(connections, start=1)]
        return Reply(200, checkpoint_page(call, "connections", entries))
    return Reply(200, offset_page(call, "connections", connections))


ENDPOINTS: list[Endpoint] = [
    endpoint("GET", "/api/v2/roles", "roles.list", list_roles),
    endpoint("POST", "/api/v2/roles", "roles.create", create_role),
    endpoint("GET", "/api/v2/roles/{id}", "roles.get", get_role),
    endpoint("GET", "/api/v2/connections", "connections.list", list_connections),
]
"""The catalogue endpoints, named after the SDK calls that reach them."""
