"""The admin JSON API with operator tokens: every endpoint, its errors, and tenancy."""

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from scim_server.storage.database import Database
from scim_server.storage.operator_tokens import issue_operator_token
from scim_server.storage.operator_tokens import revoke_operator_token
from scim_server.storage.organizations import get_organization
from scim_server.web import admin_api
from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio

API = "/admin/api"
EMAIL = "jdoe@acme.example"
USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": EMAIL,
    "externalId": "00u-jdoe",
    "emails": [{"value": EMAIL, "primary": True}],
    "active": True,
}
RULES = [
    {"id": "everyone", "when": {"default": True}, "grant": ["org_billing"]},
    {"id": "admins", "when": {"group": {"display_name": "Admins"}}, "grant": ["org_admin"]},
]


async def operator_token(
    database: Database, *, org: str | None = None, name: str = "support", revoked: bool = False
) -> dict[str, str]:
    """Issue an operator token (for every org, or bound to ``org``) and return its headers."""
    async with database.session() as session:
        bound = None if org is None else await get_organization(session, org)
        issued, secret = await issue_operator_token(
            session, org=bound, name=name, expires_in=timedelta(days=1)
        )
        if revoked:
            await revoke_operator_token(session, issued.token.id)
        await session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def support(app: Starlette, acme: Tenant, globex: Tenant) -> dict[str, str]:
    return await operator_token(app.state.tenancy.database)


@pytest.fixture
async def acme_admin(app: Starlette, acme: Tenant, globex: Tenant) -> dict[str, str]:
    return await operator_token(app.state.tenancy.database, org="acme", name="acme admin")


