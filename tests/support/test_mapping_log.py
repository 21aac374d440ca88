"""Reading the mapping log (DESIGN §8): any identity key finds one person's timeline, in one
organization only; filters, paging for ``--follow``, retention, and index-served lookups."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scim_server.config import Settings
from scim_server.provisioning.batching import MemberBatcher
from scim_server.provisioning.directory import Auth0Directory
from scim_server.provisioning.effects import Auth0Effects
from scim_server.provisioning.reconciler import InvitationSettings
from scim_server.provisioning.reconciler import Reconciler
from scim_server.provisioning.worker import Worker
from scim_server.storage.database import Database
from scim_server.storage.engine import create_sessionmaker
from scim_server.storage.events import append_event
from scim_server.storage.events import purge_events
from scim_server.storage.events import search_query
from scim_server.storage.organizations import create_organization
from scim_server.storage.tables import IdentityLink
from scim_server.storage.tables import MappingEvent
from scim_server.storage.tables import Organization
from scim_server.storage.tables import ScimResource
from scim_server.storage.tokens import issue_token
from scim_server.support.mapping_log import LogEntry
from scim_server.support.mapping_log import LogQuery
from scim_server.support.mapping_log import LogQueryError
from scim_server.support.mapping_log import person_keys
from scim_server.support.mapping_log import search_log
from scim_server.web.app import create_app
from tests.helpers.auth0 import CLIENT_SECRET
from tests.helpers.auth0 import DATABASE
from tests.helpers.auth0 import demo_emulator
from tests.helpers.auth0 import gateway_on
from tests.helpers.auth0 import org_id
from tests.helpers.clock import FakeClock
from tests.helpers.workers import fake_clock_worker

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Log:
    database: Database
    acme: int
    globex: int

    async def event(
        self, org: int, summary: str, *, minutes: int = 0, at: datetime | None = None, **keys: str
    ) -> None:
        async with self.database.session() as session:
            await append_event(
                session,
                org_id=org,
                source="worker",
                kind="test.event",
                summary=summary,
                at=at or T0 + timedelta(minutes=minutes),
                outcome=keys.pop("outcome", "ok"),
                **keys,  # type: ignore[arg-type]
            )
            await session.commit()

    async def user(self, org: int, scim_id: str, *, user_name: str, email: str, ext: str) -> None:
        """Store a SCIM user (as the storage does, keys folded) and its link to Auth0."""
        async with self.database.session() as session:
            session.add(
                ScimResource(
                    org_id=org,
                    id=scim_id,
                    resource_type="User",
                    external_id=ext,
                    user_name_key=user_name.casefold(),
                    email_key=email.casefold(),
                    document={"userName": user_name},
                    search_document={},
                )
            )
            session.add(IdentityLink(org_id=org, scim_id=scim_id, auth0_user_id=f"auth0|{scim_id}"))
            await session.commit()

    async def search(self, org: int, **query: object) -> list[LogEntry]:
        async with self.database.session() as session:
            return await search_log(session, org_id=org, query=LogQuery(**query))  # type: ignore[arg-type]

    async def summaries(self, org: int, **query: object) -> list[str]:
        return [entry.summary for entry in await self.search(org, **query)]


@pytest.fixture
async def log(engine: AsyncEngine) -> AsyncIterator[Log]:
    database = Database(engine=engine, sessions=create_sessionmaker(engine))
    async with database.session() as session:
        acme = Organization(key="acme", auth0_org="org_acme", connection="db")
        globex = Organization(key="globex", auth0_org="org_globex", connection="db")
        session.add_all([acme, globex])
        await session.commit()
        assert acme.id is not None and globex.id is not None
        yield Log(database, acme.id, globex.id)


@pytest.fixture
async def jdoe(log: Log) -> Log:
    """jdoe in acme (SCIM id u1) with events under several keys; others around it."""
    await log.user(log.acme, "u1", user_name="JDoe", email="JDoe@Acme.com", ext="00u1")
    await log.user(log.acme, "u2", user_name="ann", email="ann@acme.com", ext="00u2")
    await log.user(log.globex, "g1", user_name="JDoe", email="jdoe@acme.com", ext="00u1")
    await log.event(log.acme, "created", minutes=1, scim_id="u1", email="JDoe@Acme.com")
    await log.event(log.acme, "ann created", minutes=2, scim_id="u2", email="ann@acme.com")
    await log.event(log.acme, "linked", minutes=3, scim_id="u1", auth0_user_id="auth0|u1")
    await log.event(log.acme, "login", minutes=4, auth0_user_id="auth0|u1", email="jdoe@acme.com")
    await log.event(log.globex, "globex jdoe", minutes=5, scim_id="g1", email="jdoe@acme.com")
    await log.event(log.acme, "failed", minutes=6, scim_id="u1", outcome="error")
    return log


@pytest.mark.parametrize(
    "key", ["u1", "00u1", "jdoe", "JDOE", "jdoe@acme.com", " JDoe@ACME.com ", "auth0|u1"]
)
async def test_any_identity_key_finds_the_whole_timeline_of_one_person(jdoe: Log, key: str) -> None:
    assert await jdoe.summaries(jdoe.acme, user=key) == ["created", "linked", "login", "failed"]


async def test_an_organization_never_sees_another_organizations_events(jdoe: Log) -> None:
    assert await jdoe.summaries(jdoe.globex, user="jdoe@acme.com") == ["globex jdoe"]
    assert await jdoe.summaries(jdoe.globex, user="u1") == []
    assert await jdoe.summaries(jdoe.globex, user="auth0|u1") == []
    assert await jdoe.summaries(jdoe.globex) == ["globex jdoe"]


async def test_events_carrying_the_key_are_found_without_a_scim_user(log: Log) -> None:
    """A login nobody provisioned, or a user purged from SCIM, still has a timeline."""
    await log.event(log.acme, "stray login", auth0_user_id="auth0|stray", email="Stray@x.com")
    await log.event(log.acme, "other", auth0_user_id="auth0|other")

    assert await log.summaries(log.acme, user="auth0|stray") == ["stray login"]
    assert await log.summaries(log.acme, user="stray@X.com") == ["stray login"]


async def test_emails_and_user_names_are_stored_case_folded(log: Log) -> None:
    await log.event(log.acme, "x", email="JDoe@Acme.COM", user_name="JDoe")

    [entry] = await log.search(log.acme)
    assert (entry.email, entry.user_name) == ("jdoe@acme.com", "jdoe")


async def test_unknown_key_finds_nothing(jdoe: Log) -> None:
    assert await jdoe.summaries(jdoe.acme, user="nobody@acme.com") == []


async def test_since_and_outcome_narrow_the_timeline(jdoe: Log) -> None:
    since = T0 + timedelta(minutes=3)
    assert await jdoe.summaries(jdoe.acme, user="u1", since=since) == ["linked", "login", "failed"]
    assert await jdoe.summaries(jdoe.acme, user="u1", outcome="error") == ["failed"]
    assert await jdoe.summaries(jdoe.acme, outcome="error") == ["failed"]


async def test_limit_keeps_the_newest_events_oldest_first(jdoe: Log) -> None:
    assert await jdoe.summaries(jdoe.acme, user="u1", limit=2) == ["login", "failed"]
    assert await jdoe.summaries(jdoe.acme, limit=3) == ["linked", "login", "failed"]


async def test_after_id_returns_the_next_events_appended(jdoe: Log) -> None:
    """What ``log --follow`` and the page's polling do: continue after the last one seen."""
    first, second, *_ = await jdoe.search(jdoe.acme, user="u1")

    assert await jdoe.summaries(jdoe.acme, user="u1", after_id=first.id, limit=2) == [
        "linked",
        "login",
    ]
    await jdoe.event(jdoe.acme, "later", minutes=9, scim_id="u1")
    last = (await jdoe.search(jdoe.acme, user="u1"))[-2]
    assert await jdoe.summaries(jdoe.acme, user="u1", after_id=last.id) == ["later"]
    assert second.summary == "linked"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"outcome": "fine"}, "Unknown outcome 'fine'"),
        ({"limit": 0}, "between 1 and"),
        ({"limit": 10_001}, "between 1 and"),
        ({"user": "  "}, "must not be empty"),
    ],
)
def test_a_bad_query_is_refused_with_a_clear_message(
    query: dict[str, object], message: str
) -> None:
    with pytest.raises(LogQueryError, match=message):
        LogQuery(**query)  # type: ignore[arg-type]


