"""The one place where exceptions become SCIM error responses (RFC 7644 §3.12)."""

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus

from scim2_models import Error
from scim2_models import SCIMException
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService
from starlette.responses import Response

log = logging.getLogger("scim_server.web")

SCIM_MEDIA_TYPE = "application/scim+json"


class TooManyRequestsException(SCIMException):
    """A client over its request limit (``web/rate_limits.py``): 429, no scimType (RFC 6585 §4).

    :param retry_after: Whole seconds until a request is accepted again, sent as ``Retry-After``.
    """

    status = 429
    _default_detail = "Too many requests"

    def __init__(self, *, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail=detail)
        self.retry_after = retry_after


def error_response(service: ScimService, exception: Exception, *, request_id: str) -> ScimResponse:
    """Return the SCIM error response of an exception.

    A SCIM exception is the client's error and answers with its status and ``scimType``.
    Anything else is a bug: it is logged with its traceback and the request id, and the
    client gets a generic 500 carrying the request id, never the message or a traceback.
    """
    if isinstance(exception, SCIMException):
        log.info("request %s: %s %s", request_id, exception.status, exception.detail)
        response = service.error_response(exception)
        if isinstance(exception, TooManyRequestsException):
            response.headers["Retry-After"] = str(exception.retry_after)
        return response
    log.exception("request %s failed", request_id, exc_info=exception)
    error = Error(status=500, detail=f"Internal server error (request id {request_id})")
    return ScimResponse(HTTPStatus.INTERNAL_SERVER_ERROR, error.model_dump())


def scim_error(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    """Return a SCIM Error answer made outside a SCIM service (routing, throttling)."""
    body = json.dumps(Error(status=status, detail=detail).model_dump())
    return Response(body, status, headers=dict(headers or {}), media_type=SCIM_MEDIA_TYPE)