async def provision(client: httpx.AsyncClient, tenant: Tenant) -> str:
    created = await client.post(f"{tenant.base}/Users", json=USER, headers=tenant.headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def assert_error(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["error"]
    assert "Traceback" not in response.text


async def test_me_tells_an_operator_token_for_every_organization(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    me = await client.get(f"{API}/me", headers=support)

    assert me.status_code == 200
    assert me.json() == {"name": "support", "kind": "operator", "orgs": "*", "manage": "*"}


async def test_me_tells_a_token_bound_to_one_organization(
    client: httpx.AsyncClient, acme_admin: dict[str, str]
) -> None:
    me = await client.get(f"{API}/me", headers=acme_admin)

    assert me.json() == {
        "name": "acme admin",
        "kind": "operator",
        "orgs": ["acme"],
        "manage": ["acme"],
    }


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ", "Basic c3VwcG9ydDpzZWNyZXQ=", "Bearer scimop_forged", "Bearer not.a.jwt"],
)
async def test_requests_without_a_valid_token_are_refused_with_401(
    client: httpx.AsyncClient, acme: Tenant, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    for path in ["/me", "/orgs", "/orgs/acme/events"]:
        refused = await client.get(f"{API}{path}", headers=headers)
        assert_error(refused, 401, "token")
        assert refused.headers["www-authenticate"].startswith("Bearer")


async def test_a_scim_token_and_a_revoked_operator_token_are_refused(
    app: Starlette, client: httpx.AsyncClient, acme: Tenant
) -> None:
    revoked = await operator_token(app.state.tenancy.database, revoked=True)

    assert_error(await client.get(f"{API}/me", headers=acme.headers), 401, "Invalid")
    assert_error(await client.get(f"{API}/me", headers=revoked), 401, "Invalid")


async def test_orgs_lists_only_the_organizations_the_caller_may_read(
    client: httpx.AsyncClient, support: dict[str, str], acme_admin: dict[str, str]
) -> None:
    every = await client.get(f"{API}/orgs", headers=support)
    own = await client.get(f"{API}/orgs", headers=acme_admin)

    assert [org["key"] for org in every.json()["orgs"]] == ["acme", "globex"]
    assert own.json() == {
        "orgs": [
            {
                "key": "acme",
                "display_name": None,
                "auth0_org": "org_acme",
                "connection": "Username-Password-Authentication",
                "identity_mode": "create",
                "profile": "generic",
                "scim_url": "http://testserver/scim/v2/acme",
            }
        ]
    }


async def test_an_organization_shows_its_queue_status(
    client: httpx.AsyncClient, acme: Tenant, support: dict[str, str]
) -> None:
    await provision(client, acme)

    org = await client.get(f"{API}/orgs/acme", headers=support)
    status = await client.get(f"{API}/orgs/acme/status", headers=support)

    assert org.status_code == 200
    assert org.json()["key"] == "acme"
    assert org.json()["status"]["depth"] == 1
    assert status.json()["depth"] == 1
    assert status.json()["links_by_state"] == {"pending": 1}


async def test_scim_tokens_are_issued_listed_and_revoked(
    client: httpx.AsyncClient, acme: Tenant, acme_admin: dict[str, str]
) -> None:
    issued = await client.post(
        f"{API}/orgs/acme/tokens",
        json={"name": "okta rotation", "expires_in_days": 30},
        headers=acme_admin,
    )
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    assert token.startswith("scim_")
    assert issued.json()["name"] == "okta rotation"
    assert issued.json()["active"] is True
    assert issued.json()["expires_at"].endswith("Z")
    scim = {"Authorization": f"Bearer {token}"}
    assert (await client.get(f"{acme.base}/Users", headers=scim)).status_code == 200

    listed = await client.get(f"{API}/orgs/acme/tokens", headers=acme_admin)
    assert [t["name"] for t in listed.json()["tokens"]] == ["test", "okta rotation"]
    assert token not in listed.text
    assert "sha256" not in listed.text

    revoked = await client.delete(
        f"{API}/orgs/acme/tokens/{issued.json()['id']}", headers=acme_admin
    )
    assert revoked.status_code == 204
    assert (await client.get(f"{acme.base}/Users", headers=scim)).status_code == 401
    listed = await client.get(f"{API}/orgs/acme/tokens", headers=acme_admin)
    assert [t["active"] for t in listed.json()["tokens"]] == [True, False]


async def test_changes_are_logged_with_who_made_them_and_never_a_secret(
    client: httpx.AsyncClient, acme_admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="scim_server")

    issued = await client.post(f"{API}/orgs/acme/tokens", json={"name": "x"}, headers=acme_admin)
    await client.delete(f"{API}/orgs/acme/tokens/{issued.json()['id']}", headers=acme_admin)
    await client.put(f"{API}/orgs/acme/rules", json={"rules": RULES}, headers=acme_admin)

    assert f"acme admin issued SCIM token {issued.json()['id']} of acme" in caplog.text
    assert f"acme admin revoked SCIM token {issued.json()['id']} of acme" in caplog.text
    assert "acme admin replaced the 2 role rules of acme" in caplog.text
    assert issued.json()["token"] not in caplog.text
    assert acme_admin["Authorization"].split()[1] not in caplog.text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[]", "must be a JSON object"),
        ("{", "must be a JSON object"),
        ('{"name": ""}', "name must be a non-empty string"),
        ('{"name": 3}', "name must be a non-empty string"),
        (
            '{"name": "x", "expires_in_days": 0}',
            "expires_in_days must be a whole number of days from 1",
        ),
        (
            '{"name": "x", "expires_in_days": true}',
            "expires_in_days must be a whole number of days from 1",
        ),
        (
            '{"name": "x", "expires_in_days": "7"}',
            "expires_in_days must be a whole number of days from 1",
        ),
    ],
)
async def test_issuing_a_token_with_a_bad_body_is_a_400(
    client: httpx.AsyncClient, support: dict[str, str], body: str, message: str
) -> None:
    refused = await client.post(f"{API}/orgs/acme/tokens", content=body, headers=support)

    assert_error(refused, 400, message)


async def test_revoking_an_unknown_token_is_a_404(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    refused = await client.delete(f"{API}/orgs/acme/tokens/tok_nope", headers=support)

    assert_error(refused, 404, "No such token")


async def test_replacing_the_rules_recomputes_desired_roles_and_is_logged(
    client: httpx.AsyncClient, acme: Tenant, acme_admin: dict[str, str]
) -> None:
    await provision(client, acme)

    replaced = await client.put(f"{API}/orgs/acme/rules", json={"rules": RULES}, headers=acme_admin)

    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {"rules": RULES, "changed_users": 1}
    assert (await client.get(f"{API}/orgs/acme/rules", headers=acme_admin)).json() == {
        "rules": RULES
    }
    explained = await client.get(f"{API}/orgs/acme/explain?user={EMAIL}", headers=acme_admin)
    roles = {role["role"]: role for role in explained.json()["matches"][0]["desired"]["roles"]}
    assert [reason["citation"] for reason in roles["org_billing"]["because"]] == ["org:everyone"]
    assert "admins" not in explained.text
    events = await client.get(f"{API}/orgs/acme/events?user={EMAIL}", headers=acme_admin)
    assert any(
        event["source"] == "admin" and event["actor"] == "acme admin"
        for event in events.json()["events"]
    )


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (None, "Invalid role rules: rules"),
        ([{"id": "x", "when": {"default": True}}], "rule 'x'"),
        ([{"id": "Bad Id", "when": {"default": True}, "grant": ["a"]}], "rule 'Bad Id'"),
        (
            [
                {"id": "dup", "when": {"default": True}, "grant": ["a"]},
                {"id": "dup", "when": {"default": True}, "grant": ["b"]},
            ],
            "dup",
        ),
    ],
)
async def test_invalid_rules_are_a_400_and_change_nothing(
    client: httpx.AsyncClient, support: dict[str, str], rules: Any, message: str
) -> None:
    await client.put(f"{API}/orgs/acme/rules", json={"rules": RULES}, headers=support)

    refused = await client.put(f"{API}/orgs/acme/rules", json={"rules": rules}, headers=support)

    assert_error(refused, 400, message)
    kept = await client.get(f"{API}/orgs/acme/rules", headers=support)
    assert kept.json() == {"rules": RULES}


