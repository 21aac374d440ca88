"""Fuzzing the SCIM endpoints: no input gets a 500, every error is an RFC 7644 body (issue 11).

Hypothesis draws requests from the SCIM grammar (filters with every operator, value paths and
logic, PATCH operations and paths, resource bodies, search bodies, query parameters, ids in
the URL) over Unicode that includes NUL, lone surrogates and astral characters, and numbers
past 64 bits, and sends each through the ASGI application on SQLite and PostgreSQL. State
accumulates across examples (one organization per database), so later requests meet the
users and groups earlier ones created.

The suite's derandomized profile runs ``MAX_EXAMPLES`` requests per database in a few seconds;
``SCIM_HYPOTHESIS_PROFILE=long`` explores 2,000 requests per database from a random seed, or
from ``SCIM_FUZZ_SEED``; ``-s`` shows the seed, the requests and the statuses of a run.
"""

import asyncio
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import seed
from hypothesis import settings
from hypothesis import strategies as st

from scim_server.config import Settings
from scim_server.web.app import create_app
from tests.helpers.databases import create_schema
from tests.helpers.tenants import Tenant
from tests.helpers.tenants import add_tenant

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
MAX_EXAMPLES = 150
LONG = os.environ.get("SCIM_HYPOTHESIS_PROFILE") == "long"
SEED = int(os.environ.get("SCIM_FUZZ_SEED") or random.randrange(2**32)) if LONG else None
"""The seed of a long run; the suite's run is derandomized (seeded by the test itself)."""

# -- the alphabet: anything, and what broke us before ---------------------------------------

TRICKY = ["\x00", "\ud800", "\udfff", "\U0001f600", "\n", '"', "\\", "ß", "İ", "\u0301", "%"]
characters = st.one_of(st.characters(), st.sampled_from(TRICKY))
texts = st.text(characters, max_size=20)
HUGE = [2**31, 2**63 - 1, 2**63, 2**63 + 1, 2**64, 10**30, -(2**63) - 1]
integers = st.one_of(st.integers(), st.sampled_from(HUGE), st.integers(-(2**70), 2**70))
numbers = st.one_of(integers, st.floats(allow_nan=False, allow_infinity=False))

ATTRIBUTES = [
    "userName", "displayName", "externalId", "id", "active", "title", "nickName", "locale",
    "name", "name.givenName", "name.familyName", "emails", "emails.value", "emails.type",
    "emails.primary", "phoneNumbers", "roles", "roles.value", "members", "members.value",
    "groups", "meta.created", "meta.lastModified", "meta.resourceType", "password",
    f"{ENTERPRISE}:manager", f"{ENTERPRISE}:department", f"{USER}:userName", "UserName",
]  # fmt: skip
attribute_names = st.one_of(st.sampled_from(ATTRIBUTES), texts)
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Eq"]


def literal(value: Any) -> str:
    """Return a filter literal: JSON, so that NUL and surrogates travel as escapes."""
    return json.dumps(value)


comparison_values = st.one_of(
    texts.map(literal),
    integers.map(str),
    st.sampled_from(["true", "false", "null", "True", "2011-05-13T04:42:34Z", "1e999"]),
)
comparisons = st.one_of(
    st.builds(lambda a, o, v: f"{a} {o} {v}", attribute_names, st.sampled_from(OPERATORS), comparison_values),
    attribute_names.map(lambda a: f"{a} pr"),
)  # fmt: skip


def combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        st.builds(lambda a, b: f"({a}) or {b}", inner, inner),
        inner.map(lambda a: f"not ({a})"),
        st.builds(lambda a, f: f"{a}[{f}]", st.sampled_from(["emails", "members", "roles"]), inner),
    )


