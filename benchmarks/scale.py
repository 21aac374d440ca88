"""Scale benchmark of issue 2: member PATCHes on a 100,000-member group, pages of 100,000 users.

Run from the repository root:

    .venv/bin/python benchmarks/scale.py                      # a temporary SQLite file
    .venv/bin/python benchmarks/scale.py --postgresql         # a throwaway local PostgreSQL cluster
    .venv/bin/python benchmarks/scale.py --database-url postgresql+asyncpg://user@host/empty_db

It prepares a database (migrated with the shipped Alembic revisions), seeds one organization
with ``--users`` users and one group holding all of them, starts the real server
(``python -m scim_server serve``) on 127.0.0.1 and times sequential HTTP requests against it.
Every loop is bounded; the server (and the PostgreSQL cluster it started) stop at the end.

Seeding goes around the HTTP API for speed, but not around the storage's rules: a template user
is written by the server's own storage (``Tenancy.storage``, through its SCIM service), every
row it wrote for that user (its resource, and its rows keyed by ``scim_id``) is copied for each
user with the number and id replaced, and a second user written by the storage must give the
same rows but for its number and id before anything is inserted.
"""

import argparse
import asyncio
import json
import math
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from typing import TextIO

import httpx
from scim2_models import EnterpriseUser
from scim2_models import Group
from scim2_models import ResourceType
from scim2_models import User
from sqlalchemy import ColumnElement
from sqlalchemy import Table
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import text
from sqlmodel import SQLModel
from sqlmodel import col
from sqlmodel import select

from scim_server.config import Settings
from scim_server.intake.tenancy import Tenancy
from scim_server.storage.migrate import migrate
from scim_server.storage.organizations import create_organization
from scim_server.storage.tables import GroupMember
from scim_server.storage.tables import Organization
from scim_server.storage.tables import ScimResource
from scim_server.storage.tables import Timestamp
from scim_server.storage.tokens import issue_token

PLACEHOLDER = "zqxnumberzqx"
"""Stands for a user's number in the template rows; lower-case, so case-folding keeps it."""

ID_PLACEHOLDER = "zqxidzqx"
"""Stands for a user's SCIM id in the template rows."""

BATCH = 5000
"""Rows per executemany."""

STARTUP_SECONDS = 60
MEMBERS_OF_SMALL_GROUP = 10
TIMEOUT_SECONDS = 300
"""Per request: generous, so that a slow request is measured rather than aborted."""