async def test_entries_serialise_with_utc_times(jdoe: Log) -> None:
    [entry] = await jdoe.search(jdoe.acme, user="u1", outcome="error")

    body = entry.to_json()
    assert body["at"] == "2026-11-01T09:06:00Z"
    assert body["id"] == entry.id
    assert (body["scim_id"], body["outcome"], body["summary"]) == ("u1", "error", "failed")


async def test_retention_purges_only_events_older_than_it(jdoe: Log) -> None:
    now = T0 + timedelta(days=30, minutes=6)
    async with jdoe.database.session() as session:
        purged = await purge_events(session, before=now - timedelta(days=30))
        await session.commit()

    assert purged == 5  # minutes 1 to 5, of both organizations; minute 6 is exactly 30 days old
    assert await jdoe.summaries(jdoe.acme) == ["failed"]
    assert await jdoe.summaries(jdoe.globex) == []


def purging_worker(database: Database, clock: FakeClock, retention_days: int) -> Worker:
    gateway = gateway_on(demo_emulator(clock=clock.time), clock=clock)
    effects = Auth0Effects(
        gateway, Auth0Directory(gateway, monotonic=clock.monotonic), MemberBatcher(gateway)
    )
    return Worker(
        database=database,
        reconciler=Reconciler(effects, InvitationSettings("app", "Tests")),
        clock=clock,
        log_retention_days=retention_days,
    )


