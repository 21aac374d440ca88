"""Seeding a tenant with connections, roles and organizations, from Python or from JSON."""

from collections.abc import Mapping
from typing import Any

from scim_server.sandbox.tenant import Tenant

#: The database connection every Auth0 tenant starts with.
DEFAULT_DATABASE = "Username-Password-Authentication"


def seed_tenant(tenant: Tenant, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Create what ``spec`` lists and return it, with the ids the tenant minted.

    ``spec`` is ``{"connections": [{"name", "strategy"}], "roles": [{"name", "description"}],
    "organizations": [{"name", "display_name", "connections": [names],
    "assign_membership_on_login"}]}``; every key is optional. Connections come first so that
    organizations can enable them.
    """
    created: dict[str, Any] = {"connections": [], "roles": [], "organizations": []}
    for connection in spec.get("connections", []):
        created["connections"].append(
            tenant.add_connection(connection["name"], connection.get("strategy", "auth0"))
        )
    for role in spec.get("roles", []):
        created["roles"].append(tenant.add_role(role["name"], role.get("description", "")))
    for organization in spec.get("organizations", []):
        created["organizations"].append(
            tenant.add_organization(
                organization["name"],
                display_name=organization.get("display_name"),
                metadata=organization.get("metadata"),
                connections=tuple(organization.get("connections", ())),
                assign_membership_on_login=organization.get("assign_membership_on_login", False),
            )
        )
    return created


DEMO = {
    "connections": [
        {"name": DEFAULT_DATABASE, "strategy": "auth0"},
        {"name": "acme-okta", "strategy": "okta"},
    ],
    "roles": [
        {"name": "admin", "description": "Administers the organization"},
        {"name": "member", "description": "Uses the applications"},
        {"name": "viewer", "description": "Reads only"},
    ],
    "organizations": [
        {
            "name": "acme",
            "display_name": "Acme Corp",
            "connections": [DEFAULT_DATABASE, "acme-okta"],
        }
    ],
}
"""A demo tenant: one organization on a database and an Okta connection, and three roles."""
