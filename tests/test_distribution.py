"""What ships the server: the lock files, the image's entrypoint and build context, compose.yaml.

Docker cannot run where the tests run, so each piece is checked on its own: the locks cover
every dependency, the entrypoint script's steps run here for real (as root: ownership, dropped
privileges, migrate before serve), the Dockerfile copies only what its context holds, and every
command compose.yaml runs is one the CLI accepts.
"""

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from importlib.metadata import requires
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from scim_server.cli import main

ROOT = Path(__file__).parent.parent
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


def locked(lock: str) -> dict[str, int]:
    """Return the packages a lock pins, each with its number of hashes."""
    text = (ROOT / "requirements" / lock).read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==\S+(.*?)(?=^\S|\Z)", text, flags=re.M | re.S)
    return {canonicalize_name(name): body.count("--hash=sha256:") for name, body in pins}


def dependencies(extra: str | None) -> set[str]:
    """Return the names of the project's dependencies, with those of one extra."""
    names = set()
    for line in requires("scim-server") or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or (extra is not None and marker.evaluate({"extra": extra})):
            names.add(canonicalize_name(requirement.name))
    return names


@pytest.mark.parametrize(("lock", "extra"), [("runtime.lock", None), ("test.lock", "test")])
def test_a_lock_pins_every_dependency_with_hashes(lock: str, extra: str | None) -> None:
    """A dependency added to pyproject.toml without ``requirements/compile`` fails here."""
    pins = locked(lock)

    assert dependencies(extra) - pins.keys() == set()
    assert all(count >= 1 for count in pins.values())


def test_the_build_lock_pins_the_build_backend() -> None:
    assert "hatchling" in locked("build.lock")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory owned by root, where ``nobody`` can reach it (not under pytest's tmp)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("the entrypoint drops privileges only when started as root, with setpriv")
    directory = Path(tempfile.mkdtemp(prefix="scim-data-"))
    directory.chmod(0o755)
    (directory / "scim-server.db").write_text("")
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


def run_entrypoint(data_dir: Path, *arguments: str) -> list[str]:
    """Run the entrypoint with a ``scim-server`` that records who ran it, and with what."""
    bin_dir = data_dir / "bin"
    bin_dir.mkdir(mode=0o755, exist_ok=True)
    fake = bin_dir / "scim-server"
    fake.write_text('#!/bin/sh\necho "$(id -un) $*" >> "$SCIM_DATA_DIR/calls"\n')
    fake.chmod(0o755)
    entrypoint = bin_dir / "entrypoint.sh"
    shutil.copy(ENTRYPOINT, entrypoint)
    env = {
        "PATH": f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin",
        "SCIM_DATA_DIR": str(data_dir),
        "SCIM_USER": "nobody",
    }
    done = subprocess.run(
        [str(entrypoint), *arguments], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return (data_dir / "calls").read_text().splitlines()


def test_the_entrypoint_gives_a_root_owned_data_dir_to_its_user_then_migrates_and_serves(
    data_dir: Path,
) -> None:
    calls = run_entrypoint(data_dir, "serve", "--host", "0.0.0.0")

    assert calls == ["nobody migrate", "nobody serve --host 0.0.0.0"]
    assert {path.owner() for path in [data_dir, *data_dir.rglob("*")]} == {"nobody"}


def test_the_entrypoint_runs_other_commands_as_given(data_dir: Path) -> None:
    calls = run_entrypoint(data_dir, "token", "issue", "acme", "--name", "okta")

    assert calls == ["nobody token issue acme --name okta"]


def dockerfile_copies() -> list[str]:
    """Return the sources of the Dockerfile's COPY instructions that read the build context."""
    sources = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not words[1].startswith("--from"):
            sources += words[1:-1]
    return sources


def test_the_dockerfile_copies_only_what_the_build_context_keeps() -> None:
    """.dockerignore drops everything it does not name; a COPY of anything else fails the build."""
    kept = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    sources = dockerfile_copies()

    assert {"docker/entrypoint.sh", "requirements/runtime.lock", "scim_server"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), source
        assert any(
            source == keep or source.startswith(f"{keep}/") or Path(source).match(keep)
            for keep in kept
        ), source


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def parse(arguments: list[str]) -> click.Context:
    """Parse a ``scim-server`` command line as the CLI would, without running it.

    :raises click.UsageError: When a command, an option or a value is not the CLI's.
    """
    command: click.Command = main
    context = click.Context(main, info_name="scim-server")
    while isinstance(command, click.Group):
        name, found, arguments = command.resolve_command(context, arguments)
        assert name is not None and found is not None
        command = found
        context = click.Context(command, info_name=name, parent=context)
    return command.make_context(context.info_name, arguments, parent=context.parent)


def test_compose_runs_postgresql_serve_and_a_separate_worker_from_the_image() -> None:
    services = compose()["services"]

    assert services["db"]["image"].startswith("postgres:15")
    assert services["serve"]["build"] == "."
    assert services["worker"]["image"] == services["serve"]["image"]
    database = {
        s["environment"]["SCIM_DATABASE_URL"] for s in (services["serve"], services["worker"])
    }
    assert database == {"postgresql://scim:${POSTGRES_PASSWORD:-scim}@db:5432/scim"}
    assert parse(services["serve"]["command"]).info_name == "serve"
    worker = parse(services["worker"]["command"])
    assert (worker.info_name, worker.params["metrics_port"]) == ("worker", 9100)


def test_the_commands_compose_and_the_readme_document_are_the_clis() -> None:
    """The ``docker compose run --rm serve ...`` lines of compose.yaml and the README parse."""
    text = (ROOT / "compose.yaml").read_text() + (ROOT / "README.md").read_text()
    lines = re.findall(r"docker compose run --rm serve (.+)", text)

    assert {line.split()[0] for line in lines} >= {"org", "token"}
    for line in lines:
        command = line.split("#")[0].split("|")[0].rstrip(")").split()
        parse(command)
