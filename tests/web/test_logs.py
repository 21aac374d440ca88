"""Process logs: one JSON object per line, request id and organization on each, no secret."""

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scim_server.storage.resources import SqlScimStorage
from scim_server.web.logs import Completed
from scim_server.web.logs import RequestMiddleware
from scim_server.web.logs import logging_config
from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio

PASSWORD = "Sup3r-Secret-Pa55!"


class Captured:
    """What the process logged, through the configuration ``serve`` gives uvicorn."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]

    def where(self, **fields: Any) -> list[dict[str, Any]]:
        return [line for line in self.lines() if fields.items() <= line.items()]


def configured(log_format: str) -> Iterator[Captured]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    logging.config.dictConfig(logging_config(log_format=log_format, level="info", stream=stream))
    try:
        yield Captured(stream)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


@pytest.fixture
def logs() -> Iterator[Captured]:
    yield from configured("json")


@pytest.fixture
def text_logs() -> Iterator[Captured]:
    yield from configured("text")


def new_user(email: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "password": PASSWORD,
        "emails": [{"value": email, "primary": True}],
    }


async def test_the_access_log_is_one_json_object_per_request_with_its_id_and_organization(
    client: httpx.AsyncClient, acme: Tenant, logs: Captured
) -> None:
    response = await client.post(
        f"{acme.base}/Users",
        json=new_user("ada@acme.example"),
        headers={**acme.headers, "X-Request-Id": "req-7", "User-Agent": "Okta SCIM Client 1.0.0"},
    )

    assert response.headers["x-request-id"] == "req-7"
    (access,) = logs.where(logger="scim_server.access")
    assert access["level"] == "INFO"
    assert access["message"].startswith("POST /scim/v2/acme/Users 201 ")
    assert {k: access[k] for k in ("method", "path", "status", "request_id", "org")} == {
        "method": "POST",
        "path": "/scim/v2/acme/Users",
        "status": 201,
        "request_id": "req-7",
        "org": "acme",
    }
    assert access["user_agent"] == "Okta SCIM Client 1.0.0"
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    assert access["time"].endswith("Z")


async def test_records_logged_while_serving_a_request_carry_its_id_and_organization(
    client: httpx.AsyncClient, acme: Tenant, logs: Captured
) -> None:
    await client.get(f"{acme.base}/Users/nobody", headers={**acme.headers, "X-Request-Id": "r-9"})

    from_the_app = [
        line
        for line in logs.lines()
        if line["logger"].startswith("scim_server.") and line["logger"] != "scim_server.access"
    ]
    assert from_the_app, "the 404 is logged by web/errors.py"
    assert all(line["request_id"] == "r-9" and line["org"] == "acme" for line in from_the_app)


async def test_a_request_without_a_usable_id_gets_a_new_one_and_no_organization(
    client: httpx.AsyncClient, logs: Captured
) -> None:
    response = await client.get(
        "/scim/v2/acme/Users", headers={"X-Request-Id": "two words", "Authorization": "Bearer x"}
    )

    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32 and request_id != "two words"
    (access,) = logs.where(logger="scim_server.access")
    assert access["request_id"] == request_id and access["status"] == 401
    assert "org" not in access  # the token was refused: no organization is named


async def test_probes_are_answered_with_a_request_id_but_not_logged_at_info(
    client: httpx.AsyncClient, logs: Captured
) -> None:
    response = await client.get("/healthz")

    assert len(response.headers["x-request-id"]) == 32
    assert logs.where(logger="scim_server.access") == []


async def test_no_token_or_password_reaches_the_logs_even_from_a_failure(
    client: httpx.AsyncClient,
    acme: Tenant,
    logs: Captured,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"search failed for Bearer {acme.token} with password={PASSWORD}")

    created = await client.post(
        f"{acme.base}/Users", json=new_user("ada@acme.example"), headers=acme.headers
    )
    assert created.status_code == 201
    monkeypatch.setattr(SqlScimStorage, "search", explode)
    failed = await client.get(f"{acme.base}/Users", headers=acme.headers)
    assert failed.status_code == 500
    logging.getLogger("scim_server.test").warning("token %s leaked?", acme.token)

    assert acme.token not in logs.text and acme.token[5:] not in logs.text
    assert PASSWORD not in logs.text
    (failure,) = logs.where(level="ERROR")
    assert "RuntimeError: search failed for Bearer [redacted]" in failure["error"]
    assert "password=[redacted]" in failure["error"]
    (warning,) = logs.where(logger="scim_server.test")
    assert warning["message"] == "token scim_[redacted] leaked?"


async def test_the_text_format_is_one_readable_line_with_the_request_id_and_organization(
    client: httpx.AsyncClient, acme: Tenant, text_logs: Captured
) -> None:
    await client.get(f"{acme.base}/Users", headers={**acme.headers, "X-Request-Id": "req-3"})

    (line,) = [line for line in text_logs.text.splitlines() if "scim_server.access" in line]
    assert " INFO    scim_server.access [req-3 acme] GET /scim/v2/acme/Users 200 " in line
    assert line.endswith("ms")


def test_uvicorns_own_records_go_through_the_same_handler(logs: Captured) -> None:
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)

    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on %s", "http://x", extra={"color_message": "Uvicorn running on \x1b[1m%s"}
    )

    started, running = logs.where(logger="uvicorn.error")
    assert started["message"] == "Started server process [42]" and started["level"] == "INFO"
    assert "color_message" not in running
    assert "request_id" not in started  # outside any request


def test_libraries_that_log_every_call_speak_only_from_warning_up(logs: Captured) -> None:
    logging.getLogger("httpx").info("HTTP Request: GET https://tenant/api/v2/users/auth0|1")
    logging.getLogger("httpx").warning("connection pool full")

    assert [line["message"] for line in logs.where(logger="httpx")] == ["connection pool full"]


async def test_a_request_that_raises_is_logged_as_a_500_and_the_error_goes_on(
    logs: Captured,
) -> None:
    observed: list[Completed] = []

    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug")

    app = Starlette(
        routes=[Route("/broken", broken)],
        middleware=[Middleware(RequestMiddleware, observe=observed.append)],
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/broken", headers={"X-Request-Id": "req-500"})

    assert response.status_code == 500  # Starlette's own error page, outside our middleware
    (access,) = logs.where(logger="scim_server.access")
    assert access["status"] == 500 and access["request_id"] == "req-500"
    assert [(done.status, done.context.request_id) for done in observed] == [(500, "req-500")]
