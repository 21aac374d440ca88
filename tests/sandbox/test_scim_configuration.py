"""The Management API's SCIM configuration and SCIM token endpoints of the emulator (auth0.md §13)."""

from typing import Any

import httpx
import pytest

from scim_server.sandbox import Emulator
from scim_server.sandbox import seed_tenant
from scim_server.sandbox.tokens import SCOPES
from scim_server.sandbox.tokens import TokenIssuer
from tests.sandbox.conftest import CLIENT_ID
from tests.sandbox.conftest import CLIENT_SECRET
from tests.sandbox.conftest import FakeClock

pytestmark = pytest.mark.anyio

USER_SCOPES = ["get:users", "post:users", "patch:users", "delete:users"]


def connection_id(emulator: Emulator, name: str) -> str:
    connection = emulator.tenant.connection_named(name)
    assert connection is not None
    return str(connection["id"])


@pytest.fixture
def saml(emulator: Emulator) -> str:
    seed_tenant(emulator.tenant, {"connections": [{"name": "acme-saml", "strategy": "samlp"}]})
    return connection_id(emulator, "acme-saml")


def config_url(connection: str, rest: str = "") -> str:
    return f"connections/{connection}/scim-configuration{rest}"


async def configure(api: httpx.AsyncClient, connection: str, **body: Any) -> dict[str, Any]:
    response = await api.post(config_url(connection), json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_an_empty_body_takes_the_defaults_of_the_strategy(
    api: httpx.AsyncClient, emulator: Emulator, saml: str
) -> None:
    created = await configure(api, saml)
    okta = await configure(api, connection_id(emulator, "acme-okta"))

    assert (created["user_id_attribute"], okta["user_id_attribute"]) == ("userName", "externalId")
    assert created["connection_name"] == "acme-saml" and created["strategy"] == "samlp"
    assert {"auth0": "blocked", "scim": "active"} in created["mapping"]
    default = await api.get(config_url(saml, "/default-mapping"))
    assert default.json() == {"mapping": created["mapping"]}
    assert (await api.get(config_url(saml))).json() == created


async def test_the_default_mapping_of_entra_reads_the_work_email(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    seed_tenant(emulator.tenant, {"connections": [{"name": "acme-entra", "strategy": "waad"}]})
    response = await api.get(config_url(connection_id(emulator, "acme-entra"), "/default-mapping"))

    assert response.status_code == 200
    assert {"auth0": "email", "scim": 'emails[type eq "work"].value'} in response.json()["mapping"]
    assert {"auth0": "upn", "scim": "userName"} in response.json()["mapping"]


async def test_a_chosen_attribute_and_mapping_are_kept(api: httpx.AsyncClient, saml: str) -> None:
    mapping = [
        {"auth0": "email", "scim": "userName"},
        {"auth0": "blocked", "scim": "active"},
    ]
    created = await configure(api, saml, user_id_attribute="externalId", mapping=mapping)

    assert (created["user_id_attribute"], created["mapping"]) == ("externalId", mapping)


@pytest.mark.parametrize(
    "path",
    [
        "connections/{database}/scim-configuration",
        "connections/{database}/scim-configuration/default-mapping",
        "connections/{database}/scim-configuration/tokens",
    ],
)
async def test_a_database_connection_does_not_support_scim(
    api: httpx.AsyncClient, emulator: Emulator, path: str
) -> None:
    database = connection_id(emulator, "Username-Password-Authentication")
    response = await api.get(path.format(database=database))

    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "This connection type does not support SCIM",
    }


async def test_an_unknown_connection_is_404(api: httpx.AsyncClient) -> None:
    response = await api.post(config_url("con_nope"), json={})
    assert (response.status_code, response.json()["errorCode"]) == (404, "inexistent_connection")


async def test_a_second_configuration_is_a_conflict(api: httpx.AsyncClient, saml: str) -> None:
    await configure(api, saml)
    assert (await api.post(config_url(saml), json={})).status_code == 409


async def test_a_connection_without_configuration_answers_404(
    api: httpx.AsyncClient, saml: str
) -> None:
    for response in (
        await api.get(config_url(saml)),
        await api.get(config_url(saml, "/tokens")),
        await api.post(config_url(saml, "/tokens"), json={"scopes": ["get:users"]}),
        await api.delete(config_url(saml)),
    ):
        assert response.status_code == 404, response.request.url


@pytest.mark.parametrize(
    "body",
    [
        {"user_id_attribute": "shoeSize"},
        {"user_id_attribute": ""},
        {"mapping": []},
        {"mapping": [{"auth0": "x", "scim": "id"}]},
        {"mapping": [{"auth0": "x", "scim": "meta.created"}]},
        {"mapping": [{"auth0": "x", "scim": "password"}]},
        {"mapping": [{"auth0": "a", "scim": "userName"}, {"auth0": "b", "scim": "userName"}]},
        {"mapping": [{"auth0": "a", "scim": "userName"}, {"auth0": "a", "scim": "title"}]},
        {"mapping": [{"auth0": "a"}]},
        {"color": "blue"},
    ],
)
async def test_an_invalid_configuration_is_a_400(
    api: httpx.AsyncClient, saml: str, body: dict[str, Any]
) -> None:
    response = await api.post(config_url(saml), json=body)

    assert (response.status_code, response.json()["errorCode"]) == (400, "invalid_body")


async def test_an_update_replaces_both_fields_and_needs_them(
    api: httpx.AsyncClient, saml: str, clock: FakeClock
) -> None:
    created = await configure(api, saml)
    clock.advance(60)
    mapping = [{"auth0": "preferred_username", "scim": "userName"}]

    partial = await api.patch(config_url(saml), json={"user_id_attribute": "externalId"})
    updated = await api.patch(
        config_url(saml), json={"user_id_attribute": "externalId", "mapping": mapping}
    )

    assert partial.status_code == 400
    assert updated.status_code == 200
    assert (updated.json()["user_id_attribute"], updated.json()["mapping"]) == (
        "externalId",
        mapping,
    )
    assert updated.json()["updated_on"] > created["updated_on"]


async def test_deleting_the_configuration_deletes_its_tokens(
    api: httpx.AsyncClient, emulator: Emulator, saml: str
) -> None:
    await configure(api, saml)
    await api.post(config_url(saml, "/tokens"), json={"scopes": ["get:users"]})

    assert (await api.delete(config_url(saml))).status_code == 204
    assert (await api.get(config_url(saml))).status_code == 404
    assert saml not in emulator.tenant.inbound_scim.tokens


async def test_a_token_is_shown_once_and_listed_without_its_value(
    api: httpx.AsyncClient, saml: str
) -> None:
    await configure(api, saml)
    created = await api.post(
        config_url(saml, "/tokens"), json={"scopes": USER_SCOPES, "token_lifetime": 3600}
    )
    listed = await api.get(config_url(saml, "/tokens"))

    assert created.status_code == 201
    token = created.json()
    assert token["token"].startswith("tok_") and token["scopes"] == USER_SCOPES
    assert token["valid_until"] > token["created_at"]
    assert listed.json() == [{k: v for k, v in token.items() if k != "token"}]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"scopes": []},
        {"scopes": ["read:users"]},
        {"scopes": ["get:users"], "token_lifetime": 900},
        {"scopes": ["get:users"], "token_lifetime": "3600"},
        {"scopes": ["get:users"], "token_lifetime": True},
        {"scopes": ["get:users"], "name": "okta"},
    ],
)
async def test_an_invalid_token_request_is_a_400(
    api: httpx.AsyncClient, saml: str, body: dict[str, Any]
) -> None:
    await configure(api, saml)
    response = await api.post(config_url(saml, "/tokens"), json=body)

    assert (response.status_code, response.json()["errorCode"]) == (400, "invalid_body")


