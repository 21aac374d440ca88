"""Auth0 SCIM tokens of organizations in mode relay: encrypted at rest, one per organization."""

import asyncio
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import Connection
from sqlalchemy import inspect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from scim_server.config import ConfigError
from scim_server.config import Settings
from scim_server.storage.database import Database
from scim_server.storage.engine import create_engine
from scim_server.storage.engine import create_sessionmaker
from scim_server.storage.migrate import alembic_config
from scim_server.storage.migrate import migrate
from scim_server.storage.relay_tokens import RelayToken
from scim_server.storage.relay_tokens import RelayTokenVault
from scim_server.storage.secret_box import SecretBox
from scim_server.storage.tables import Organization
from tests.storage.test_migrations import run_on_connection

pytestmark = pytest.mark.anyio

KEY = Fernet.generate_key().decode()
SECRET = "tok_ThisIsTheSecretAuth0ScimToken"
CREATED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def token(token_id: str = "tkn_1", secret: str = SECRET, **changes: object) -> RelayToken:
    values: dict[str, object] = {
        "connection_id": "con_saml",
        "token_id": token_id,
        "scopes": ("get:users", "post:users"),
        "created_at": CREATED,
        "valid_until": CREATED + timedelta(days=365),
        "token": secret,
    }
    values.update(changes)
    return RelayToken(**values)  # type: ignore[arg-type]


@pytest.fixture
def database(engine: AsyncEngine) -> Database:
    return Database(engine=engine, sessions=create_sessionmaker(engine))


async def add_organization(database: Database, key: str) -> int:
    async with database.session() as session:
        organization = Organization(key=key, auth0_org=f"org_{key}", connection="acme-saml")
        session.add(organization)
        await session.commit()
        assert organization.id is not None
        return organization.id


async def stored_rows(database: Database) -> list[tuple[int, str, str]]:
    async with database.session() as session:
        result = await session.execute(
            text("SELECT org_id, token_id, sealed FROM auth0_scim_token ORDER BY org_id")
        )
        return [(row[0], row[1], row[2]) for row in result.all()]


async def test_a_stored_token_is_read_back_but_never_stored_in_clear(database: Database) -> None:
    vault = RelayTokenVault(
        database, org_id=await add_organization(database, "acme"), box=SecretBox([KEY])
    )
    await vault.store(token())

    loaded = await vault.load()
    [(_, token_id, sealed)] = await stored_rows(database)

    assert loaded == token()
    assert token_id == "tkn_1"
    assert SECRET not in sealed and SECRET[4:] not in sealed
    assert SECRET not in repr(loaded)


async def test_an_organization_without_token_has_none(database: Database) -> None:
    vault = RelayTokenVault(
        database, org_id=await add_organization(database, "acme"), box=SecretBox([KEY])
    )
    assert await vault.load() is None


async def test_a_rotation_replaces_the_token_in_place(database: Database) -> None:
    vault = RelayTokenVault(
        database, org_id=await add_organization(database, "acme"), box=SecretBox([KEY])
    )
    await vault.store(token())
    await vault.store(token("tkn_2", "tok_new", valid_until=None))

    loaded = await vault.load()

    assert loaded is not None and (loaded.token_id, loaded.token, loaded.valid_until) == (
        "tkn_2",
        "tok_new",
        None,
    )
    assert len(await stored_rows(database)) == 1


async def test_each_vault_sees_only_its_organization(database: Database) -> None:
    box = SecretBox([KEY])
    acme = RelayTokenVault(database, org_id=await add_organization(database, "acme"), box=box)
    globex = RelayTokenVault(database, org_id=await add_organization(database, "globex"), box=box)
    await acme.store(token())

    assert await globex.load() is None
    await globex.store(token("tkn_g", "tok_globex"))
    loaded = await acme.load()
    assert loaded is not None and loaded.token == SECRET


async def test_the_old_key_still_opens_after_a_key_rotation(database: Database) -> None:
    org_id = await add_organization(database, "acme")
    await RelayTokenVault(database, org_id=org_id, box=SecretBox([KEY])).store(token())
    new_key = Fernet.generate_key().decode()

    rotated = RelayTokenVault(database, org_id=org_id, box=SecretBox([new_key, KEY]))
    loaded = await rotated.load()
    without_old = RelayTokenVault(database, org_id=org_id, box=SecretBox([new_key]))

    assert loaded is not None and loaded.token == SECRET
    with pytest.raises(ConfigError, match="No key of SCIM_SECRET_KEY opens"):
        await without_old.load()


def test_a_missing_key_is_a_one_line_configuration_error() -> None:
    with pytest.raises(ConfigError) as caught:
        SecretBox.from_settings(Settings())
    message = str(caught.value)
    assert message.startswith("SCIM_SECRET_KEY is not set") and "\n" not in message
    assert "Fernet.generate_key()" in message


@pytest.mark.parametrize("value", ["not-a-key", f"{KEY},short"], ids=["garbage", "one-key-short"])
def test_a_malformed_key_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigError, match="not a list of Fernet keys"):
        SecretBox.from_settings(Settings(SCIM_SECRET_KEY=value))


def test_keys_are_read_newest_first_from_the_setting() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox([old]).seal("x")
    box = SecretBox.from_settings(Settings(SCIM_SECRET_KEY=f" {new} , {old} "))

    assert box.open(sealed) == "x"
    assert SecretBox([new]).open(box.seal("y")) == "y"


def test_the_setting_is_never_shown() -> None:
    settings = Settings(SCIM_SECRET_KEY=KEY)
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump())


def test_the_migration_is_reversible(database_url: str) -> None:
    migrate(database_url)
    before = ScriptDirectory.from_config(alembic_config()).get_revision("0006").down_revision

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, str(before))

    async def run_committed() -> None:
        engine = create_engine(database_url, poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(downgrade)
        finally:
            await engine.dispose()

    def tables() -> list[str]:
        found: list[str] = run_on_connection(database_url, lambda c: inspect(c).get_table_names())
        return found

    asyncio.run(run_committed())
    downgraded = tables()
    migrate(database_url)

    assert "auth0_scim_token" not in downgraded and "organization" in downgraded
    assert "auth0_scim_token" in tables()
