"""The admin API answers bad input with a 400 JSON error, never a 500 (issue 11, item 7)."""

import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.helpers.tenants import Tenant
from tests.web.test_admin_api import API
from tests.web.test_admin_api import assert_error
from tests.web.test_admin_api import operator_token

pytestmark = pytest.mark.anyio


@pytest.fixture
async def support(app: Starlette, acme: Tenant) -> dict[str, str]:
    return await operator_token(app.state.tenancy.database)


async def send_json(
    client: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    """Send JSON as ``json.dumps`` writes it: a lone surrogate as the escape ``\\ud800``."""
    return await client.request(
        method,
        f"{API}{path}",
        content=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    "body,message",
    [
        ({"expires_in_days": 3_000_000}, "from 1 to 3650"),
        ({"expires_in_days": 10**30}, "from 1 to 3650"),
        ({"name": "okta\ud800"}, "lone surrogate"),
        ({"name": "okta\x00"}, "NUL"),
    ],
    ids=["3e6-days", "1e30-days", "surrogate-name", "nul-name"],
)
async def test_issuing_a_token_refuses_values_no_database_holds(
    client: httpx.AsyncClient, support: dict[str, str], body: dict[str, Any], message: str
) -> None:
    response = await send_json(client, "POST", "/orgs/acme/tokens", body, support)

    assert_error(response, 400, message)
    tokens = await client.get(f"{API}/orgs/acme/tokens", headers=support)
    assert [token["name"] for token in tokens.json()["tokens"]] == ["test"]


@pytest.mark.parametrize("bad", ["\ud800", "\x00"], ids=["surrogate", "nul"])
async def test_replacing_rules_refuses_an_unstorable_string(
    client: httpx.AsyncClient, support: dict[str, str], bad: str
) -> None:
    rules = [{"id": f"admins{bad}", "when": {"default": True}, "grant": ["org_admin"]}]

    response = await send_json(client, "PUT", "/orgs/acme/rules", {"rules": rules}, support)

    assert_error(response, 400, "lone surrogate")
    assert (await client.get(f"{API}/orgs/acme/rules", headers=support)).json() == {"rules": []}


async def test_a_body_nested_too_deep_is_a_400(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    response = await client.put(
        f"{API}/orgs/acme/rules", content=b'{"rules":' + b"[" * 5000, headers=support
    )

    assert_error(response, 400, "must be a JSON object")


@pytest.mark.parametrize(
    "query,message",
    [
        ("since=99999999999999d", "further back than any date"),
        ("since=0001-01-01T00:00:00%2B01:00", "further back than any date"),
        ("after=9223372036854775808", "from 0 to 9223372036854775807"),
        ("after=-1", "from 0 to"),
        ("limit=99999999999999999999", "between 1 and"),
        ("user=ann%00", "The parameter user holds a NUL"),
    ],
)
async def test_reading_events_refuses_out_of_range_parameters(
    client: httpx.AsyncClient, support: dict[str, str], query: str, message: str
) -> None:
    response = await client.get(f"{API}/orgs/acme/events?{query}", headers=support)

    assert_error(response, 400, message)


@pytest.mark.parametrize(
    "path", ["/orgs/ac%00me", "/orgs/acme/explain?user=a%00", "/orgs/acme/tokens/tok%00"]
)
async def test_a_parameter_holding_nul_is_a_400(
    client: httpx.AsyncClient, support: dict[str, str], path: str
) -> None:
    response = await client.request(
        "DELETE" if "tokens/" in path else "GET", f"{API}{path}", headers=support
    )

    assert_error(response, 400, "holds a NUL character")
