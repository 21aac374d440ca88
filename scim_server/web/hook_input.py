"""What the login hook accepts before it reads anything: its secret, its body's size and shape.

The hook is reachable from the internet (the Auth0 Action calls it), so its input is checked
before any work, and every refusal is a small JSON answer, never a 500 in plain text:

- the secret is compared in constant time on UTF-8 bytes, so a bearer token with characters
  beyond ASCII is a 401 like any wrong one (``hmac.compare_digest`` refuses non-ASCII ``str``);
- the body is at most :data:`HOOK_BODY_LIMIT` bytes (413): the Action posts five short fields;
- the body must be one JSON object (400), however it is malformed, nested thousands deep
  included, whose named fields are non-empty strings short enough to index and storable on
  every database (400).
"""

import hmac
import json
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from scim2_models import PayloadTooLargeException
from starlette.requests import Request
from starlette.responses import JSONResponse

from scim_server.protocol.storable import is_storable
from scim_server.storage.index_keys import MAX_KEY_LENGTH
from scim_server.web.scim import bearer_token
from scim_server.web.scim import read_body

HOOK_BODY_LIMIT = 16_384
"""Bytes a login may take: its fields are a user id, an email, an org id and name, a connection."""


class HookInputError(Exception):
    """A request the hook refuses, with its JSON answer."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body

    def response(self) -> JSONResponse:
        """Return the answer the caller gets."""
        return JSONResponse(dict(self.body), status_code=self.status)


def has_secret(headers: Mapping[str, str], secret: str) -> bool:
    """Tell whether a request carries the hook's secret, in constant time on bytes.

    >>> has_secret({"authorization": "Bearer s3cret"}, "s3cret")
    True
    >>> has_secret({"authorization": "Bearer sécret"}, "s3cret")
    False
    """
    return hmac.compare_digest(bearer_token(headers).encode(), secret.encode())


async def read_login(
    request: Request, *, required: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, Any]:
    """Return the login a request posts, once its size, JSON and fields check out.

    :param optional: Fields that may be missing or null, and are usable strings otherwise.
    :raises HookInputError: 413 when the body is too large, 400 when it is no JSON object or a
        field is not a usable string.
    """
    try:
        raw = await read_body(request, HOOK_BODY_LIMIT)
    except PayloadTooLargeException:
        raise HookInputError(413, {"error": "too_large", "limit": HOOK_BODY_LIMIT}) from None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        body = None
    if not (
        isinstance(body, dict)
        and all(_usable(body.get(name)) for name in required)
        and all(body.get(name) is None or _usable(body[name]) for name in optional)
    ):
        raise HookInputError(400, {"error": "invalid_body", "required": list(required)})
    return body


def _usable(value: Any) -> bool:
    r"""Tell whether a field is a string the link can look up and store on every database.

    >>> _usable("ann@acme.test"), _usable(""), _usable("a\x00"), _usable(7)
    (True, False, False, False)
    """
    return isinstance(value, str) and 0 < len(value) <= MAX_KEY_LENGTH and is_storable(value)
