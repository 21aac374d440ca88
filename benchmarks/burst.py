"""Burst benchmark of issue 3: 200 joiners at 5 rps with 20% injected 503s converge exactly.

Run from the repository root:

    .venv/bin/python benchmarks/burst.py                      # 200 joiners, 5 rps, 20% 503s
    .venv/bin/python benchmarks/burst.py --joiners 50 --rps 20 --failure-rate 0.3

Everything runs as an operator would run it, in separate processes talking HTTP on 127.0.0.1:

1. the Auth0 emulator on its own (``python -m scim_server.sandbox --rps 5``), given the roles
   the ``okta`` profile grants and a fault answering 503 to a fifth of Management API calls
   (``POST /__emulator__/faults``);
2. a fresh SQLite database, ``scim-server migrate``, ``org add``, ``token issue``;
3. the real server, ``scim-server serve``, pointed at the emulator by ``AUTH0_MANAGEMENT_URL``,
   ``AUTH0_DOMAIN``, ``AUTH0_CLIENT_ID``, ``AUTH0_CLIENT_SECRET`` and ``AUTH0_MAX_RPS``, with
   its worker on.

It POSTs ``--joiners`` users as Okta does, then a group ``org_admin`` and one PATCH adding a
quarter of them (the profile maps that group to the role of the same name), and waits, bounded
by ``--timeout``, until the server's queue is empty and the emulator's state is right. Then it
checks, and prints: exactly one Auth0 user per joiner (no duplicate email), every one a member
of the organization, each with ``org_member`` and the PATCHed ones also ``org_admin``; the
Management API calls, the 503s and 429s seen, and the time from the first POST to convergence.
``--results FILE`` appends the numbers as a Markdown section.
"""

import argparse
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import IO
from typing import Any

import httpx

CONNECTION = "Username-Password-Authentication"
ORG = "acme"
CLIENT_ID = "burst-benchmark"
SCIM = "application/scim+json"
STARTUP_SECONDS = 30
ROLES = ("org_member", "org_admin", "org_billing")


def free_port() -> int:
    """Return a TCP port nobody listens on, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def process(
    command: list[str], env: dict[str, str], log: IO[str]
) -> Iterator[subprocess.Popen[str]]:
    """Run a process for the duration of the block, its output going to ``log``."""
    child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def wait_until_up(url: str, child: subprocess.Popen[str], log: IO[str]) -> None:
    """Poll ``url`` until it answers 200; fail with the process's output if it dies or hangs."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if child.poll() is not None:
            log.seek(0)
            raise SystemExit(f"{child.args!r} exited:\n{log.read()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {STARTUP_SECONDS} s")


def scim_server(env: dict[str, str], *arguments: str) -> str:
    """Run one ``scim-server`` command to its end and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "scim_server", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"scim-server {' '.join(arguments)} failed:\n{done.stderr}")
    return done.stdout


def joiner(n: int) -> dict[str, Any]:
    """Return the POST /Users body Okta sends for joiner ``n``."""
    email = f"joiner{n:04d}@burst.test"
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "externalId": f"00u{n:06d}",
        "name": {"givenName": f"Joiner{n}", "familyName": "Burst"},
        "displayName": f"Joiner{n} Burst",
        "emails": [{"value": email, "primary": True, "type": "work"}],
        "active": True,
    }


@dataclass
class Outcome:
    """What the emulator and the server's database hold at the end, and what it cost."""

    joiners: int
    admins: int
    users: int
    duplicates: int
    members: int
    wrong_roles: list[str]
    calls: Counter[str]
    unavailable: Counter[str]
    """The 503s per endpoint."""
    statuses: Counter[int]
    pending_tasks: int
    link_states: Counter[str]
    elapsed: float
    converged: bool

    @property
    def api_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def correct(self) -> bool:
        return (
            self.converged
            and self.users == self.joiners
            and self.duplicates == 0
            and self.members == self.joiners
            and not self.wrong_roles
            and self.pending_tasks == 0
            and self.link_states == Counter({"synced": self.joiners})
        )


