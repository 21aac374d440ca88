"""Auth0 access tokens on the admin API: RS256 only, JWKS of the tenant, issuer, audience, expiry.

The keys are made here, the JWKS is served on 127.0.0.1 by a tiny real HTTP server (the
authenticator fetches it with PyJWKClient, off the event loop), and every token is signed here.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette

from scim_server.config import Settings
from scim_server.intake.tenancy import Tenancy
from scim_server.storage.organizations import create_organization
from scim_server.web.app import create_app
from tests.helpers.databases import create_schema
from tests.helpers.tenants import Tenant
from tests.helpers.tenants import add_tenant
from tests.web.test_admin_api import API
from tests.web.test_admin_api import operator_token
from tests.web.test_admin_api import org_requests

pytestmark = pytest.mark.anyio

ISSUER = "https://tenant.example.auth0.com/"
AUDIENCE = "https://scim-server.example/admin"
ROLES_CLAIM = "https://scim-server/roles"
KID = "key-1"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


SIGNING_KEY = new_key()
OTHER_KEY = new_key()


@dataclass
class JwksServer:
    """Serves ``/.well-known/jwks.json`` with our public key and counts the fetches."""

    url: str
    fetches: list[str] = field(default_factory=list)


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(SIGNING_KEY.public_key(), as_dict=True)
    body = json.dumps({"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}).encode()
    fetches: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(self.path)
            self.send_response(200 if self.path == "/.well-known/jwks.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval only makes shutdown() return sooner at teardown.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        port = server.server_address[1]
        yield JwksServer(url=f"http://127.0.0.1:{port}/.well-known/jwks.json", fetches=fetches)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def admin_settings(database_url: str, jwks_url: str) -> Settings:
    return Settings(
        SCIM_DATABASE_URL=database_url,
        SCIM_ADMIN_AUDIENCE=AUDIENCE,
        SCIM_ADMIN_ISSUER=ISSUER,
        SCIM_ADMIN_JWKS_URL=jwks_url,
    )


@pytest.fixture
async def auth0_app(database_url: str, jwks: JwksServer) -> AsyncIterator[Starlette]:
    application = create_app(admin_settings(database_url, jwks.url))
    tenancy: Tenancy = application.state.tenancy
    await create_schema(tenancy.database)
    await add_tenant(tenancy.database, "acme")
    await add_tenant(tenancy.database, "globex")
    async with tenancy.session() as session:
        await create_organization(
            session, key="initech", auth0_org="initech-inc", connection="db", display_name="Initech"
        )
        await session.commit()
    yield application
    await tenancy.close()


@pytest.fixture
async def client(auth0_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=auth0_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": [AUDIENCE, "https://tenant.example.auth0.com/userinfo"],
        "sub": "auth0|jane",
        "iat": now,
        "exp": now + 600,
    }
    return {key: value for key, value in {**base, **overrides}.items() if value is not None}


def signed(
    payload: dict[str, Any], *, key: rsa.RSAPrivateKey = SIGNING_KEY, kid: str = KID
) -> dict[str, str]:
    token = jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})
    return bearer(token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(payload: dict[str, Any], *, alg: str) -> str:
    """A token the way an attacker writes one: ``none``, or HS256 keyed with our public key."""
    header = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": KID}).encode())
    body = b64(json.dumps(payload).encode())
    if alg == "none":
        return f"{header}.{body}."
    public_pem = SIGNING_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    mac = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(mac)}"


def support() -> dict[str, Any]:
    """Claims of support staff: the ``read:mapping_log`` permission (Auth0 RBAC)."""
    return claims(permissions=["read:mapping_log"])


def acme_admin() -> dict[str, Any]:
    """Claims of acme's admin: its org id and the org_admin role, filled by a post-login Action."""
    return claims(org_id="org_acme", **{ROLES_CLAIM: ["org_admin", "org_member"]})