# -- the database ---------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port nobody listens on, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_as_postgres(*command: str | Path) -> None:
    """Run a PostgreSQL tool, as the ``postgres`` user when we are root (initdb refuses root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run(
        [*prefix, *map(str, command)], capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{done.stdout}\n{done.stderr}")


@contextmanager
def postgresql_cluster() -> Iterator[str]:
    """Start a throwaway PostgreSQL cluster on 127.0.0.1 with default durability; yield its URL."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise SystemExit("--postgresql needs initdb and pg_ctl on PATH")
    base = Path(tempfile.mkdtemp(prefix="scim-bench-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, user="postgres")
    port = free_port()
    try:
        run_as_postgres(
            initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-instructions", "--locale=C.UTF-8",
        )  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base}"
        run_as_postgres(pg_ctl, "start", "-D", data, "-w", "-l", base / "server.log", "-o", options)
        try:
            yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
        finally:
            run_as_postgres(pg_ctl, "stop", "-D", data, "-m", "fast", "-w")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def sqlite_file() -> Iterator[str]:
    """Yield the URL of a new SQLite file in a temporary directory, removed afterwards."""
    directory = tempfile.mkdtemp(prefix="scim-bench-")
    try:
        yield f"sqlite+aiosqlite:///{directory}/scale.db"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- seeding --------------------------------------------------------------------------------


def user_payload(number: str) -> dict[str, Any]:
    """Return the POST body of user ``number``, shaped like what Okta and Entra send."""
    return {
        "schemas": [str(User.__schema__), str(EnterpriseUser.__schema__)],
        "userName": f"user-{number}@example.com",
        "externalId": f"ext-{number}",
        "name": {"givenName": f"Given{number}", "familyName": f"Family{number}"},
        "displayName": f"User {number}",
        "emails": [{"value": f"user-{number}@example.com", "type": "work", "primary": True}],
        "active": True,
        str(EnterpriseUser.__schema__): {"employeeNumber": number, "department": "Engineering"},
    }


@dataclass
class Seeded:
    """What the measurements need to know about the seeded organization."""

    org_key: str
    token: str
    big_group: str
    small_group: str
    members: list[str] = field(repr=False)
    """Ids of the users in the big group, in creation order (user 1 first)."""
    outsiders: list[str] = field(repr=False)
    """Ids of users in no group, added by the PATCH measurements."""
    seconds: float = 0.0


def settings_for(url: str) -> Settings:
    """Return the settings the server will read from its environment."""
    return Settings.model_validate({"SCIM_DATABASE_URL": url})


def resource_type(tenancy: Tenancy, org: Organization, name: str) -> ResourceType:
    """Return the resource type ``User`` or ``Group`` of an organization's SCIM service."""
    types = tenancy.service_for(org).provider.resource_types
    return next(rt for rt in types if rt.name == name)


def user_tables() -> list[Table]:
    """Return the tables that hold rows of one user: its resource, and rows keyed by ``scim_id``.

    Besides ``scim_resource``, the provisioning write path keeps the user's identity link,
    sync task and mapping events.
    """
    return [
        table
        for table in SQLModel.metadata.sorted_tables
        if table.name == "scim_resource" or "scim_id" in table.c
    ]


def user_condition(table: Table, scim_id: str) -> ColumnElement[bool]:
    """Return the condition selecting a user's rows in one of :func:`user_tables`."""
    key = table.c.id if table.name == "scim_resource" else table.c.scim_id
    return key == scim_id


@dataclass(frozen=True)
class UserTemplate:
    """The rows the storage wrote for one user, with its number and id as placeholders.

    Primary keys are left to the database; moments (``Timestamp`` columns) are set to the
    user's creation time, or left empty where the storage left them empty.
    """

    pattern: str
    moments: dict[str, list[dict[str, bool]]]

    @classmethod
    def capture(
        cls, rows: dict[str, list[dict[str, Any]]], number: str, scim_id: str
    ) -> "UserTemplate":
        """Make a template of the rows of user ``number``, as read from the database."""
        values: dict[str, list[dict[str, Any]]] = {}
        moments: dict[str, list[dict[str, bool]]] = {}
        for name, table_rows in rows.items():
            columns = SQLModel.metadata.tables[name].c
            timed = [c.name for c in columns if isinstance(c.type, Timestamp)]
            values[name] = [
                {k: v for k, v in row.items() if k != "pk" and k not in timed} for row in table_rows
            ]
            moments[name] = [{c: row[c] is not None for c in timed} for row in table_rows]
        pattern = json.dumps(values).replace(scim_id, ID_PLACEHOLDER).replace(number, PLACEHOLDER)
        return cls(pattern, moments)

    def rows(self, number: int, scim_id: str, created: datetime) -> dict[str, list[dict[str, Any]]]:
        """Return the rows of user ``number``, ready to insert."""
        text = self.pattern.replace(ID_PLACEHOLDER, scim_id).replace(PLACEHOLDER, str(number))
        found: dict[str, list[dict[str, Any]]] = json.loads(text)
        for name, table_rows in found.items():
            for row, moments in zip(table_rows, self.moments[name], strict=True):
                row.update({c: created if is_set else None for c, is_set in moments.items()})
        return found


async def seed(url: str, *, users: int, outsiders: int, profile: str) -> Seeded:
    """Create an organization, a token, its users and its two groups; return their ids."""
    started = time.perf_counter()
    tenancy = Tenancy.open(settings_for(url))
    try:
        async with tenancy.session() as session:
            org = await create_organization(
                session,
                key=f"bench-{secrets.token_hex(3)}",
                auth0_org="org_bench",
                connection="Username-Password-Authentication",
                profile=profile,
            )
            _, token = await issue_token(session, org=org, name="benchmark", expires_in=None)
            await session.commit()

        check = users + outsiders + 1
        written = await storage_rows(tenancy, org, [PLACEHOLDER, str(check)])
        template = UserTemplate.capture(*written[PLACEHOLDER])
        if UserTemplate.capture(*written[str(check)]) != template:
            raise SystemExit(
                "The rows the storage writes for two users differ beyond their number and id:\n"
                f"{UserTemplate.capture(*written[str(check)])}\n{template}"
            )

        ids = [str(uuid.uuid4()) for _ in range(users + outsiders)]
        origin = datetime.now(UTC) - timedelta(days=1)
        async with tenancy.session() as session:
            for start in range(0, len(ids), BATCH):
                batch: dict[str, list[dict[str, Any]]] = {t.name: [] for t in user_tables()}
                for number in range(start + 1, min(start + BATCH, len(ids)) + 1):
                    created = origin + timedelta(milliseconds=number)
                    for name, rows in template.rows(number, ids[number - 1], created).items():
                        batch[name].extend(rows)
                for table in user_tables():
                    if batch[table.name]:
                        await session.execute(insert(table), batch[table.name])
            await session.commit()

        members, loners = ids[:users], ids[users:]
        big = await create_group(tenancy, org, "All users", [])
        small = await create_group(tenancy, org, "Ten users", members[:MEMBERS_OF_SMALL_GROUP])
        await add_members_directly(tenancy, org, big, members)
        if tenancy.database.engine.dialect.name == "postgresql":
            # What autovacuum does soon after bulk inserts: statistics for the planner, and the
            # visibility map without which no index-only scan is planned. VACUUM cannot run in
            # a transaction.
            autocommit = tenancy.database.engine.execution_options(isolation_level="AUTOCOMMIT")
            async with autocommit.connect() as connection:
                await connection.execute(text("VACUUM ANALYZE"))
        return Seeded(
            org_key=org.key,
            token=token,
            big_group=big,
            small_group=small,
            members=members,
            outsiders=loners,
            seconds=time.perf_counter() - started,
        )
    finally:
        await tenancy.close()


async def storage_rows(
    tenancy: Tenancy, org: Organization, numbers: list[str]
) -> dict[str, tuple[dict[str, list[dict[str, Any]]], str, str]]:
    """Write users through the storage, as a POST does; return the rows it wrote for each.

    Each number maps to the user's rows (by table, in key order), its number and its id.
    The users are then deleted outright, leaving no tombstone: they were only templates.
    """
    service = tenancy.service_for(org)
    user_type = resource_type(tenancy, org, "User")
    found: dict[str, tuple[dict[str, list[dict[str, Any]]], str, str]] = {}
    async with tenancy.session() as session:
        storage = tenancy.storage(session, org)
        with service.provider:
            for number in numbers:
                body = json.dumps(user_payload(number)).encode()
                resource = service.read_creation(user_type, body, "application/scim+json")
                created = await storage.create(user_type, resource)
                assert created.id is not None
                rows: dict[str, list[dict[str, Any]]] = {}
                for table in user_tables():
                    result = await session.execute(
                        table.select().where(user_condition(table, created.id)).order_by(table.c.pk)
                    )
                    rows[table.name] = [dict(row) for row in result.mappings()]
                for table in reversed(user_tables()):
                    await session.execute(table.delete().where(user_condition(table, created.id)))
                found[number] = (rows, number, created.id)
        await session.commit()
    return found


async def create_group(tenancy: Tenancy, org: Organization, name: str, members: list[str]) -> str:
    """Create a group through the storage, as a POST does; return its id."""
    service = tenancy.service_for(org)
    group_type = resource_type(tenancy, org, "Group")
    body = json.dumps(
        {
            "schemas": [str(Group.__schema__)],
            "displayName": name,
            "members": [{"value": member} for member in members],
        }
    ).encode()
    async with tenancy.session() as session:
        with service.provider:
            resource = service.read_creation(group_type, body, "application/scim+json")
            created = await tenancy.storage(session, org).create(group_type, resource)
        await session.commit()
    assert created.id is not None
    return created.id


async def add_members_directly(
    tenancy: Tenancy, org: Organization, group_id: str, members: list[str]
) -> None:
    """Insert member rows as a PATCH ``add`` of ``{"value": id}`` writes them (no display, no type)."""
    async with tenancy.session() as session:
        found = await session.execute(
            select(ScimResource.id, col(ScimResource.pk)).where(ScimResource.org_id == org.id)
        )
        keys: dict[str, int | None] = dict(found.all())
        rows = [
            {"group_pk": keys[group_id], "member_pk": keys[member], "display": None, "type": None}
            for member in members
        ]
        table = SQLModel.metadata.tables["group_member"]
        for start in range(0, len(rows), BATCH):
            await session.execute(insert(table), rows[start : start + BATCH])
        await session.commit()


async def count_members(url: str, group_id: str) -> int:
    """Return how many members a group has, read from its rows."""
    tenancy = Tenancy.open(settings_for(url))
    try:
        async with tenancy.session() as session:
            group_pk = (
                select(col(ScimResource.pk))
                .where(col(ScimResource.id) == group_id)
                .scalar_subquery()
            )
            return int(
                await session.scalar(
                    select(func.count()).where(col(GroupMember.group_pk) == group_pk)
                )
                or 0
            )
    finally:
        await tenancy.close()


# -- the server -----------------------------------------------------------------------------


@contextmanager
def running_server(url: str, log: TextIO) -> Iterator[str]:
    """Run ``python -m scim_server serve`` on a free loopback port; yield its URL once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "scim_server", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "SCIM_DATABASE_URL": url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise SystemExit(f"The server exited:\n{log.read()}")
            if time.monotonic() > deadline:
                raise SystemExit(f"The server did not answer within {STARTUP_SECONDS} s")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


# -- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One HTTP request and the statuses that count as success."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    ok: tuple[int, ...] = (200,)
    check: Callable[[httpx.Response], None] | None = None


@dataclass(frozen=True)
class Scenario:
    """A named series of calls: the first ``warmup`` are not measured."""

    name: str
    calls: list[Call]
    warmup: int
    after: str | None = None
    """A scenario whose call must come first in each round (it adds the member this removes)."""


@dataclass(frozen=True)
class Result:
    """The times of the measured calls of a scenario, in milliseconds."""

    name: str
    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest rank

    @property
    def max(self) -> float:
        return max(self.times)


def send(client: httpx.Client, scenario: Scenario, call: Call) -> float:
    """Send one call and return its time in milliseconds; fail on any unexpected answer."""
    started = time.perf_counter()
    response = client.request(call.method, call.path, params=call.params, json=call.body)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code not in call.ok:
        raise SystemExit(
            f"{scenario.name}: {call.method} {call.path} {call.params} answered "
            f"{response.status_code}: {response.text[:500]}"
        )
    if call.check is not None:
        call.check(response)
    return elapsed


def run(client: httpx.Client, scenarios: list[Scenario], *, seed: int) -> list[Result]:
    """Send the calls of several scenarios in rounds: one call of each, in a shuffled order.

    Interleaving spreads whatever else the machine does over every scenario alike, and
    shuffling keeps a request from always paying for the one before it: on the development
    machine, a request right after a page of users was 10 to 15 ms slower, whichever it was.
    """
    rng = random.Random(seed)
    times: dict[str, list[float]] = {scenario.name: [] for scenario in scenarios}
    for index in range(max(len(scenario.calls) for scenario in scenarios)):
        order = list(scenarios)
        rng.shuffle(order)
        for scenario in scenarios:
            if scenario.after is not None:
                first = next(i for i, s in enumerate(order) if s.name == scenario.after)
                then = order.index(scenario)
                if then < first:
                    order[first], order[then] = order[then], order[first]
        for scenario in order:
            if index < len(scenario.calls):
                elapsed = send(client, scenario, scenario.calls[index])
                if index >= scenario.warmup:
                    times[scenario.name].append(elapsed)
    return [Result(scenario.name, times[scenario.name]) for scenario in scenarios]


def patch(group: str, operation: dict[str, Any]) -> Call:
    """Return a PATCH of one operation on a group (RFC 7644 §3.5.2)."""
    return Call(
        "PATCH",
        f"Groups/{group}",
        body={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [operation],
        },
        ok=(200, 204),
    )


def add_member(group: str, member: str) -> Call:
    """Return a PATCH adding one member, as Okta and Entra send it."""
    return patch(group, {"op": "add", "path": "members", "value": [{"value": member}]})


def remove_member(group: str, member: str) -> Call:
    """Return a PATCH removing one member by a value filter, as Okta sends it."""
    return patch(group, {"op": "remove", "path": f'members[value eq "{member}"]'})


def total_results(expected: int) -> Callable[[httpx.Response], None]:
    """Return a check that a list response has ``expected`` results in all."""

    def check(response: httpx.Response) -> None:
        found = response.json()["totalResults"]
        if found != expected:
            raise SystemExit(f"{response.url}: totalResults {found}, expected {expected}")

    return check


def page_of(size: int, total: int) -> Callable[[httpx.Response], None]:
    """Return a check that a list response holds ``size`` resources out of ``total``."""

    def check(response: httpx.Response) -> None:
        body = response.json()
        if body["totalResults"] != total or len(body["Resources"]) != size:
            raise SystemExit(
                f"{response.url}: {len(body['Resources'])} of {body['totalResults']} resources, "
                f"expected {size} of {total}"
            )

    return check


def scenarios(seeded: Seeded, *, repeat: int, warmup: int) -> list[Scenario]:
    """Return the measured scenarios of issue 2, with the outsiders each PATCH adds."""
    rng = random.Random(2)
    n = warmup + repeat
    users = len(seeded.members) + len(seeded.outsiders)
    big, small = seeded.big_group, seeded.small_group
    removed = rng.sample(seeded.members[MEMBERS_OF_SMALL_GROUP:], n)
    looked_up = rng.sample(range(1, users + 1), 2 * n)
    middle = len(seeded.members) // 2 + 1

    def each(make: Callable[[int], Call]) -> list[Call]:
        return [make(index) for index in range(n)]

    found_one = total_results(1)
    result = [
        Scenario(
            f"PATCH add 1 member, {len(seeded.members):,}-member group",
            each(lambda i: add_member(big, seeded.outsiders[i])),
            warmup,
        ),
        Scenario(
            f"PATCH remove 1 member, {len(seeded.members):,}-member group",
            each(lambda i: remove_member(big, removed[i])),
            warmup,
        ),
        Scenario(
            f"PATCH add 1 member, {MEMBERS_OF_SMALL_GROUP}-member group",
            each(lambda i: add_member(small, seeded.outsiders[i])),
            warmup,
        ),
        Scenario(
            f"PATCH remove 1 member, {MEMBERS_OF_SMALL_GROUP}-member group",
            each(lambda i: remove_member(small, seeded.outsiders[i])),
            warmup,
            after=f"PATCH add 1 member, {MEMBERS_OF_SMALL_GROUP}-member group",
        ),
        Scenario(
            f"GET /Users?startIndex={middle}&count=100",
            each(
                lambda i: Call(
                    "GET",
                    "Users",
                    {"startIndex": str(middle), "count": "100"},
                    check=page_of(100, users),
                )
            ),
            warmup,
        ),
        Scenario(
            "GET /Users?count=100 (first page)",
            each(lambda i: Call("GET", "Users", {"count": "100"}, check=page_of(100, users))),
            warmup,
        ),
        Scenario(
            'GET /Users?filter=userName eq "user-N@example.com"',
            each(
                lambda i: Call(
                    "GET",
                    "Users",
                    {"filter": f'userName eq "user-{looked_up[i]}@example.com"'},
                    check=found_one,
                )
            ),
            warmup,
        ),
        Scenario(
            'GET /Users?filter=externalId eq "ext-N"',
            each(
                lambda i: Call(
                    "GET",
                    "Users",
                    {"filter": f'externalId eq "ext-{looked_up[n + i]}"'},
                    check=found_one,
                )
            ),
            warmup,
        ),
        Scenario(
            "GET /Groups/{id}?excludedAttributes=members",
            each(lambda i: Call("GET", f"Groups/{big}", {"excludedAttributes": "members"})),
            warmup,
        ),
        Scenario(
            'GET /Groups?filter=displayName eq "All users"&excludedAttributes=members',
            each(
                lambda i: Call(
                    "GET",
                    "Groups",
                    {"filter": 'displayName eq "All users"', "excludedAttributes": "members"},
                    check=found_one,
                )
            ),
            warmup,
        ),
    ]
    return result


def full_group_reads(seeded: Seeded, reads: int) -> Scenario:
    """Return reads of the big group with every member, after one unmeasured read."""
    return Scenario(
        "GET /Groups/{id} with every member (for contrast)",
        [Call("GET", f"Groups/{seeded.big_group}") for _ in range(reads + 1)],
        1,
    )


# -- the run --------------------------------------------------------------------------------


def parse_arguments() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url",
        help="an empty database to use (default: a temporary SQLite file)",
    )
    where.add_argument(
        "--postgresql",
        action="store_true",
        help="start a throwaway PostgreSQL cluster with initdb/pg_ctl on 127.0.0.1",
    )
    parser.add_argument("--users", type=int, default=100_000, help="members of the big group")
    parser.add_argument("--repeat", type=int, default=20, help="measured requests per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests first")
    parser.add_argument(
        "--full-reads",
        type=int,
        default=3,
        help="measured reads of the big group with all its members (0: skip)",
    )
    parser.add_argument("--profile", default="generic", help="the organization's mapping profile")
    parser.add_argument(
        "--seed",
        type=int,
        default=random.randrange(2**32),
        help="the order of the requests in each round (default: a new one each run)",
    )
    arguments = parser.parse_args()
    if arguments.users < 2 * MEMBERS_OF_SMALL_GROUP + arguments.repeat + arguments.warmup:
        parser.error("--users is too small for --repeat and --warmup")
    if arguments.repeat < 1 or arguments.warmup < 0 or arguments.full_reads < 0:
        parser.error("--repeat must be positive, --warmup and --full-reads not negative")
    return arguments


@contextmanager
def database(arguments: argparse.Namespace) -> Iterator[str]:
    """Yield the URL of the database the benchmark runs on."""
    if arguments.database_url:
        yield arguments.database_url
    elif arguments.postgresql:
        with postgresql_cluster() as url:
            yield url
    else:
        with sqlite_file() as url:
            yield url


def print_table(results: list[Result]) -> None:
    """Print the results as a Markdown table, ready for RESULTS.md."""
    width = max(len(result.name) for result in results)
    print(f"| {'request':<{width}} |    n | median ms |  p95 ms |  max ms |")
    print(f"|{'-' * (width + 2)}|-----:|----------:|--------:|--------:|")
    for result in results:
        print(
            f"| {result.name:<{width}} | {len(result.times):>4} | {result.median:>9.1f} "
            f"| {result.p95:>7.1f} | {result.max:>7.1f} |"
        )


def main() -> None:
    """Prepare, seed, serve, measure, report."""
    arguments = parse_arguments()
    outsiders = arguments.repeat + arguments.warmup
    with database(arguments) as url, tempfile.TemporaryFile("w+") as log:
        backend = url.split(":", 1)[0]
        print(f"database: {backend}; migrating", flush=True)
        migrate(url)
        seeded = asyncio.run(
            seed(url, users=arguments.users, outsiders=outsiders, profile=arguments.profile)
        )
        print(
            f"seeded {arguments.users + outsiders:,} users, a {arguments.users:,}-member group "
            f"and a {MEMBERS_OF_SMALL_GROUP}-member group in {seeded.seconds:.1f} s",
            flush=True,
        )
        load_before = os.getloadavg()[0]
        with running_server(url, log) as base:
            headers = {
                "Authorization": f"Bearer {seeded.token}",
                "Content-Type": "application/scim+json",
            }
            with httpx.Client(
                base_url=f"{base}/scim/v2/{seeded.org_key}/",
                headers=headers,
                timeout=TIMEOUT_SECONDS,
            ) as client:
                fast = scenarios(seeded, repeat=arguments.repeat, warmup=arguments.warmup)
                print(f"measuring {len(fast)} scenarios in rounds", flush=True)
                results = run(client, fast, seed=arguments.seed)
                if arguments.full_reads:
                    print("reading the big group with every member", flush=True)
                    results += run(client, [full_group_reads(seeded, arguments.full_reads)], seed=0)
        for group, size in (
            (seeded.big_group, arguments.users),
            (seeded.small_group, MEMBERS_OF_SMALL_GROUP),
        ):  # every PATCH took effect: as many members added as removed
            members = asyncio.run(count_members(url, group))
            if members != size:
                raise SystemExit(f"Group {group} has {members} members, expected {size}")
        print()
        print(
            f"{backend}, {arguments.users:,} users, --seed {arguments.seed}, {os.cpu_count()} CPUs, "
            f"load average {load_before:.2f} before and {os.getloadavg()[0]:.2f} after measuring"
        )
        print()
        print_table(results)


if __name__ == "__main__":
    main()