def expected_roles(n: int, admins: int) -> list[str]:
    """Return the roles joiner ``n`` should end with (sorted)."""
    return ["org_admin", "org_member"] if n < admins else ["org_member"]


def observe(
    emulator: httpx.Client, database: Path, *, joiners: int, admins: int
) -> tuple[int, int, int, list[str], int, Counter[str]]:
    """Read the emulator's state and the server's queue: users, duplicates, members, roles, tasks."""
    state = emulator.get("/__emulator__/state").json()
    [org] = [o for o in state["organizations"].values() if o["name"] == ORG]
    by_email = Counter(u.get("email") for u in state["users"].values())
    members = set(state["members"].get(org["id"], []))
    roles = state["member_roles"].get(org["id"], {})
    ids = {u["email"]: u["user_id"] for u in state["users"].values()}
    wrong = []
    for n in range(joiners):
        email = joiner(n)["userName"]
        got = roles.get(ids.get(email, ""), [])
        if got != expected_roles(n, admins):
            wrong.append(f"{email}: {got}")
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        [(pending,)] = connection.execute("SELECT count(*) FROM sync_task").fetchall()
        states = Counter(
            dict(connection.execute("SELECT state, count(*) FROM identity_link GROUP BY state"))
        )
    duplicates = sum(count - 1 for count in by_email.values() if count > 1)
    return len(state["users"]), duplicates, len(members), wrong, pending, states


def run(args: argparse.Namespace) -> Outcome:
    """Start the emulator and the server, send the burst, wait for convergence, and look."""
    workdir = Path(tempfile.mkdtemp(prefix="scim-burst-"))
    database = workdir / "scim-server.db"
    emulator_port, server_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    server_url = f"http://127.0.0.1:{server_port}"
    secret = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "SCIM_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "AUTH0_MANAGEMENT_URL": emulator_url,
        "AUTH0_DOMAIN": f"127.0.0.1:{emulator_port}",
        "AUTH0_CLIENT_ID": CLIENT_ID,
        "AUTH0_CLIENT_SECRET": secret,
        "AUTH0_MAX_RPS": str(args.rps),
    }
    admins = args.joiners // 4
    emulator_command = [
        sys.executable, "-m", "scim_server.sandbox", "--port", str(emulator_port),
        "--rps", str(args.rps), "--client-id", CLIENT_ID, f"--client-secret={secret}",
    ]  # fmt: skip
    with (
        open(workdir / "emulator.log", "w+") as emulator_log,
        open(workdir / "server.log", "w+") as server_log,
        process(emulator_command, env, emulator_log) as emulator_process,
        httpx.Client(base_url=emulator_url, timeout=10) as emulator,
    ):
        wait_until_up(f"{emulator_url}/__emulator__/state", emulator_process, emulator_log)
        emulator.post("/__emulator__/seed", json={"roles": [{"name": r} for r in ROLES]})
        scim_server(env, "migrate")
        scim_server(
            env, "org", "add", ORG, "--auth0-org", ORG, "--connection", CONNECTION,
            "--profile", "okta",
        )  # fmt: skip
        token = scim_server(env, "token", "issue", ORG).splitlines()[-1]
        fault = {"endpoint": "*", "status": 503, "times": None, "probability": args.failure_rate}
        emulator.post("/__emulator__/faults", json=fault).raise_for_status()
        serve_command = [sys.executable, "-m", "scim_server", "serve", "--port", str(server_port)]
        with process(serve_command, env, server_log) as server_process:
            wait_until_up(f"{server_url}/healthz", server_process, server_log)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM}
            started = time.monotonic()
            with httpx.Client(base_url=server_url, headers=headers, timeout=30) as scim:
                ids = []
                for n in range(args.joiners):
                    created = scim.post(f"/scim/v2/{ORG}/Users", json=joiner(n))
                    assert created.status_code == 201, created.text
                    ids.append(created.json()["id"])
                group = scim.post(
                    f"/scim/v2/{ORG}/Groups",
                    json={
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "org_admin",
                    },
                )
                assert group.status_code == 201, group.text
                patched = scim.patch(
                    f"/scim/v2/{ORG}/Groups/{group.json()['id']}",
                    json={
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [
                            {
                                "op": "add",
                                "path": "members",
                                "value": [{"value": i} for i in ids[:admins]],
                            }
                        ],
                    },
                )
                assert patched.status_code in (200, 204), patched.text
            sent = time.monotonic() - started
            print(f"Sent {args.joiners} POST /Users and 1 group PATCH in {sent:.1f} s; waiting…")
            converged = False
            deadline = started + args.timeout
            last_report = 0.0
            while time.monotonic() < deadline:
                seen = observe(emulator, database, joiners=args.joiners, admins=admins)
                users, duplicates, members, wrong, pending, states = seen
                if pending == 0 and members == args.joiners and not wrong:
                    converged = True
                    break
                if time.monotonic() - last_report > 10:
                    last_report = time.monotonic()
                    print(
                        f"  {time.monotonic() - started:5.0f} s: {users} users, {members} members, "
                        f"{args.joiners - len(wrong)} with the right roles, {pending} tasks queued"
                    )
                time.sleep(0.5)
            elapsed = time.monotonic() - started
        emulator.delete("/__emulator__/faults")
        users, duplicates, members, wrong, pending, states = observe(
            emulator, database, joiners=args.joiners, admins=admins
        )
        records = emulator.get("/__emulator__/calls").json()
    management = [r for r in records if r["endpoint"] != "oauth.token"]
    return Outcome(
        joiners=args.joiners,
        admins=admins,
        users=users,
        duplicates=duplicates,
        members=members,
        wrong_roles=wrong,
        calls=Counter(r["endpoint"] for r in management),
        unavailable=Counter(r["endpoint"] for r in management if r["status"] == 503),
        statuses=Counter(r["status"] for r in management),
        pending_tasks=pending,
        link_states=states,
        elapsed=elapsed,
        converged=converged,
    )


