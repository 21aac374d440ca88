"""Filters and sorts in SQL against scim2-models' own evaluator, on SQLite and PostgreSQL.

Users and groups are written as rows (``search_document`` included) the way the storage
writes them, read back as the storage reads them, and every filter and sort must keep and
order exactly the resources ``ScimFilter.match`` and ``SearchRequest.sort`` keep and order.
The database is filled once per module and only read by the tests.
"""

import asyncio
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Union
from typing import cast

import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from scim2_models import InvalidFilterException
from scim2_models import InvalidPathException
from scim2_models import Resource
from scim2_models import ScimFilter
from scim2_models import ScimPolicy
from scim2_models import SearchRequest
from scim2_server.testing import SEARCH_FILTERS
from scim2_server.testing import SEARCH_SORTS
from scim2_server.testing import SEARCH_USERS
from scim2_server.utils import load_default_provider
from scim2_server.utils import parametrize
from sqlalchemy import and_
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from scim_server.storage.engine import create_engine
from scim_server.storage.search import filter_clause
from scim_server.storage.search import search_document
from scim_server.storage.search import sort_clause
from scim_server.storage.tables import GroupMember
from scim_server.storage.tables import Organization
from scim_server.storage.tables import ScimResource

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PROVIDER = load_default_provider()
USER = cast(
    type[Resource[Any]],
    PROVIDER.model_for(next(t for t in PROVIDER.resource_types if t.id == "User")),
)
GROUP = cast(
    type[Resource[Any]],
    PROVIDER.model_for(next(t for t in PROVIDER.resource_types if t.id == "Group")),
)
NOT_STORED = {"id", "meta", "password", "members", "groups"}

TRICKY_USERS: list[dict[str, Any]] = [
    {
        "userName": unicodedata.normalize("NFD", "Émile"),
        "externalId": "ABC",
        "title": "Straße",
        "name": {},
        "emails": [],
        "active": True,
        ENTERPRISE: {"department": "R&D", "manager": {"value": "mgr-1", "displayName": "Boss"}},
    },
    {
        "userName": "a_b",
        "externalId": "abc",
        "displayName": "ÉRIC",
        "nickName": "😀",
        "emails": [
            {"value": "first@x.example", "type": "home", "primary": False},
            {"value": "Second@X.example", "type": "work", "primary": True},
            {"value": "third@x.example"},
        ],
        ENTERPRISE: {},
    },
    {
        "userName": "a%b",
        "externalId": "B",
        "nickName": "\uff5a",
        "title": "a_b%",
        "emails": [{"value": "x@y.example", "type": "WORK", "display": ""}],
        "x509Certificates": [{"value": "aGVsbG8="}],
        ENTERPRISE: {"manager": {"value": "MGR-1"}, "employeeNumber": "10"},
    },
    {
        "userName": "axb",
        "externalId": unicodedata.normalize("NFD", "é"),
        "nickName": "z",
        "displayName": "",
        "active": False,
        "emails": [{"type": "work"}],
        "phoneNumbers": [{"value": "+1 555", "type": "mobile"}],
    },
    {"userName": "zed", "name": {"givenName": "", "familyName": "Ømega"}},
]

CREATED = [
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2010, 5, 13, 4, 42, 34, 123456, tzinfo=UTC),
    datetime(2010, 5, 13, 4, 42, 34, 123457, tzinfo=UTC),
    datetime(2020, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 29, 12, 0, tzinfo=UTC),
]

