"""Translate SDK and httpx exceptions into the gateway's error tree (the one translation point).

``ApiError`` carries the status, the parsed body and lower-cased headers (auth0.md §6.4);
``ParsingError`` is not an ``ApiError`` and is caught separately; timeouts and network failures
come straight from httpx because the SDK's own retries are off.
"""

from collections.abc import Iterator
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
        wait = retry_after(error.headers or {}, now=now)
        return Auth0Unavailable(message, status=status, error_code=code, retry_after=wait)
    if status == 409:
        return Auth0Conflict(message, status=status, error_code=code)
    if status == 404:
        return Auth0NotFound(message, status=status, error_code=code)
    return Auth0Rejected(message, status=status, error_code=code)


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
