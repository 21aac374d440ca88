"""Mapping log benchmark of issue 4: one person's timeline out of ~1.5 million events, by each key.

Run from the repository root:

    .venv/bin/python benchmarks/log_lookup.py                 # a temporary SQLite file
    .venv/bin/python benchmarks/log_lookup.py --postgresql    # a throwaway local PostgreSQL cluster
    .venv/bin/python benchmarks/log_lookup.py --database-url postgresql+asyncpg://user@host/empty_db

It migrates a database, seeds two organizations: ``bench`` with ``--people`` users and
``--events`` events each, and ``noise`` with half as many (so that the organization filter
matters), then times :func:`scim_server.support.mapping_log.search_log`, the function the
CLI (``scim-server log --user``), the admin API and the admin page call, for random people by
each kind of key: email (in another case than stored), userName, externalId, SCIM id, Auth0 user
id and request id. It prints the query plan of one lookup, and the timings as a Markdown table.

The events are the rows the write path and the worker append for a person (``desired.changed``
with the SCIM keys and the request id, ``auth0.*`` with the Auth0 user id, ``sync.state``),
inserted with ``executemany``; each user also gets its SCIM resource and identity link rows, so
the lookup resolves keys exactly as in production.
"""

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from scale import postgresql_cluster
from scale import sqlite_file
from sqlalchemy import insert
from sqlalchemy import text

from scim_server.storage.database import Database
from scim_server.storage.events import search_query
from scim_server.storage.migrate import migrate
from scim_server.storage.organizations import create_organization
from scim_server.storage.tables import IdentityLink
from scim_server.storage.tables import MappingEvent
from scim_server.storage.tables import ScimResource
from scim_server.support.mapping_log import LogQuery
from scim_server.support.mapping_log import person_keys
from scim_server.support.mapping_log import search_log

BATCH = 5000
"""Rows per executemany."""

WORKER_KINDS = ("auth0.linked", "auth0.member_added", "auth0.roles_assigned", "sync.state")


@dataclass(frozen=True)
class Person:
    """The keys of one seeded user."""

    number: int
    scim_id: str

    @property
    def email(self) -> str:
        return f"user-{self.number}@example.com"

    @property
    def external_id(self) -> str:
        return f"00u{self.number:08d}"

    @property
    def auth0_user_id(self) -> str:
        return f"auth0|{self.number:024x}"

    def request_id(self, event: int) -> str:
        return f"{self.number:016x}{event:016x}"


def event_rows(org_id: int, person: Person, events: int, origin: datetime) -> list[dict[str, Any]]:
    """Return a person's events as the write path and the worker append them."""
    rows = []
    for n in range(events):
        at = origin + timedelta(seconds=person.number * 7 + n)
        base = {"org_id": org_id, "at": at, "outcome": "ok", "scim_id": person.scim_id}
        if n % 3 == 0:
            rows.append(
                {
                    **base,
                    "source": "scim",
                    "actor": "okta-prod",
                    "kind": "desired.changed",
                    "request_id": person.request_id(n),
                    "external_id": person.external_id,
                    "user_name": person.email,
                    "email": person.email,
                    "auth0_user_id": None,
                    "summary": f"Okta changed Group 'org_admin': {person.email} roles +org_admin",
                    "details": {"reasons": {"org_admin": ["okta@1:group-named-like-role"]}},
                }
            )
        else:
            rows.append(
                {
                    **base,
                    "source": "worker",
                    "actor": None,
                    "kind": WORKER_KINDS[n % len(WORKER_KINDS)],
                    "request_id": None,
                    "external_id": None,
                    "user_name": None,
                    "email": person.email,
                    "auth0_user_id": person.auth0_user_id,
                    "summary": "assigned org_admin",
                    "details": {},
                }
            )
    return rows


def user_rows(org_id: int, person: Person, origin: datetime) -> tuple[dict[str, Any], ...]:
    """Return a person's SCIM resource and identity link, with the keys the lookup reads."""
    resource = {
        "id": person.scim_id,
        "org_id": org_id,
        "resource_type": "User",
        "document": {"userName": person.email},
        "search_document": {},
        "version": 1,
        "created_at": origin,
        "modified_at": origin,
        "user_name_key": person.email,
        "external_id": person.external_id,
        "email_key": person.email,
        "active": True,
    }
    link = {
        "org_id": org_id,
        "scim_id": person.scim_id,
        "auth0_user_id": person.auth0_user_id,
        "desired": {},
        "applied": {},
        "state": "synced",
        "owned": True,
        "updated_at": origin,
    }
    return resource, link


async def seed_org(
    database: Database, key: str, *, people: int, events: int, first: int
) -> tuple[int, list[Person]]:
    """Add an organization with its people and their events; return its id and its people."""
    async with database.session() as session:
        org = await create_organization(
            session, key=key, auth0_org=f"org_{key}", connection="db", profile="okta"
        )
        await session.commit()
        assert org.id is not None
    origin = datetime.now(UTC) - timedelta(days=60)
    persons = [Person(first + n, str(uuid.uuid4())) for n in range(people)]
    async with database.session() as session:
        for start in range(0, people, BATCH):
            chunk = persons[start : start + BATCH]
            resources, links = zip(*(user_rows(org.id, p, origin) for p in chunk), strict=True)
            await session.execute(insert(ScimResource), list(resources))
            await session.execute(insert(IdentityLink), list(links))
            rows = [r for p in chunk for r in event_rows(org.id, p, events, origin)]
            for row_start in range(0, len(rows), BATCH):
                await session.execute(insert(MappingEvent), rows[row_start : row_start + BATCH])
        await session.commit()
    return org.id, persons