USER_FILTERS = [
    'userName eq "émile"',
    'userName eq "ÉMILE"',
    'userName sw "a_"',
    'userName sw "a%"',
    'userName co "%"',
    'userName co "_"',
    'userName ew "b"',
    'userName co ""',
    'userName gt "a%b"',
    'userName lt "Z"',
    'userName ge "axb" and userName le "dave_%"',
    'externalId eq "abc"',
    'externalId eq "ABC"',
    'externalId eq "é"',
    'externalId ne "abc"',
    'externalId gt "B"',
    'externalId lt "a"',
    'externalId co "b"',
    "externalId pr",
    "externalId eq null",
    'id eq "00000000-0000-0000-0000-000000000000"',
    "id pr",
    'id sw "0"',
    'title eq "STRASSE"',
    'title eq "straße"',
    'title co "_b%"',
    'title ew "%"',
    'title eq ""',
    'title ne ""',
    'displayName eq "éric"',
    'displayName eq ""',
    "displayName ne null",
    'nickName gt "z"',
    'nickName lt "😀"',
    'nickName ge "\uff5a"',
    "name eq null",
    "name ne null",
    'name eq "x"',
    'name ne "x"',
    "not (name pr)",
    "name.givenName pr",
    "name.givenName eq null",
    'name.givenName eq ""',
    'name.familyName eq "ømega"',
    'name.familyName gt "s"',
    "emails eq null",
    "emails ne null",
    'emails ne "second@x.example"',
    'emails eq "SECOND@x.example"',
    'emails ew ".EXAMPLE"',
    "emails.type eq null",
    "emails.type ne null",
    'emails.type eq "work"',
    'emails.type ne "work"',
    "emails.value pr",
    "emails.display pr",
    "emails.primary eq false",
    "emails.primary ne true",
    "not (emails.primary eq true)",
    'emails[type eq "work"].value eq "second@x.example"',
    'emails[type eq "work" and value ew "example"]',
    'emails[type eq "work" or primary eq false]',
    "emails[not (value pr)]",
    "emails[value pr and not (type pr)]",
    'emails[display eq ""]',
    'emails[display ne ""]',
    "emails[primary eq null]",
    'emails[value gt "s"]',
    'emails[type eq "work"] and not (emails[type eq "home"])',
    "phoneNumbers pr",
    'phoneNumbers.value co "555"',
    'addresses eq "x"',
    'addresses ne "x"',
    "addresses ne null",
    "addresses pr",
    "x509Certificates pr",
    'x509Certificates.value eq "aGVsbG8="',
    'x509Certificates.value ne "aGVsbG8="',
    'x509Certificates.value eq "aGk="',
    'schemas eq "URN:ietf:params:scim:schemas:core:2.0:User"',
    f'schemas eq "{ENTERPRISE}"',
    'schemas[value co "enterprise"]',
    "schemas[value eq 5]",
    'schemas[type eq "x"]',
    "schemas[value pr]",
    "active eq true",
    "active ne false",
    "active eq null",
    "not (active pr)",
    "active pr or emails.primary pr",
    f"{ENTERPRISE}:department pr",
    f'{ENTERPRISE}:department eq "r&d"',
    f'{ENTERPRISE}:employeeNumber lt "2"',
    f"{ENTERPRISE}:employeeNumber eq null",
    f"{ENTERPRISE}:manager pr",
    f"{ENTERPRISE}:manager eq null",
    f'{ENTERPRISE}:manager.value eq "mgr-1"',
    f'{ENTERPRISE}:manager.value ne "mgr-1"',
    f'{ENTERPRISE}:manager.displayName eq "boss"',
    f'{ENTERPRISE}:manager gt "a"',
    f'{ENTERPRISE}:manager co "m"',
    "urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User:DEPARTMENT pr",
    'meta.created eq "2010-05-13T04:42:34.123456Z"',
    'meta.created eq "2010-05-13T06:42:34.123456+02:00"',
    'meta.created gt "2010-05-13T04:42:34.123456Z"',
    'meta.created ge "2010-05-13T04:42:34.123456Z"',
    'meta.created lt "2010-05-13T04:42:34.123457Z"',
    'meta.created le "2000-01-01T00:00:00Z"',
    'meta.created ne "2020-01-01T00:00:00Z"',
    'meta.created gt "2010-05-13T04:42:34"',
    'meta.created ne "2010-05-13T04:42:34"',
    'meta.created sw "2010"',
    'meta.created ew "Z"',
    "meta.created pr",
    "meta.created eq null",
    'meta.lastModified ge "2010-01-01T00:00:00Z"',
    "meta pr",
    "meta eq null",
    'meta ne "x"',
    'meta.resourceType eq "User"',
    'meta.resourceType eq "user"',
    'meta.resourceType co "se"',
    'USERNAME eq "ALICE"',
    'Emails[Type eq "work"]',
    'userName eq "alice" or (title pr and not (active eq false))',
    'not (userName eq "alice" or userName eq "bob") and emails pr',
    '(title pr or name pr) and (emails.type eq "work" or active eq false)',
]

