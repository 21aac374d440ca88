"""An in-process Auth0: the emulator seeded with the demo tenant, and a gateway on it over ASGI."""

from collections.abc import Callable
from typing import Any

import httpx

from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.sandbox import DEMO
from scim_server.sandbox import Emulator
from scim_server.sandbox import seed_tenant

CLIENT_ID = "provisioning-tests"
CLIENT_SECRET = "provisioning-secret"
DATABASE = "Username-Password-Authentication"


def demo_emulator(**options: Any) -> Emulator:
    """Return an emulator holding the demo tenant (organization ``acme``, roles admin/member/viewer)."""
    emulator = Emulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **options)
    seed_tenant(emulator.tenant, DEMO)
    seed_tenant(
        emulator.tenant,
        {
            "roles": [{"name": "org_member"}, {"name": "org_admin"}, {"name": "org_billing"}],
            "organizations": [{"name": "globex", "connections": [DATABASE]}],
        },
    )
    return emulator


def gateway_on(emulator: Emulator, **options: Any) -> ManagementApiGateway:
    """Return a gateway that reaches the emulator in-process, with no rate limit of its own."""
    return ManagementApiGateway(
        management_url="http://tenant.test",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        max_rps=options.pop("max_rps", 10_000),
        transport=httpx.ASGITransport(app=emulator),
        **options,
    )


def org_id(emulator: Emulator, name: str = "acme") -> str:
    organization = emulator.tenant.organization_named(name)
    assert organization is not None
    return str(organization["id"])


def members(emulator: Emulator, name: str = "acme") -> set[str]:
    return set(emulator.tenant.members.get(org_id(emulator, name), {}))


def member_roles(emulator: Emulator, user_id: str, name: str = "acme") -> set[str]:
    ids = emulator.tenant.member_roles.get((org_id(emulator, name), user_id), [])
    return {emulator.tenant.roles[i]["name"] for i in ids}


def users_with_email(emulator: Emulator, email: str) -> list[dict[str, Any]]:
    return [u for u in emulator.tenant.users.values() if u.get("email") == email]


def api_calls(emulator: Emulator, predicate: Callable[[str], bool] = lambda _: True) -> list[str]:
    """Return the Management API endpoints called so far (the token endpoint excluded)."""
    return [
        r.endpoint
        for r in emulator.calls.records
        if r.endpoint != "oauth.token" and predicate(r.endpoint)
    ]


def enable_inbound_scim(
    emulator: Emulator, name: str, strategy: str = "samlp", *, scopes: list[str] | None = None
) -> tuple[str, str]:
    """Give a connection (created if new) Auth0's default SCIM configuration and a SCIM token.

    :return: The connection id and the token, as ``org add --mode relay`` would leave them.
    """
    connection = emulator.tenant.connection_named(name) or emulator.tenant.add_connection(
        name, strategy
    )
    state = emulator.tenant.inbound_scim
    state.configure(connection, now=emulator.tenant.now())
    token = state.issue_token(
        connection["id"],
        scopes=scopes or ["get:users", "post:users", "patch:users", "delete:users"],
        lifetime=None,
        now=emulator.clock(),
    )
    return str(connection["id"]), token.token