async def test_read_mapping_log_reads_every_organization_and_manages_none(
    client: httpx.AsyncClient,
) -> None:
    headers = signed(support())

    me = await client.get(f"{API}/me", headers=headers)
    orgs = await client.get(f"{API}/orgs", headers=headers)

    assert me.json() == {"name": "auth0|jane", "kind": "auth0", "orgs": "*", "manage": []}
    assert [org["key"] for org in orgs.json()["orgs"]] == ["acme", "globex", "initech"]
    for key in ["acme", "globex"]:
        for path in ["", "/status", "/tokens", "/rules", "/events"]:
            answer = await client.get(f"{API}/orgs/{key}{path}", headers=headers)
            assert answer.status_code == 200, (key, path, answer.text)


async def test_read_mapping_log_in_the_scope_claim_reads_too(client: httpx.AsyncClient) -> None:
    headers = signed(claims(scope="openid read:mapping_log"))

    assert (await client.get(f"{API}/me", headers=headers)).json()["orgs"] == "*"


async def test_a_read_only_principal_gets_403_on_every_change(client: httpx.AsyncClient) -> None:
    headers = signed(support())

    for method, path, body in org_requests("acme"):
        if method == "GET":
            continue
        refused = await client.request(method, path, json=body, headers=headers)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json() == {"error": "Not allowed to manage organization acme"}
    tokens = await client.get(f"{API}/orgs/acme/tokens", headers=headers)
    assert [token["name"] for token in tokens.json()["tokens"]] == ["test"]


async def test_an_org_admin_manages_its_own_organization(client: httpx.AsyncClient) -> None:
    headers = signed(acme_admin())

    me = await client.get(f"{API}/me", headers=headers)
    issued = await client.post(f"{API}/orgs/acme/tokens", json={"name": "okta"}, headers=headers)
    rules = await client.put(f"{API}/orgs/acme/rules", json={"rules": []}, headers=headers)

    assert me.json() == {
        "name": "auth0|jane",
        "kind": "auth0",
        "orgs": ["acme"],
        "manage": ["acme"],
    }
    assert issued.status_code == 201, issued.text
    assert rules.status_code == 200, rules.text
    assert [
        org["key"] for org in (await client.get(f"{API}/orgs", headers=headers)).json()["orgs"]
    ] == ["acme"]


async def test_an_org_admin_sees_another_organization_exactly_like_a_missing_one(
    client: httpx.AsyncClient,
) -> None:
    headers = signed(acme_admin())

    for (method, path, body), (_, missing_path, _) in zip(
        org_requests("globex"), org_requests("nowhere"), strict=True
    ):
        other = await client.request(method, path, json=body, headers=headers)
        missing = await client.request(method, missing_path, json=body, headers=headers)
        assert other.status_code == missing.status_code == 404, (method, path, other.text)
        assert other.json() == missing.json() == {"error": "No such organization"}
    globex_tokens = await client.get(f"{API}/orgs/globex/tokens", headers=signed(support()))
    assert [token["name"] for token in globex_tokens.json()["tokens"]] == ["test"]


