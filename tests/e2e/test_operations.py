"""``scim-server serve`` as operators run it: probes, a Prometheus scrape, JSON logs without secrets."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.server import Cli
from tests.helpers.server import free_port
from tests.helpers.server import wait_until_up

pytestmark = pytest.mark.e2e

PASSWORD = "Okta-Sent-This-1!"
APPLIED_WITHIN = 20.0


def samples(exposition: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {
        frozenset(sample.labels.items()): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name
    }


def scrape_until_provisioned(http: httpx.Client) -> str:
    """Scrape until the worker has emptied the queue (it runs in the server, a moment later)."""
    deadline = time.monotonic() + APPLIED_WITHIN
    while True:
        exposition = http.get("/metrics").text
        depth = samples(exposition, "scim_server_sync_queue_depth")
        if depth == {frozenset(): 0.0} or time.monotonic() > deadline:
            return exposition
        time.sleep(0.1)


def test_serve_answers_probes_scrapes_and_logs_json_without_secrets(tmp_path: Path) -> None:
    cli = Cli(f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "stderr.log").open("w+") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "scim_server", "serve", "--sandbox", "--port", str(port)],
            env={**cli.env, "SCIM_LOG_FORMAT": "json"},
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
        try:
            wait_until_up(url, server, log)
            token = cli.run("token", "issue", "acme", "--name", "okta").splitlines()[-1]
            with httpx.Client(base_url=url, timeout=10) as http:
                created = http.post(
                    "/scim/v2/acme/Users",
                    headers={"Authorization": f"Bearer {token}", "User-Agent": "Okta SCIM"},
                    json={
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": "ann@acme.test",
                        "externalId": "00u1",
                        "password": PASSWORD,
                        "emails": [{"value": "ann@acme.test", "primary": True}],
                        "active": True,
                    },
                )
                assert created.status_code == 201, created.text
                ready = http.get("/readyz")
                exposition = scrape_until_provisioned(http)
        finally:
            server.terminate()
            server.wait(timeout=15)
        log.seek(0)
        # The sandbox's banner comes first, ending with a blank line; then only JSON.
        printed = log.read().splitlines()
        banner_end = printed.index("", printed.index(next(p for p in printed if "export " in p)))
        lines: list[dict[str, Any]] = [json.loads(line) for line in printed[banner_end + 1 :]]

    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    requests = samples(exposition, "scim_server_http_requests_total")
    key = {("org", "acme"), ("route", "Users"), ("method", "POST"), ("status", "201")}
    assert requests[frozenset(key)] == 1
    assert samples(exposition, "scim_server_sync_queue_depth") == {frozenset(): 0.0}
    members = {("endpoint", "/api/v2/organizations/{id}/members"), ("method", "POST")}
    assert (
        samples(exposition, "scim_server_auth0_requests_total")[
            frozenset({*members, ("status", "204")})
        ]
        == 1
    )

    (access,) = [line for line in lines if line.get("path") == "/scim/v2/acme/Users"]
    assert access["logger"] == "scim_server.access" and access["status"] == 201
    assert access["org"] == "acme" and access["request_id"] == created.headers["x-request-id"]
    assert access["user_agent"] == "Okta SCIM"
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # uvicorn's own, as JSON
    everything = json.dumps(lines)
    assert token not in everything and token[5:] not in everything
    assert PASSWORD not in everything


def worker_command(cli: Cli, port: int) -> tuple[list[str], dict[str, str]]:
    """``scim-server worker --metrics-port``, with Auth0 credentials it never needs to use."""
    env = {
        **cli.env,
        "AUTH0_MANAGEMENT_URL": "http://127.0.0.1:9",
        "AUTH0_CLIENT_ID": "id",
        "AUTH0_CLIENT_SECRET": "not-used",
    }
    command = [sys.executable, "-m", "scim_server", "worker", "--metrics-port", str(port)]
    return command, env


def test_a_worker_alone_serves_its_metrics_on_its_own_port(tmp_path: Path) -> None:
    cli = Cli(f"sqlite+aiosqlite:///{tmp_path / 'worker.db'}")
    cli.run("migrate")
    port = free_port()
    command, env = worker_command(cli, port)
    with (tmp_path / "worker.log").open("w+") as log:
        worker = subprocess.Popen(command, env=env, stdout=log, stderr=log, text=True)
        try:
            deadline = time.monotonic() + 30
            while True:
                assert worker.poll() is None, log.read()
                try:
                    scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "no metrics within 30 s"
                    time.sleep(0.1)
        finally:
            worker.terminate()
            worker.wait(timeout=15)

    assert scraped.status_code == 200
    assert samples(scraped.text, "scim_server_sync_retries_total") == {
        frozenset({("reason", reason)}): 0.0 for reason in ("unavailable", "refused", "internal")
    }
    assert "# TYPE scim_server_auth0_requests_total counter" in scraped.text
    assert samples(scraped.text, "process_open_fds")


def test_a_worker_whose_metrics_port_is_taken_says_so_in_one_line(tmp_path: Path) -> None:
    cli = Cli(f"sqlite+aiosqlite:///{tmp_path / 'worker.db'}")
    cli.run("migrate")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command, env = worker_command(cli, port)
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"Error: Cannot serve metrics on 127.0.0.1:{port}: Address already in use"
    )