async def test_a_connection_holds_at_most_two_active_tokens(
    api: httpx.AsyncClient, saml: str, clock: FakeClock
) -> None:
    await configure(api, saml)
    short = {"scopes": ["get:users"], "token_lifetime": 901}
    statuses = [
        (await api.post(config_url(saml, "/tokens"), json=body)).status_code
        for body in (short, {"scopes": ["get:users"]}, {"scopes": ["get:users"]})
    ]
    clock.advance(902)
    after_expiry = await api.post(config_url(saml, "/tokens"), json={"scopes": ["get:users"]})

    assert statuses == [201, 201, 409]
    assert after_expiry.status_code == 201


async def test_deleting_a_token_frees_its_place(api: httpx.AsyncClient, saml: str) -> None:
    await configure(api, saml)
    first = (await api.post(config_url(saml, "/tokens"), json={"scopes": ["get:users"]})).json()
    await api.post(config_url(saml, "/tokens"), json={"scopes": ["get:users"]})

    deleted = await api.delete(config_url(saml, f"/tokens/{first['token_id']}"))
    again = await api.delete(config_url(saml, f"/tokens/{first['token_id']}"))
    third = await api.post(config_url(saml, "/tokens"), json={"scopes": ["get:users"]})

    assert (deleted.status_code, again.status_code, third.status_code) == (204, 404, 201)


@pytest.mark.parametrize(
    ("method", "rest", "scope"),
    [
        ("GET", "", "read:scim_config"),
        ("POST", "", "create:scim_config"),
        ("PATCH", "", "update:scim_config"),
        ("DELETE", "", "delete:scim_config"),
        ("GET", "/default-mapping", "read:scim_config"),
        ("GET", "/tokens", "read:scim_token"),
        ("POST", "/tokens", "create:scim_token"),
        ("DELETE", "/tokens/tkn_1", "delete:scim_token"),
    ],
)
async def test_each_endpoint_needs_its_scope(
    api: httpx.AsyncClient, emulator: Emulator, saml: str, method: str, rest: str, scope: str
) -> None:
    fewer = " ".join(s for s in SCOPES.split() if s != scope)
    emulator.tokens = TokenIssuer(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, clock=emulator.clock, scopes=fewer
    )
    token = emulator.tokens.grant(
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"

    response = await api.request(method, config_url(saml, rest), json={})

    assert response.status_code == 403
    assert response.json() == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": f"Insufficient scope; expected any of: {scope}.",
        "errorCode": "insufficient_scope",
    }


async def test_a_plan_without_scim_refuses_a_configuration(
    api: httpx.AsyncClient, emulator: Emulator, saml: str
) -> None:
    emulator.tenant.inbound_scim.available = False
    response = await api.post(config_url(saml), json={})

    assert response.status_code == 403
    assert response.json()["errorCode"] != "insufficient_scope"


async def test_the_tenant_lists_its_configurations(
    api: httpx.AsyncClient, emulator: Emulator, saml: str
) -> None:
    await configure(api, saml)
    await configure(api, connection_id(emulator, "acme-okta"))
    first = await api.get("connections-scim-configurations", params={"take": 1})
    second = await api.get(
        "connections-scim-configurations", params={"take": 1, "from": first.json()["next"]}
    )

    names = [c["connection_name"] for c in first.json()["scim_configurations"]]
    names += [c["connection_name"] for c in second.json()["scim_configurations"]]
    assert names == ["acme-saml", "acme-okta"]