GROUP_FILTERS = [
    'displayName eq "ADMINS"',
    'displayName co "m"',
    'displayName gt "b"',
    "displayName pr",
    "members pr",
    "not (members pr)",
    "members eq null",
    "members ne null",
    "members.value pr",
    "members.display pr",
    "members.type pr",
    "members.$ref pr",
    "members[display pr]",
    "members[value pr and not (display pr)]",
    'externalId eq "g-1"',
    'meta.resourceType eq "Group"',
]


@dataclass
class SearchDatabase:
    """A database holding the users and groups, and the same resources read back."""

    runner: asyncio.Runner
    engine: AsyncEngine
    dialect: str
    org_id: int
    resources: list[Resource[Any]]

    def of(self, model: type[Resource[Any]]) -> list[Resource[Any]]:
        return [r for r in self.resources if type(r) is model]

    def select_ids(
        self, model: type[Resource[Any]] | None, condition: Any, order: list[Any] | None = None
    ) -> list[str]:
        query = select(ScimResource.id).where(ScimResource.org_id == self.org_id, condition)
        if model is not None:
            query = query.where(ScimResource.resource_type == type_name(model))
        query = query.order_by(*(order or []), ScimResource.created_at, ScimResource.pk)

        async def run() -> list[str]:
            async with self.engine.connect() as connection:
                return list((await connection.scalars(query)).all())

        return self.runner.run(run())

    def search(self, model: type[Resource[Any]], scim_filter: str) -> list[str]:
        """Return the ids SQL keeps, in storage order."""
        request = parametrize(SearchRequest, model)(filter=scim_filter)
        assert request.filter is not None
        return self.select_ids(
            model, filter_clause(request.filter.ast, model=model, dialect=self.dialect)
        )

    def matched(self, model: type[Resource[Any]], scim_filter: str) -> list[str]:
        """Return the ids ScimFilter.match keeps, in storage order."""
        evaluator = ScimFilter[model](scim_filter)  # type: ignore[valid-type]
        return [cast(str, r.id) for r in self.of(model) if evaluator.match(r)]


def type_name(model: type[Resource[Any]]) -> str:
    return "User" if model is USER else "Group"


def comparable(model: type[Resource[Any]], attribute: str, value: Any) -> Any:
    if value is None:
        return None
    from scim2_models import Path as ScimPath

    binding = ScimPath[model](attribute).resolve()  # type: ignore[valid-type]
    assert binding is not None
    return binding.comparable(value)


def build_rows(org_id: int) -> tuple[list[ScimResource], list[GroupMember], list[Resource[Any]]]:
    """Build rows as the storage writes them, and the resources as it reads them back."""
    rows: list[ScimResource] = []
    loaded: list[Resource[Any]] = []
    users = [*SEARCH_USERS, *TRICKY_USERS]
    for index, payload in enumerate(users):
        rows.append(row_of(USER, payload, org_id, index))
    groups = [
        ({"displayName": "Admins", "externalId": "g-1"}, [(0, "Alice", "User"), (1, None, None)]),
        ({"displayName": "empty"}, []),
        ({"displayName": "Bees"}, [(4, "", None), (len(users), None, "Group")]),
    ]
    members: list[GroupMember] = []
    for offset, (payload, _) in enumerate(groups):
        rows.append(row_of(GROUP, payload, org_id, len(users) + offset))
    for pk, row in enumerate(rows, start=1):
        row.pk = pk
    for offset, (_, group_members) in enumerate(groups):
        group = rows[len(users) + offset]
        for member_index, display, kind in group_members:
            members.append(
                GroupMember(
                    group_pk=group.pk, member_pk=rows[member_index].pk, display=display, type=kind
                )
            )
    for row in rows:
        data = dict(row.document)
        data["id"] = row.id
        data["meta"] = {
            "resourceType": row.resource_type,
            "created": row.created_at.isoformat(),
            "lastModified": row.modified_at.isoformat(),
            "version": f'W/"{row.version}"',
        }
        by_pk = {r.pk: r for r in rows}
        row_members = [
            {
                "value": by_pk[m.member_pk].id,
                "$ref": f"{by_pk[m.member_pk].resource_type}s/{by_pk[m.member_pk].id}",
                "display": m.display,
                "type": m.type,
            }
            for m in members
            if m.group_pk == row.pk
        ]
        if row_members:
            data["members"] = [
                {key: value for key, value in member.items() if value is not None}
                for member in row_members
            ]
        loaded.append((USER if row.resource_type == "User" else GROUP).model_validate(data))
    # The order the storage lists them in: created_at, then pk (ids grow with pk here).
    loaded.sort(key=lambda r: (r.meta.created, r.id))  # type: ignore[union-attr]
    return rows, members, loaded