async def test_the_worker_purges_the_retention_at_most_hourly(log: Log) -> None:
    clock = FakeClock()
    now = datetime.fromtimestamp(clock.now, UTC)
    worker = purging_worker(log.database, clock, retention_days=30)
    await log.event(log.acme, "too old", at=now - timedelta(days=31))
    await log.event(log.acme, "recent", at=now - timedelta(days=29))

    assert await worker.purge_old_events() == 1
    await log.event(log.acme, "old again", at=now - timedelta(days=40))
    clock.advance(3599)
    assert await worker.purge_old_events() == 0  # not an hour since the last purge
    clock.advance(1)
    assert await worker.purge_old_events() == 1
    assert await log.summaries(log.acme) == ["recent"]


async def test_a_worker_keeping_the_log_forever_never_purges(log: Log) -> None:
    clock = FakeClock()
    worker = purging_worker(log.database, clock, retention_days=0)
    await log.event(log.acme, "ancient", at=T0 - timedelta(days=3650))

    assert await worker.purge_old_events() == 0
    assert await log.summaries(log.acme) == ["ancient"]


KEY_INDEXES = {
    "ix_mapping_event_scim_id",
    "ix_mapping_event_external_id",
    "ix_mapping_event_user_name",
    "ix_mapping_event_email",
    "ix_mapping_event_auth0_user_id",
    "ix_mapping_event_request_id",
}


