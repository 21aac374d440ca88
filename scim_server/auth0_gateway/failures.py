"""Translate SDK and httpx exceptions into the gateway's error tree (the one translation point).

``ApiError`` carries the status, the parsed body and lower-cased headers (auth0.md §6.4);
``ParsingError`` is not an ``ApiError`` and is caught separately; timeouts and network failures
come straight from httpx because the SDK's own retries are off.
"""

from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager

import httpx
from auth0.management.core import ApiError
from auth0.management.core import ParsingError

from scim_server.auth0_gateway.clock import Clock
from scim_server.auth0_gateway.errors import Auth0Conflict
from scim_server.auth0_gateway.errors import Auth0Error
from scim_server.auth0_gateway.errors import Auth0NotFound
from scim_server.auth0_gateway.errors import Auth0Rejected
from scim_server.auth0_gateway.errors import Auth0Unavailable
from scim_server.auth0_gateway.limiter import retry_after


def from_api_error(operation: str, error: ApiError, *, now: float) -> Auth0Error:
    """Return our error for an SDK ``ApiError`` raised by ``operation``."""
    status = error.status_code or 0
    body = error.body if isinstance(error.body, dict) else {}
    code = body.get("errorCode")
    message = f"{operation}: {status} {body.get('message') or error.body or ''}".strip()
    if status == 429 or status >= 500 or status == 401:
        # 401 means our token expired or was rotated; the caller retries with a fresh one.
        wait = retry_wait(status, error.headers or {}, now=now)
        return Auth0Unavailable(message, status=status, error_code=code, retry_after=wait)
    if status == 409:
        return Auth0Conflict(message, status=status, error_code=code)
    if status == 404:
        return Auth0NotFound(message, status=status, error_code=code)
    return Auth0Rejected(message, status=status, error_code=code)


def retry_wait(status: int, headers: Mapping[str, str], *, now: float) -> float | None:
    """Return how long an answer with this status asks us to wait, if it says (see below)."""
    return retry_after(_wait_headers(status, headers), now=now)


def _wait_headers(status: int, headers: Mapping[str, str]) -> Mapping[str, str]:
    """Return the headers that may impose a wait after an answer with this status.

    ``X-RateLimit-Reset`` is when the rate-limit bucket refills (auth0.md §5.2): it says when to
    come back only after a 429. Every answer carries it, so taken after a 5xx or a 401 it would
    hold the retry for up to a minute; there only ``Retry-After`` counts, and without one the
    worker's backoff decides.

    >>> _wait_headers(503, {"x-ratelimit-reset": "9", "Retry-After": "2"})
    {'Retry-After': '2'}
    >>> _wait_headers(429, {"x-ratelimit-reset": "9"})
    {'x-ratelimit-reset': '9'}
    """
    if status == 429:
        return headers
    return {key: value for key, value in headers.items() if key.lower() == "retry-after"}


@contextmanager
def translated(operation: str, clock: Clock) -> Iterator[None]:
    """Run the body and let only :class:`Auth0Error` out of it.

    :raises Auth0Error: For every SDK or transport failure inside the block.
    """
    try:
        yield
    except Auth0Error:
        raise
    except ApiError as error:
        raise from_api_error(operation, error, now=clock.time()) from error
    except ParsingError as error:
        raise Auth0Error(
            f"{operation}: unreadable answer ({error.status_code})", status=error.status_code
        ) from error
    except httpx.TimeoutException as error:
        raise Auth0Unavailable(f"{operation}: timed out ({type(error).__name__})") from error
    except httpx.HTTPError as error:
        raise Auth0Unavailable(f"{operation}: {type(error).__name__}") from error