async def analyze(database: Database) -> None:
    """Refresh the planner's statistics, as autovacuum (PostgreSQL) or an operator would."""
    autocommit = database.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        is_postgresql = database.engine.dialect.name == "postgresql"
        await connection.execute(text("VACUUM ANALYZE" if is_postgresql else "ANALYZE"))


async def query_plan(database: Database, org_id: int, key: str) -> str:
    """Return the plan of the lookup of one key."""
    async with database.session() as session:
        keys = await person_keys(session, org_id=org_id, key=key)
        connection = await session.connection()
        sql = search_query(org_id=org_id, keys=keys).compile(
            dialect=connection.dialect,
            compile_kwargs={"literal_binds": True, "render_postcompile": True},
        )
        prefix = "EXPLAIN QUERY PLAN" if connection.dialect.name == "sqlite" else "EXPLAIN"
        rows = await connection.exec_driver_sql(f"{prefix} {sql}")
        return "\n".join(str(row[-1] if prefix.endswith("PLAN") else row[0]) for row in rows)


KEYS: dict[str, Callable[[Person], str]] = {
    "email (upper case)": lambda p: p.email.upper(),
    "userName": lambda p: p.email,
    "externalId": lambda p: p.external_id,
    "SCIM id": lambda p: p.scim_id,
    "Auth0 user id": lambda p: p.auth0_user_id,
    "request id": lambda p: p.request_id(0),
}


async def measure(
    database: Database, org_id: int, persons: list[Person], *, lookups: int, events: int, seed: int
) -> list[tuple[str, list[float]]]:
    """Time ``lookups`` searches per kind of key, interleaved in a shuffled order."""
    chooser = random.Random(seed)
    calls = [(name, chooser.choice(persons)) for name in KEYS for _ in range(lookups)]
    chooser.shuffle(calls)
    times: dict[str, list[float]] = {name: [] for name in KEYS}
    for name, person in calls:
        key = KEYS[name](person)
        async with database.session() as session:
            started = time.perf_counter()
            found = await search_log(session, org_id=org_id, query=LogQuery(user=key))
            times[name].append((time.perf_counter() - started) * 1000)
        expected = 1 if name == "request id" else events  # a request's events, not the person's
        if len(found) != expected or {entry.scim_id for entry in found} != {person.scim_id}:
            raise SystemExit(f"{name} {key!r}: found {len(found)} events, expected {expected}")
    return list(times.items())


def parse_arguments() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", help="an empty database (default: a temporary SQLite)")
    where.add_argument("--postgresql", action="store_true", help="a throwaway PostgreSQL cluster")
    parser.add_argument("--people", type=int, default=200_000, help="users of the measured org")
    parser.add_argument("--events", type=int, default=6, help="events per user")
    parser.add_argument("--lookups", type=int, default=50, help="measured lookups per key type")
    parser.add_argument("--seed", type=int, default=random.randrange(2**32), help="lookup order")
    return parser.parse_args()


async def bench(url: str, arguments: argparse.Namespace) -> None:
    """Seed, analyse, plan, measure, print."""
    database = Database.open(url)
    try:
        started = time.perf_counter()
        org_id, persons = await seed_org(
            database, "bench", people=arguments.people, events=arguments.events, first=0
        )
        await seed_org(
            database,
            "noise",
            people=arguments.people // 2,
            events=arguments.events,
            first=arguments.people,
        )
        await analyze(database)
        total = (arguments.people + arguments.people // 2) * arguments.events
        print(f"seeded {total:,} events in {time.perf_counter() - started:.1f} s", flush=True)
        print("plan of a lookup by email:")
        print(await query_plan(database, org_id, persons[0].email.upper()))
        results = await measure(
            database,
            org_id,
            persons,
            lookups=arguments.lookups,
            events=arguments.events,
            seed=arguments.seed,
        )
    finally:
        await database.close()
    print(
        f"\nseed {arguments.seed}; each lookup returns the person's {arguments.events} events "
        "(a request id: that request's event)"
    )
    print("| key | n | median ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for name, times in results:
        p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
        print(
            f"| {name} | {len(times)} | {statistics.median(times):.2f} | {p95:.2f} "
            f"| {max(times):.2f} |"
        )


def main() -> None:
    """Run the benchmark on the chosen database."""
    arguments = parse_arguments()
    if arguments.database_url:
        migrate(arguments.database_url)
        asyncio.run(bench(arguments.database_url, arguments))
        return
    cluster = postgresql_cluster() if arguments.postgresql else sqlite_file()
    with cluster as url:
        print(f"database: {url.split(':', 1)[0]}; migrating", flush=True)
        migrate(url)
        asyncio.run(bench(url, arguments))


if __name__ == "__main__":
    main()