def report(outcome: Outcome, args: argparse.Namespace) -> str:
    """Return the results as Markdown."""
    ok = sum(n for status, n in outcome.statuses.items() if status < 400)
    lines = [
        f"## Burst: {outcome.joiners} joiners, {args.rps:g} rps, "
        f"{args.failure_rate:.0%} injected 503s ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"- Converged: **{'yes' if outcome.correct else 'NO'}** in {outcome.elapsed:.1f} s "
        f"(first POST to the last role in Auth0; bound {args.timeout:g} s)",
        f"- Auth0 users: {outcome.users} (expected {outcome.joiners}), "
        f"duplicate emails: {outcome.duplicates}",
        f"- Organization members: {outcome.members} (expected {outcome.joiners})",
        f"- Roles: {outcome.joiners - len(outcome.wrong_roles)} of {outcome.joiners} right "
        f"({outcome.admins} with org_admin + org_member through the group PATCH, the others "
        "org_member)",
        f"- Identity links: {dict(outcome.link_states)}; sync tasks left: {outcome.pending_tasks}",
        f"- Management API calls: {outcome.api_calls} ({ok} succeeded, "
        f"{outcome.statuses.get(503, 0)} answered 503, {outcome.statuses.get(429, 0)} answered "
        f"429); {outcome.api_calls / outcome.joiners:.2f} per joiner; "
        f"{outcome.api_calls / outcome.elapsed:.2f} per second",
        "",
        "| Endpoint | Calls | of which 503 |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {endpoint} | {count} | {outcome.unavailable[endpoint]} |"
        for endpoint, count in sorted(outcome.calls.items())
    ]
    if outcome.wrong_roles:
        lines += ["", "Wrong roles (first 10):", *(f"- {w}" for w in outcome.wrong_roles[:10])]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joiners", type=int, default=200)
    parser.add_argument("--rps", type=float, default=5.0, help="emulator rate and AUTH0_MAX_RPS")
    parser.add_argument("--failure-rate", type=float, default=0.2, help="share of 503s")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to converge")
    parser.add_argument("--results", type=Path, help="append the Markdown results to this file")
    args = parser.parse_args()
    outcome = run(args)
    text = report(outcome, args)
    print(text)
    if args.results:
        with args.results.open("a") as results:
            results.write("\n" + text)
    if not outcome.correct:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