async def test_events_search_the_log_by_identity_key_and_follow_after_an_id(
    client: httpx.AsyncClient, acme: Tenant, support: dict[str, str]
) -> None:
    scim_id = await provision(client, acme)

    by_email = await client.get(f"{API}/orgs/acme/events?user={EMAIL}", headers=support)
    by_id = await client.get(f"{API}/orgs/acme/events?user={scim_id}&since=1h", headers=support)

    events = by_email.json()["events"]
    assert events
    assert all(event["scim_id"] == scim_id for event in events)
    assert by_id.json() == by_email.json()
    after = await client.get(
        f"{API}/orgs/acme/events?after={events[-1]['id']}&limit=10", headers=support
    )
    assert after.json() == {"events": []}
    assert (await client.get(f"{API}/orgs/globex/events", headers=support)).json() == {"events": []}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=yesterday", "since"),
        ("outcome=maybe", "outcome"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("after=x", "after"),
    ],
)
async def test_bad_event_queries_are_a_400(
    client: httpx.AsyncClient, support: dict[str, str], query: str, message: str
) -> None:
    refused = await client.get(f"{API}/orgs/acme/events?{query}", headers=support)

    assert_error(refused, 400, message)


async def test_explain_names_the_user_or_answers_404(
    client: httpx.AsyncClient, acme: Tenant, support: dict[str, str]
) -> None:
    scim_id = await provision(client, acme)

    found = await client.get(f"{API}/orgs/acme/explain?user=00u-jdoe", headers=support)
    missing = await client.get(f"{API}/orgs/acme/explain?user=nobody@x", headers=support)
    unasked = await client.get(f"{API}/orgs/acme/explain", headers=support)

    assert found.status_code == 200
    assert [match["identity"]["scim_id"] for match in found.json()["matches"]] == [scim_id]
    assert_error(missing, 404, "No user of organization acme matches 'nobody@x'")
    assert_error(unasked, 400, "user")


async def test_an_unknown_endpoint_answers_json(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    assert_error(await client.get(f"{API}/nowhere", headers=support), 404, "No such endpoint")


async def test_a_bug_is_a_json_500_with_the_request_id_and_no_detail(
    client: httpx.AsyncClient, support: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("internal detail")

    monkeypatch.setattr(admin_api, "queue_status", broken)
    headers = {**support, "X-Request-Id": "req-42"}

    failed = await client.get(f"{API}/orgs/acme/status", headers=headers)

    assert_error(failed, 500, "Internal server error (request id req-42)")
    assert "internal detail" not in failed.text
    assert failed.headers["x-request-id"] == "req-42"


def org_requests(key: str) -> list[tuple[str, str, Any]]:
    """Every endpoint of one organization, with a valid body where one is needed."""
    base = f"{API}/orgs/{key}"
    return [
        ("GET", base, None),
        ("GET", f"{base}/status", None),
        ("GET", f"{base}/tokens", None),
        ("POST", f"{base}/tokens", {"name": "stolen"}),
        ("DELETE", f"{base}/tokens/tok_x", None),
        ("GET", f"{base}/rules", None),
        ("PUT", f"{base}/rules", {"rules": []}),
        ("GET", f"{base}/events?user={EMAIL}", None),
        ("GET", f"{base}/explain?user={EMAIL}", None),
    ]


async def globex_state(client: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    paths = ["tokens", "rules", f"events?user={EMAIL}"]
    state = [
        (await client.get(f"{API}/orgs/globex/{path}", headers=headers)).json() for path in paths
    ]
    for token in state[0]["tokens"]:
        token.pop("last_used_at")
    return state


async def test_a_token_of_one_organization_sees_another_exactly_like_a_missing_one(
    client: httpx.AsyncClient,
    acme: Tenant,
    globex: Tenant,
    support: dict[str, str],
    acme_admin: dict[str, str],
) -> None:
    """The tenancy matrix: every endpoint of globex, and of a missing org, with acme's token."""
    await provision(client, globex)
    await client.put(f"{API}/orgs/globex/rules", json={"rules": RULES}, headers=support)
    before = await globex_state(client, support)

    for (method, path, body), (_, missing_path, _) in zip(
        org_requests("globex"), org_requests("nowhere"), strict=True
    ):
        other = await client.request(method, path, json=body, headers=acme_admin)
        missing = await client.request(method, missing_path, json=body, headers=acme_admin)
        assert other.status_code == 404, (method, path, other.text)
        assert other.json() == missing.json() == {"error": "No such organization"}

    assert await globex_state(client, support) == before
    assert "globex" not in (await client.get(f"{API}/orgs", headers=acme_admin)).text


async def test_a_token_bound_to_an_organization_manages_it(
    client: httpx.AsyncClient, acme: Tenant, acme_admin: dict[str, str]
) -> None:
    await provision(client, acme)

    for method, path, body in org_requests("acme"):
        answer = await client.request(method, path, json=body, headers=acme_admin)
        assert answer.status_code in {200, 201, 204, 404}, (method, path, answer.text)
        if answer.status_code == 404:
            assert answer.json() == {"error": "No such token"}
