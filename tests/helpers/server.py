"""Run the real ``scim-server`` command, as an operator would, for end-to-end tests."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import nullcontext
from dataclasses import dataclass
from typing import IO

import httpx

STARTUP_SECONDS = 30


def free_port() -> int:
    """Return a TCP port nobody listens on, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Cli:
    """The ``scim-server`` command with one database."""

    database_url: str

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SCIM_DATABASE_URL": self.database_url}

    def run(self, *arguments: str) -> str:
        """Run a command to its end and return what it printed."""
        done = subprocess.run(
            [sys.executable, "-m", "scim_server", *arguments],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"scim-server {' '.join(arguments)}: {done.stderr}"
        return done.stdout

    @contextmanager
    def serve(self, *arguments: str, output: IO[str] | None = None) -> Iterator[str]:
        """Run ``scim-server serve`` on a free port; yield its URL once it answers.

        :param output: Where the server's output goes, for a test that reads what it printed.
        """
        port = free_port()
        # The log goes to a file: a pipe nobody reads would fill up and block the server.
        with tempfile.TemporaryFile("w+") if output is None else nullcontext(output) as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "scim_server", "serve", "--port", str(port), *arguments],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
            url = f"http://127.0.0.1:{port}"
            try:
                wait_until_up(url, process, log)
                yield url
            finally:
                process.terminate()
                process.wait(timeout=15)


def wait_until_up(url: str, process: subprocess.Popen[str], log: IO[str]) -> None:
    """Poll ``/healthz`` until the server answers; fail with its output if it dies."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise AssertionError(f"the server exited: {log.read()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"the server did not answer within {STARTUP_SECONDS} s")