def row_of(
    model: type[Resource[Any]], payload: dict[str, Any], org_id: int, index: int
) -> ScimResource:
    resource = model.model_validate(payload)
    document = resource.model_dump(mode="json", exclude=NOT_STORED)
    stored = model.model_validate(document)
    created = CREATED[index % len(CREATED)] + timedelta(days=400 * (index // len(CREATED)))
    return ScimResource(
        id=str(uuid.UUID(int=index)),
        org_id=org_id,
        resource_type=type_name(model),
        document=document,
        search_document=search_document(stored),
        created_at=created,
        modified_at=created + timedelta(days=31, microseconds=index),
        user_name_key=comparable(model, "userName", getattr(stored, "user_name", None)),
        external_id=comparable(model, "externalId", stored.external_id),
        display_name_key=comparable(model, "displayName", stored.display_name)
        if model is GROUP
        else None,
        active=getattr(stored, "active", None),
    )


async def fill(engine: AsyncEngine) -> tuple[int, list[Resource[Any]]]:
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    from sqlmodel.ext.asyncio.session import AsyncSession

    async with AsyncSession(engine, expire_on_commit=False) as session:
        org = Organization(key="acme", auth0_org="org_1", connection="db")
        other = Organization(key="other", auth0_org="org_2", connection="db")
        session.add_all([org, other])
        await session.commit()
        assert org.id is not None
        rows, members, loaded = build_rows(org.id)
        session.add_all(rows)
        await session.flush()
        session.add_all(members)
        await session.commit()
    return org.id, loaded


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
    ],
)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchDatabase]:
    with asyncio.Runner() as runner:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('filters') / 'search.db'}"
            dropper = None
        else:
            server = request.getfixturevalue("postgresql_server")
            name = f"filters_{uuid.uuid4().hex[:12]}"
            # An ICU default collation, where 'B' > 'a': what COLLATE "C" has to undo.
            runner.run(
                server.execute(
                    f'CREATE DATABASE "{name}" TEMPLATE template0 '
                    "LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C.UTF-8'"
                )
            )
            url = server.url(name)
            dropper = (server, name)
        engine = create_engine(url, poolclass=NullPool)
        org_id, resources = runner.run(fill(engine))
        yield SearchDatabase(runner, engine, request.param, org_id, resources)
        runner.run(engine.dispose())
        if dropper is not None:
            server, name = dropper
            runner.run(server.execute(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_the_data_set_holds_what_the_filters_need(database: SearchDatabase) -> None:
    assert len(database.of(USER)) == len(SEARCH_USERS) + len(TRICKY_USERS)
    assert len(database.of(GROUP)) == 3


@pytest.mark.parametrize("scim_filter", [*SEARCH_FILTERS, *USER_FILTERS])
def test_user_filters_keep_what_scim_filter_match_keeps(
    database: SearchDatabase, scim_filter: str
) -> None:
    assert database.search(USER, scim_filter) == database.matched(USER, scim_filter)


@pytest.mark.parametrize("scim_filter", GROUP_FILTERS)
def test_group_filters_keep_what_scim_filter_match_keeps(
    database: SearchDatabase, scim_filter: str
) -> None:
    assert database.search(GROUP, scim_filter) == database.matched(GROUP, scim_filter)


def test_a_comparison_on_manager_compares_its_value(database: SearchDatabase) -> None:
    """Entra filters ``manager eq "<id>"`` before writing a manager (idp-quirks §5.2)."""
    kept = database.search(USER, f'{ENTERPRISE}:manager eq "mgr-1"')

    assert kept == database.matched(USER, f'{ENTERPRISE}:manager.value eq "mgr-1"')
    assert len(kept) == 1


def test_entra_manager_lookup_combines_id_and_manager(database: SearchDatabase) -> None:
    user = next(r for r in database.of(USER) if r.user_name == "a%b")  # type: ignore[attr-defined]
    scim_filter = f'id eq "{user.id}" and {ENTERPRISE}:manager eq "MGR-1"'

    assert database.search(USER, scim_filter) == [user.id]
    assert database.search(USER, scim_filter.replace("MGR-1", "mgr-1")) == []


@pytest.mark.parametrize(
    ("model", "scim_filter"),
    [
        (USER, 'groups.value eq "x"'),
        (USER, "groups pr"),
        (GROUP, 'members.display eq "alice"'),
        (GROUP, 'members[type eq "User"]'),
        (GROUP, 'members.$ref eq "Users/x"'),
        (USER, 'meta.version eq "W/\\"1\\""'),
        (USER, "meta.location pr"),
    ],
)
def test_what_sql_cannot_answer_is_an_invalid_filter(
    database: SearchDatabase, model: type[Resource[Any]], scim_filter: str
) -> None:
    request = parametrize(SearchRequest, model)(filter=scim_filter)
    assert request.filter is not None

    with pytest.raises(InvalidFilterException):
        filter_clause(request.filter.ast, model=model, dialect=database.dialect)


def test_an_attribute_a_type_lacks_matches_none_of_its_resources(database: SearchDatabase) -> None:
    """At the root, each type is filtered with its own model (RFC 7644 §3.4.2.1)."""
    request = parametrize(SearchRequest, Union[USER, GROUP])(filter="userName pr or members pr")  # noqa: UP007
    assert request.filter is not None
    condition = or_(
        *(
            and_(
                ScimResource.resource_type == name,
                filter_clause(request.filter.ast, model=model, dialect=database.dialect),
            )
            for name, model in (("User", USER), ("Group", GROUP))
        )
    )

    kept = database.select_ids(None, condition)

    assert kept == [cast(str, r.id) for r in database.resources if request.filter.match(r)]
    assert {type(r) for r in database.resources if r.id in kept} == {USER, GROUP}


def test_not_of_an_undeclared_attribute_holds_as_in_the_evaluator(database: SearchDatabase) -> None:
    node = ScimFilter[GROUP]("not (userName pr)").ast  # type: ignore[valid-type]

    kept = database.select_ids(GROUP, filter_clause(node, model=GROUP, dialect=database.dialect))

    assert kept == [r.id for r in database.of(GROUP)]


SORTS = [
    *SEARCH_SORTS,
    "externalId",
    "id",
    "nickName",
    "meta.lastModified",
    "meta.resourceType",
    "emails.value",
    "emails.primary",
    "name.givenName",
    "schemas",
    f"{ENTERPRISE}:manager.value",
    f"{ENTERPRISE}:department",
]


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("sort_by", SORTS)
def test_sorts_order_as_search_request_sort(
    database: SearchDatabase, sort_by: str, descending: bool
) -> None:
    """Ties keep the storage order (created_at, pk), as the stable Python sort keeps them."""
    request = parametrize(SearchRequest, USER)(
        sort_by=sort_by, sort_order="descending" if descending else "ascending"
    )
    assert request.sort_by is not None
    order = sort_clause(
        request.sort_by, model=USER, dialect=database.dialect, descending=descending
    )

    kept = database.select_ids(USER, true(), order)

    assert kept == [r.id for r in request.sort(database.of(USER))]


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize(
    "sort_by", ["displayName", "userName", "externalId", "meta.created", "members"]
)
def test_root_sorts_read_each_type_with_its_own_model(
    database: SearchDatabase, sort_by: str, descending: bool
) -> None:
    request = parametrize(SearchRequest, Union[USER, GROUP])(  # noqa: UP007
        sort_by=sort_by, sort_order="descending" if descending else "ascending"
    )
    assert request.sort_by is not None
    models = {"User": USER, "Group": GROUP}
    if sort_by == "members":
        with pytest.raises(InvalidPathException):
            sort_clause(
                request.sort_by, model=models, dialect=database.dialect, descending=descending
            )
        return
    order = sort_clause(
        request.sort_by, model=models, dialect=database.dialect, descending=descending
    )

    kept = database.select_ids(None, true(), order)

    assert kept == [r.id for r in request.sort(database.resources)]


def test_a_sort_on_an_attribute_the_model_lacks_keeps_the_storage_order(
    database: SearchDatabase,
) -> None:
    request = parametrize(SearchRequest, Union[USER, GROUP])(sort_by="userName")  # noqa: UP007
    assert request.sort_by is not None

    assert (
        sort_clause(request.sort_by, model=GROUP, dialect=database.dialect, descending=False) == []
    )


LOOKUPS = [
    (USER, 'userName eq "User-17"', "user_name_key"),
    (USER, 'externalId eq "e-17"', "external_id"),
    (USER, 'id eq "00000000-0000-0000-0000-000000000017"', "(id"),
    (GROUP, 'displayName eq "GROUP-17"', "display_name_key"),
]


async def explain_lookups(engine: AsyncEngine) -> list[tuple[str, str]]:
    """Fill a database with many users and groups, and explain each lookup on it."""
    async with engine.begin() as connection:
        org_id = (
            await connection.execute(
                insert(Organization).values(key="big", auth0_org="org_big", connection="db")
            )
        ).inserted_primary_key[0]
        await connection.execute(
            insert(ScimResource),
            [
                {
                    "id": str(uuid.UUID(int=n)),
                    "org_id": org_id,
                    "resource_type": "User" if n % 2 else "Group",
                    "document": {},
                    "search_document": {},
                    "user_name_key": f"user-{n}" if n % 2 else None,
                    "display_name_key": None if n % 2 else f"group-{n}",
                    "external_id": f"e-{n}",
                    "created_at": CREATED[0],
                    "modified_at": CREATED[0],
                }
                for n in range(3000)
            ],
        )
        if engine.dialect.name == "postgresql":
            await connection.execute(text("ANALYZE"))
        plans = []
        for model, scim_filter, column in LOOKUPS:
            condition = filter_clause(
                ScimFilter[model](scim_filter).ast,  # type: ignore[valid-type]
                model=model,
                dialect=engine.dialect.name,
            )
            query = select(ScimResource.id).where(
                ScimResource.org_id == org_id,
                ScimResource.resource_type == type_name(model),
                ScimResource.deleted_at.is_(None),  # type: ignore[union-attr]
                condition,
            )
            compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
            prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
            rows = (await connection.execute(text(prefix + str(compiled)))).all()
            plans.append((column, "\n".join(str(row[-1]) for row in rows)))
        return plans


def test_identity_lookups_use_an_index(engine: AsyncEngine) -> None:
    """IdPs look resources up by userName, externalId, id or displayName: no scans."""
    for column, plan in asyncio.run(explain_lookups(engine)):
        index_condition = next(
            (line for line in plan.splitlines() if "USING INDEX" in line or "Index Cond" in line),
            "",
        )
        assert column in index_condition, plan


STRING_PATHS = [
    "userName",
    "title",
    "displayName",
    "nickName",
    "externalId",
    "name.familyName",
    "name.givenName",
    "emails.type",
    "emails.display",
    "phoneNumbers.value",
    "schemas",
    "meta.resourceType",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager.value",
]
STRINGS = [
    "alice",
    "ALICE",
    "a",
    "b",
    "B",
    "%",
    "_",
    "a_",
    "",
    "work",
    "home",
    "é",
    "E\u0301",
    "straße",
    "mgr-1",
    "10",
    "2",
    "boss",
    "😀",
    "\uff5a",
    "user",
    "urn",
]
EMAILS = ["alice@work.example", "SECOND@x.example", "x@y.example", "nobody@x.example"]
MOMENTS = [
    "2010-05-13T04:42:34.123456Z",
    "2000-01-01T00:00:00Z",
    "2024-02-29T13:00:00+01:00",
    "2010-05-13T04:42:34",
]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
PRESENT_PATHS = [
    *STRING_PATHS,
    f"{ENTERPRISE}:manager",
    "active",
    "emails",
    "emails.primary",
    "name",
    "addresses",
    "meta.created",
    "x509Certificates",
]


def quoted(value: str) -> str:
    return '"' + value + '"'


comparisons = st.one_of(
    st.builds(
        "{} {} {}".format,
        st.sampled_from(STRING_PATHS),
        st.sampled_from(OPERATORS),
        st.sampled_from(STRINGS).map(quoted) | st.just("null"),
    ),
    st.builds(
        "{} {} {}".format,
        st.sampled_from(["emails", "emails.value"]),
        st.sampled_from(OPERATORS),
        st.sampled_from(EMAILS).map(quoted),
    ),
    st.builds(
        "{} {} {}".format,
        st.sampled_from(["active", "emails.primary"]),
        st.sampled_from(["eq", "ne"]),
        st.sampled_from(["true", "false", "null"]),
    ),
    st.builds(
        "{} {} {}".format,
        st.sampled_from(["meta.created", "meta.lastModified"]),
        st.sampled_from(OPERATORS),
        st.sampled_from(MOMENTS).map(quoted),
    ),
    st.sampled_from(PRESENT_PATHS).map("{} pr".format),
)
email_conditions = st.recursive(
    st.one_of(
        st.builds(
            "{} {} {}".format,
            st.sampled_from(["type", "display"]),
            st.sampled_from(OPERATORS),
            st.sampled_from(STRINGS).map(quoted),
        ),
        st.builds(
            "value {} {}".format,
            st.sampled_from(["co", "sw", "ew"]),
            st.sampled_from(STRINGS).map(quoted),
        ),
        st.builds(
            "primary {} {}".format,
            st.sampled_from(["eq", "ne"]),
            st.sampled_from(["true", "false", "null"]),
        ),
        st.sampled_from(["type", "value", "display", "primary"]).map("{} pr".format),
    ),
    lambda inner: (
        st.builds("not ({})".format, inner)
        | st.builds("({}) {} ({})".format, inner, st.sampled_from(["and", "or"]), inner)
    ),
    max_leaves=3,
)
user_filters = st.recursive(
    comparisons | email_conditions.map("emails[{}]".format),
    lambda inner: (
        st.builds("not ({})".format, inner)
        | st.builds("({}) {} ({})".format, inner, st.sampled_from(["and", "or"]), inner)
    ),
    max_leaves=4,
)


@settings(max_examples=200, deadline=None)
@given(scim_filter=user_filters)
def test_generated_filters_keep_what_scim_filter_match_keeps(
    database: SearchDatabase, scim_filter: str
) -> None:
    try:
        ScimFilter[USER](scim_filter)  # type: ignore[valid-type]
    except InvalidFilterException:
        assume(False)  # an operator the attribute's type refuses: a 400 before SQL

    assert database.search(USER, scim_filter) == database.matched(USER, scim_filter)


def casefolded(binding: Any, value: str) -> str:
    """A comparison key folding ``ß`` to ``ss``, where the default one only lower-cases."""
    return unicodedata.normalize("NFC", value if binding.case_exact else value.casefold())


async def search_under_policy(engine: AsyncEngine, scim_filter: str) -> list[str]:
    async with engine.begin() as connection:
        org_id = (
            await connection.execute(
                insert(Organization).values(key="p", auth0_org="o", connection="db")
            )
        ).inserted_primary_key[0]
        rows = [
            row_of(USER, {"userName": name}, org_id, n)
            for n, name in enumerate(["Straße", "strasse2", "x"])
        ]
        await connection.execute(
            insert(ScimResource),
            [
                {c.name: getattr(row, c.name) for c in ScimResource.__table__.c if c.name != "pk"}
                for row in rows
            ],  # type: ignore[attr-defined]
        )
        condition = filter_clause(
            ScimFilter[USER](scim_filter).ast, model=USER, dialect=engine.dialect.name
        )  # type: ignore[valid-type]
        return list(
            (await connection.scalars(select(ScimResource.document).where(condition))).all()
        )


def test_documents_and_filters_follow_the_ambient_policy(engine: AsyncEngine) -> None:
    with ScimPolicy(comparison_key=casefolded):
        kept = asyncio.run(search_under_policy(engine, 'userName eq "STRASSE"'))

    assert kept == [
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Straße"}
    ]
