"""Route Management API requests on the raw path, then percent-decode the ids.

The SDK quotes every path segment with ``quote(id, safe="")``, so ``auth0|abc`` arrives as
``auth0%7Cabc`` and an id holding ``/`` arrives as ``%2F`` (auth0.md §2). Routing on the decoded path
would split such an id in two, so patterns match the raw path and each captured segment is decoded
afterwards.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.datastructures import QueryParams

from scim_server.sandbox import errors
from scim_server.sandbox.tenant import Tenant


@dataclass(frozen=True)
class Call:
    """What a handler sees: decoded path parameters, query, parsed body and the tenant."""

    tenant: Tenant
    params: dict[str, str]
    query: QueryParams
    body: Any

    def payload(self) -> dict[str, Any]:
        """Return the body as a JSON object, or raise Auth0's 400 ``invalid_body``."""
        if not isinstance(self.body, dict):
            found = "null" if self.body is None else type(self.body).__name__
            raise errors.invalid_body(f"Expected type object but found type {found}")
        return self.body

    def flag(self, name: str, default: bool = False) -> bool:
        """Return a boolean query parameter (``true``/``false``)."""
        value = self.query.get(name)
        return default if value is None else value.lower() == "true"

    def number(self, name: str, default: int, *, low: int, high: int) -> int:
        """Return an integer query parameter, or raise Auth0's 400 ``invalid_query_string``."""
        value = self.query.get(name)
        if value is None or value == "":
            return default
        if not value.isdigit() or not low <= int(value) <= high:
            raise errors.ManagementError(
                400,
                f"Query validation error: '{name}' must be an integer from {low} to {high}.",
                "invalid_query_string",
            )
        return int(value)


@dataclass(frozen=True)
class Reply:
    """A handler's answer: a status and a JSON body (``None`` sends no body, as for 204)."""

    status: int
    body: Any = None


Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Endpoint:
    """One Management API operation: its method, path pattern, name and handler.

    The name (``users.create``, ``organizations.members.list``…) keys fault injection and the call
    log, so tests can say "fail the next user create" without spelling a path. ``scope``, when
    set, is the one the bearer token must grant (else 403 ``insufficient_scope``).
    """

    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Handler
    scope: str | None = None


def endpoint(
    method: str, template: str, name: str, handler: Handler, scope: str | None = None
) -> Endpoint:
    """Build an endpoint from a template such as ``/api/v2/users/{id}/organizations``."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Endpoint(method, re.compile(f"^{regex}$"), name, handler, scope)


class Router:
    """Finds the endpoint for a method and raw path."""

    def __init__(self, endpoints: list[Endpoint]) -> None:
        self._endpoints = endpoints

    def match(self, method: str, raw_path: str) -> tuple[Endpoint, dict[str, str]] | None:
        """Return the endpoint and its decoded parameters, or ``None`` when nothing matches.

        A path that matches with another method is not distinguished from an unknown path: both
        are answered 404 by the caller, which is what Auth0 does for unknown routes.
        """
        for candidate in self._endpoints:
            if candidate.method != method:
                continue
            found = candidate.pattern.match(raw_path)
            if found:
                return candidate, {k: unquote(v) for k, v in found.groupdict().items()}
        return None