filters = st.one_of(st.recursive(comparisons, combine, max_leaves=5), texts)
paths = st.one_of(
    attribute_names,
    st.builds(
        lambda a, f, s: f"{a}[{f}]{s}",
        st.sampled_from(["emails", "members", "roles", "phoneNumbers"]),
        comparisons,
        st.sampled_from(["", ".value", ".type", ".display", ".primary"]),
    ),
)

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, texts),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(attribute_names, inner, max_size=3)
    ),
    max_leaves=8,
)
emails = st.lists(
    st.fixed_dictionaries(
        {"value": st.one_of(st.emails(), texts)},
        optional={"type": st.sampled_from(["work", "home", "other"]), "primary": json_values},
    ),
    max_size=2,
)
user_bodies = st.fixed_dictionaries(
    {
        "schemas": st.sampled_from([[USER], [USER], [USER, ENTERPRISE], [], ["urn:x"]]),
        "userName": st.one_of(st.emails(), texts),
    },
    optional={
        "externalId": st.one_of(texts, json_values),
        "displayName": st.one_of(texts, json_values),
        "active": st.one_of(st.booleans(), json_values),
        "emails": st.one_of(emails, json_values),
        "name": st.one_of(st.fixed_dictionaries({}, optional={"givenName": texts}), json_values),
        ENTERPRISE: st.fixed_dictionaries({}, optional={"department": texts}),
        "password": texts,
    },
)
odd_user_bodies = st.builds(
    lambda body, extra: {**extra, **body},
    user_bodies,
    st.dictionaries(attribute_names, json_values, min_size=1, max_size=2),
)
group_bodies = st.fixed_dictionaries(
    {"schemas": st.just([GROUP])},
    optional={
        "displayName": json_values,
        "externalId": json_values,
        "members": st.lists(st.fixed_dictionaries({"value": texts}), max_size=2),
    },
)
operations = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "replace", "remove", "Add", "Replace", "Remove", "frob"])},
    optional={"path": paths, "value": json_values},
)
patch_bodies = st.fixed_dictionaries(
    {"schemas": st.just([PATCH_OP]), "Operations": st.lists(operations, max_size=3)}
)
search_bodies = st.fixed_dictionaries(
    {"schemas": st.just([SEARCH])},
    optional={
        "filter": filters,
        "startIndex": integers,
        "count": integers,
        "sortBy": paths,
        "sortOrder": st.sampled_from(["ascending", "descending", "sideways"]),
        "attributes": st.lists(paths, max_size=2),
        "excludedAttributes": st.lists(paths, max_size=2),
    },
)
QUERY_NAMES = ["filter", "startIndex", "count", "sortBy", "sortOrder", "attributes", "excludedAttributes"]  # fmt: skip
queries = st.dictionaries(
    st.sampled_from(QUERY_NAMES),
    st.one_of(filters, integers.map(str), paths, texts),
    max_size=3,
)
raw_bodies = st.one_of(
    st.binary(max_size=40),
    st.integers(1, 3000).map(lambda depth: b"[" * depth),
    st.integers(1, 3000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
)


@dataclass(frozen=True)
class Call:
    """One request: method, path below the organization's base URL, query, body."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


def encoded(value: Any) -> bytes:
    """Encode JSON as a client would: surrogates and NUL as escapes."""
    return json.dumps(value).encode()


def url_part(text: str) -> str:
    """Percent-encode a path segment or query value, lone surrogates as their UTF-8-ish bytes."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def calls(draw: st.DrawFn, known_ids: list[str]) -> Call:
    endpoint = draw(st.sampled_from(["Users", "Groups"]))
    some_id = draw(st.one_of(st.sampled_from(known_ids), texts.filter(bool)))
    target = f"/{endpoint}/{url_part(some_id)}"
    resource = st.one_of(user_bodies, odd_user_bodies) if endpoint == "Users" else group_bodies
    choice = draw(st.integers(0, 11))
    if choice == 0:
        return Call("GET", f"/{endpoint}", draw(queries))
    if choice == 1:
        return Call("GET", target, draw(queries))
    if choice in (2, 10, 11):
        return Call("POST", f"/{endpoint}", body=encoded(draw(resource)))
    if choice == 3:
        return Call("PUT", target, body=encoded(draw(resource)))
    if choice in (4, 5):
        return Call("PATCH", target, body=encoded(draw(patch_bodies)))
    if choice == 6:
        return Call("DELETE", target)
    if choice == 7:
        where = draw(st.sampled_from([f"/{endpoint}/.search", "/.search"]))
        return Call("POST", where, body=encoded(draw(search_bodies)))
    if choice == 8:
        method = draw(st.sampled_from(["POST", "PUT", "PATCH"]))
        return Call(
            method, draw(st.sampled_from([f"/{endpoint}", target, "/Bulk"])), body=draw(raw_bodies)
        )
    path = draw(st.sampled_from(["/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/Me", "/Bulk"]))  # fmt: skip
    return Call(draw(st.sampled_from(["GET", "POST", "OPTIONS", "HEAD"])), path, draw(queries))


def assert_answered(call: Call, response: httpx.Response) -> None:
    """No 500, and every error an RFC 7644 §3.12 body in application/scim+json."""
    assert response.status_code < 500 or response.status_code == 501, (call, response.text)
    if response.status_code < 400 or call.method == "HEAD":
        return
    assert response.headers["content-type"].startswith("application/scim+json"), (call, response)
    body = response.json()
    assert body["schemas"] == [ERROR], (call, body)
    assert body["status"] == str(response.status_code), (call, body)


class Fuzzer:
    """An application, one organization of it, and the requests sent so far."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.sent = 0
        self.statuses: dict[int, int] = {}

    async def open(self) -> list[str]:
        settings = Settings(SCIM_DATABASE_URL=self.database_url, SCIM_RATE_LIMIT=0)
        self.app = create_app(settings)
        await create_schema(self.app.state.tenancy.database)
        self.tenant: Tenant = await add_tenant(self.app.state.tenancy.database, "fuzz")
        transport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        seeded = [
            await self.client.post(
                f"{self.tenant.base}/Users",
                json={"schemas": [USER], "userName": "ann", "emails": [{"value": "a@x.test"}]},
                headers=self.tenant.headers,
            ),
            await self.client.post(
                f"{self.tenant.base}/Groups",
                json={"schemas": [GROUP], "displayName": "Admins"},
                headers=self.tenant.headers,
            ),
        ]
        return [str(response.json()["id"]) for response in seeded]

    async def close(self) -> None:
        await self.client.aclose()
        await self.app.state.tenancy.close()

    async def send(self, call: Call) -> httpx.Response:
        query = "&".join(f"{url_part(k)}={url_part(v)}" for k, v in call.query.items())
        url = f"{self.tenant.base}{call.path}" + (f"?{query}" if query else "")
        self.sent += 1
        response = await self.client.request(
            call.method,
            url,
            content=call.body,
            headers={**self.tenant.headers, "Content-Type": "application/scim+json"},
        )
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        return response


@pytest.fixture
def fuzzer(database_url: str) -> Iterator[tuple[Fuzzer, asyncio.Runner, list[str]]]:
    with asyncio.Runner() as runner:
        fuzzer = Fuzzer(database_url)
        known_ids = runner.run(fuzzer.open())
        yield fuzzer, runner, known_ids
        runner.run(fuzzer.close())


def test_no_request_of_the_scim_grammar_gets_a_500(
    fuzzer: tuple[Fuzzer, asyncio.Runner, list[str]], database_url: str
) -> None:
    fuzz, runner, known_ids = fuzzer

    @seed(SEED)
    @settings(max_examples=2000 if LONG else MAX_EXAMPLES)
    @given(call=calls(known_ids))
    def answers(call: Call) -> None:
        assert_answered(call, runner.run(fuzz.send(call)))

    answers()

    statuses = sorted(fuzz.statuses.items())
    where = database_url.split(":")[0]
    report = f"fuzz {where} seed {SEED or 'derandomized'}: {fuzz.sent} requests, {statuses}"
    print(report)  # noqa: T201  (seen with -s: the numbers of a run)
    assert fuzz.sent >= MAX_EXAMPLES
