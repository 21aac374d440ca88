"""scim2-server's storage contract, on SQLite and PostgreSQL."""

import asyncio
from collections.abc import Iterator

import pytest
from scim2_models import ScimProvider
from scim2_server.testing import AsyncScimStorageContract
from scim2_server.testing import BlockingStorage

from scim_server.storage.database import Database
from tests.helpers.databases import create_schema
from tests.helpers.databases import open_storage


class TestSqlScimStorage(AsyncScimStorageContract):
    @pytest.fixture
    def storage(self, database_url: str, provider: ScimProvider) -> Iterator[BlockingStorage]:
        """Run the storage on the contract's own event loop, and close it there."""
        with asyncio.Runner() as runner:
            database = Database.open(database_url)
            runner.run(create_schema(database))
            opened = open_storage(database, provider)
            storage = runner.run(opened.__aenter__())
            yield BlockingStorage(storage, runner)
            runner.run(opened.__aexit__(None, None, None))
            runner.run(database.close())
