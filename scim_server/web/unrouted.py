"""Answers for requests no route serves: under ``/scim/v2/`` they are SCIM errors too.

Starlette answers a path no route matches with 404 and a method a route does not allow with
405, both in plain text. An IdP reads every answer under its SCIM base URL as RFC 7644 §3.12
requires, so there they become SCIM Error bodies in ``application/scim+json``; under
``/admin/api/`` JSON ``{"error": ...}`` as every admin API answer; elsewhere Starlette's own.
A path such as ``/scim/v2/acme/Users/a%0Ab`` gets here: a route's ``{path:path}`` never
matches a line break.
"""

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import PlainTextResponse
from starlette.responses import Response

from scim_server.web.errors import scim_error

SCIM_ROOT = "/scim/v2"
ADMIN_API_ROOT = "/admin/api"


async def unrouted(request: Request, exception: Exception) -> Response:
    """Answer a 404 or 405 raised by the router in the form of the API the path belongs to."""
    assert isinstance(exception, HTTPException)
    status, headers = exception.status_code, dict(exception.headers or {})
    path = request.url.path
    if _under(path, SCIM_ROOT):
        return scim_error(status, _detail(status, request.method), headers)
    if _under(path, ADMIN_API_ROOT):
        return JSONResponse({"error": _detail(status, request.method)}, status, headers=headers)
    return PlainTextResponse(exception.detail, status, headers=headers)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def _detail(status: int, method: str) -> str:
    """Say what went wrong, as a SCIM ``detail``.

    >>> _detail(405, "OPTIONS")
    'The method OPTIONS is not allowed here'
    """
    return f"The method {method} is not allowed here" if status == 405 else "No such endpoint"
