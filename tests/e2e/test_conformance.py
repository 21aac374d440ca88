"""The issue's acceptance run: a fresh database set up with the CLI, served by real uvicorn,
checked by scim2-tester with the token the CLI issued."""

from collections import Counter

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server
from scim2_tester.utils import Status

from tests.support.server import Cli

pytestmark = pytest.mark.e2e

FAILED = {Status.ERROR, Status.CRITICAL, Status.DEVIATION}


def test_scim2_tester_finds_no_failure(database_url: str) -> None:
    cli = Cli(database_url)
    cli.run("migrate")
    cli.run(
        "org",
        "add",
        "acme",
        "--auth0-org",
        "org_123",
        "--connection",
        "Username-Password-Authentication",
    )
    token = cli.run("token", "issue", "acme").splitlines()[-1]

    with (
        cli.serve() as url,
        httpx2.Client(
            base_url=f"{url}/scim/v2/acme", headers={"Authorization": f"Bearer {token}"}
        ) as http,
    ):
        results = check_server(SyncSCIMClient(http))

    failures = [result for result in results if result.status in FAILED]
    assert not failures, "\n".join(repr(failure) for failure in failures)
    counts = Counter(result.status for result in results)
    assert counts[Status.SUCCESS] >= 40, counts