async def test_an_organization_kept_by_its_auth0_name_matches_the_org_name_claim(
    client: httpx.AsyncClient,
) -> None:
    headers = signed(
        claims(org_id="org_9ybsU1dN", org_name="initech-inc", **{ROLES_CLAIM: ["org_admin"]})
    )

    me = await client.get(f"{API}/me", headers=headers)

    assert me.json()["manage"] == ["initech"]
    assert (await client.get(f"{API}/orgs/initech/tokens", headers=headers)).status_code == 200
    assert (await client.get(f"{API}/orgs/acme", headers=headers)).status_code == 404


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"org_id": "org_acme", ROLES_CLAIM: ["org_member"]}, id="member"),
        pytest.param({ROLES_CLAIM: ["org_admin"]}, id="admin-without-org"),
        pytest.param({"org_id": "org_acme", "roles": ["org_admin"]}, id="role-in-another-claim"),
        pytest.param({"org_id": "org_acme", ROLES_CLAIM: "org_admin"}, id="roles-not-a-list"),
        pytest.param({"permissions": ["read:users"], "scope": "read:mapping_logs"}, id="other"),
    ],
)
async def test_a_valid_token_that_grants_nothing_is_a_403(
    client: httpx.AsyncClient, overrides: dict[str, Any]
) -> None:
    refused = await client.get(f"{API}/me", headers=signed(claims(**overrides)))

    assert refused.status_code == 403, refused.text
    assert "grants neither" in refused.json()["error"]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        pytest.param(lambda: signed(claims(iss="https://evil.example/")), "issuer", id="issuer"),
        pytest.param(
            lambda: signed(claims(aud="https://other.example")), "audience", id="audience"
        ),
        pytest.param(lambda: signed(claims(exp=int(time.time()) - 60)), "expired", id="expired"),
        pytest.param(lambda: signed(claims(exp=None)), "exp", id="no-exp"),
        pytest.param(lambda: signed(claims(sub=None)), "sub", id="no-sub"),
        pytest.param(lambda: signed(support(), key=OTHER_KEY), "signature", id="other-key"),
        pytest.param(lambda: signed(support(), kid="key-2"), "signing key", id="unknown-kid"),
        pytest.param(lambda: bearer(forged(support(), alg="HS256")), "only rs256", id="hs256"),
        pytest.param(lambda: bearer(forged(support(), alg="none")), "only rs256", id="none"),
        pytest.param(lambda: bearer("eyJhbGciOi.garbage.x"), "not a jwt", id="garbage"),
    ],
)
async def test_bad_access_tokens_are_refused_with_401(
    client: httpx.AsyncClient, token: Callable[[], dict[str, str]], message: str
) -> None:
    refused = await client.get(f"{API}/orgs/acme/events", headers=token())

    assert refused.status_code == 401, refused.text
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert message in refused.json()["error"].lower()


async def test_a_tampered_payload_is_refused(client: httpx.AsyncClient) -> None:
    header, _, signature = jwt.encode(
        acme_admin(), SIGNING_KEY, algorithm="RS256", headers={"kid": KID}
    ).split(".")
    payload = b64(json.dumps({**acme_admin(), "permissions": ["read:mapping_log"]}).encode())

    refused = await client.get(
        f"{API}/orgs/globex", headers=bearer(f"{header}.{payload}.{signature}")
    )

    assert refused.status_code == 401


async def test_the_jwks_is_fetched_once_and_cached(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    for _ in range(3):
        assert (await client.get(f"{API}/me", headers=signed(support()))).status_code == 200
        assert (await client.get(f"{API}/me", headers=signed(acme_admin()))).status_code == 200

    assert jwks.fetches == ["/.well-known/jwks.json"]


async def test_access_tokens_are_refused_when_no_audience_is_configured(
    app: Starlette, client_without_audience: httpx.AsyncClient, jwks: JwksServer
) -> None:
    refused = await client_without_audience.get(f"{API}/me", headers=signed(support()))

    assert refused.status_code == 401
    assert jwks.fetches == []


@pytest.fixture
async def client_without_audience(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The ``app`` of tests/web/conftest.py: no SCIM_ADMIN_AUDIENCE, only operator tokens."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_an_unreachable_jwks_is_a_503_not_a_401(database_url: str) -> None:
    application = create_app(admin_settings(database_url, "http://127.0.0.1:9/jwks.json"))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.get(f"{API}/me", headers=signed(support()))
    await application.state.tenancy.close()

    assert answer.status_code == 503
    assert answer.json() == {"error": "The signing keys of the Auth0 tenant cannot be fetched"}


async def test_operator_tokens_still_work_beside_access_tokens(
    auth0_app: Starlette, client: httpx.AsyncClient
) -> None:
    tenant: Tenant = await add_tenant(auth0_app.state.tenancy.database, "umbrella")
    headers = await operator_token(auth0_app.state.tenancy.database, org=tenant.key)

    assert (await client.get(f"{API}/me", headers=headers)).json()["orgs"] == ["umbrella"]