async def seed_many(log: Log, people: int) -> None:
    """Append six events per person, as the write path (a third) and the worker append them,
    for ``people`` persons in acme and half as many in globex; then ANALYZE."""

    def event(org: int, person: int, n: int) -> dict[str, object]:
        scim = n % 3 == 0
        return {
            "org_id": org,
            "at": T0 + timedelta(seconds=person * 7 + n),
            "source": "scim" if scim else "worker",
            "kind": "test.event",
            "outcome": "ok",
            "summary": f"event {n}",
            "details": {},
            "scim_id": f"u{person}",
            "request_id": f"req-{org}-{person}-{n}" if scim else None,
            "external_id": f"00u{person}" if scim else None,
            "user_name": f"user{person}" if scim else None,
            "email": f"user{person}@acme.com",
            "auth0_user_id": None if scim else f"auth0|{person}",
        }

    rows = [
        event(org, person, n)
        for org, count in ((log.acme, people), (log.globex, people // 2))
        for person in range(count)
        for n in range(6)
    ]
    async with log.database.session() as session:
        await session.execute(insert(MappingEvent), rows)
        await session.commit()
    async with log.database.engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()


async def query_plan(log: Log, key: str) -> str:
    """Return the plan of the search ``log --user KEY`` runs, one line per step."""
    async with log.database.session() as session:
        keys = await person_keys(session, org_id=log.acme, key=key)
        connection = await session.connection()
        sql = search_query(org_id=log.acme, keys=keys, limit=200).compile(
            dialect=connection.dialect,
            compile_kwargs={"literal_binds": True, "render_postcompile": True},
        )
        if connection.dialect.name == "sqlite":
            rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            return "\n".join(str(row[-1]) for row in rows)
        rows = await connection.exec_driver_sql(f"EXPLAIN {sql}")
        return "\n".join(str(row[0]) for row in rows)


async def test_every_key_lookup_is_an_index_search_never_a_scan(log: Log) -> None:
    """EXPLAIN of the search: one index search per key column, no full scan of the log.

    One seeding for every kind of key: the seeding is what costs here.
    """
    await seed_many(log, people=1_000)

    for key in ("u17", "00u17", "USER17", "User17@Acme.com", "auth0|17", "req-1-17-0"):
        plan = await query_plan(log, key)

        used = {name for name in KEY_INDEXES if name in plan}
        assert used == KEY_INDEXES, (key, plan)
        scans = [
            line
            for line in plan.splitlines()
            if line.strip().startswith("SCAN mapping_event")  # SQLite: the whole table
            or "Seq Scan" in line  # PostgreSQL: the whole table
            or line.rstrip().endswith("(org_id=?)")  # SQLite: the organization's whole log
            or line.strip() == f"Index Cond: (org_id = {log.acme})"  # PostgreSQL: the same
        ]
        assert scans == [], (key, plan)
        fetched_by_pk = "USING INTEGER PRIMARY KEY" in plan or "mapping_event_pkey" in plan
        assert fetched_by_pk, (key, plan)
        assert [e.summary for e in await log.search(log.acme, user=key, limit=1)] != [], key


PASSWORD = "Okta-Sent-P4ssw0rd!"
NEW_PASSWORD = "Changed-P4ssw0rd?"
TOKEN_NAME = "okta-prod"


async def test_no_secret_ends_up_in_the_log_after_a_lifecycle(
    database_url: str, engine: AsyncEngine
) -> None:
    """Okta sends passwords; the bearer token, the Auth0 client secret and Auth0's access
    tokens pass by too. None of them is in any column of any event."""
    clock = FakeClock()
    emulator = demo_emulator(clock=clock.time)
    gateway = gateway_on(emulator, clock=clock)
    app = create_app(Settings(SCIM_DATABASE_URL=database_url))
    database = app.state.tenancy.database
    async with database.session() as session:
        org = await create_organization(
            session, key="acme", auth0_org=org_id(emulator), connection=DATABASE, profile="okta"
        )
        _, token = await issue_token(session, org=org, name=TOKEN_NAME, expires_in=None)
        await session.commit()
    worker = fake_clock_worker(database, gateway, clock)
    scim = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver/scim/v2/acme",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
    )
    async with scim:
        created = await scim.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "jdoe@acme.test",
                "externalId": "00u1",
                "name": {"givenName": "J", "familyName": "Doe"},
                "emails": [{"value": "jdoe@acme.test", "primary": True}],
                "password": PASSWORD,
                "active": True,
            },
        )
        assert created.status_code == 201, created.text
        user = created.json()["id"]
        group = await scim.post(
            "/Groups",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "org_admin",
                "members": [{"value": user}],
            },
        )
        assert group.status_code == 201, group.text
        await worker.run_until_idle()
        for operation in (
            {"op": "replace", "path": "password", "value": NEW_PASSWORD},
            {"op": "replace", "path": "active", "value": False},
        ):
            patched = await scim.patch(
                f"/Users/{user}", json={"schemas": [PATCH_OP], "Operations": [operation]}
            )
            assert patched.status_code in (200, 204), patched.text
        await worker.run_until_idle()
    await gateway.aclose()

    async with database.engine.connect() as connection:
        rows = [
            dict(row._mapping)
            for row in await connection.execute(text("SELECT * FROM mapping_event"))
        ]
    await app.state.tenancy.close()
    dump = json.dumps(rows, default=str)
    assert {"desired.changed", "auth0.member_added", "auth0.roles_assigned"} <= {
        row["kind"] for row in rows
    }
    assert any("Okta deactivated jdoe@acme.test" in row["summary"] for row in rows), dump
    assert {row["actor"] for row in rows if row["source"] == "scim"} == {TOKEN_NAME}
    for secret in (PASSWORD, NEW_PASSWORD, token, token[len("scim_") :], CLIENT_SECRET):
        assert secret not in dump
    assert "eyJ" not in dump  # no JWT: the emulator's Auth0 access tokens are JWT-shaped
