"""A newcomer's sandbox session, as the README tells it: paste the printed lines, then clean up.

``scim-server serve --sandbox`` without SCIM_DATABASE_URL prints, before any log line, the
``export`` lines a second shell needs; the SCIM token works as printed (the support settings
are tried in ``test_support_cli.py``); a support command run without them refuses in one line
instead of leaving an empty ``scim-server.db`` behind; stopping the server deletes its database.
"""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers.server import free_port
from tests.helpers.server import wait_until_up


def scim_server(
    *arguments: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scim_server", *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_sandbox_prints_what_to_paste_and_leaves_nothing_behind(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIM_", "AUTH0_"))}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "stderr.log").open("w+") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "scim_server", "serve", "--sandbox", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
        try:
            wait_until_up(url, server, log)
            log.seek(0)
            printed = log.read().splitlines()
            exports = {
                name: value
                for line in printed
                if line.startswith("export ")
                for name, _, value in (pair.partition("=") for pair in line.split()[1:])
            }
            user = httpx.post(
                f"{url}/scim/v2/acme/Users",
                headers={"Authorization": f"Bearer {exports['TOKEN']}"},
                json={"userName": "ada@acme.example", "emails": [{"value": "ada@acme.example"}]},
            )
            unpasted = scim_server("status", "acme", cwd=tmp_path, env=env)
        finally:
            server.terminate()
            server.wait(timeout=15)

    banner_end = printed.index(next(line for line in printed if line.startswith("export TOKEN=")))
    started = printed.index(next(line for line in printed if "Application startup" in line))
    assert banner_end < started, "the banner comes before the server's log"
    assert user.status_code == 201, user.text
    assert unpasted.returncode == 1
    assert unpasted.stderr.startswith("Error: No database at scim-server.db: set SCIM_DATABASE_URL")
    assert list(tmp_path.iterdir()) == [tmp_path / "stderr.log"]
    database = Path(exports["SCIM_DATABASE_URL"].partition(":///")[2])
    assert database.name == "scim-server.db"
    assert not database.parent.exists(), "stopping the sandbox deletes its database"
