"""The one place where exceptions become SCIM error responses (RFC 7644 §3.12)."""

import logging
from http import HTTPStatus

from scim2_models import Error
from scim2_models import SCIMException
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService

log = logging.getLogger("scim_server.web")


def error_response(service: ScimService, exception: Exception, *, request_id: str) -> ScimResponse:
    """Return the SCIM error response of an exception.

    A SCIM exception is the client's error and answers with its status and ``scimType``.
    Anything else is a bug: it is logged with its traceback and the request id, and the
    client gets a generic 500 carrying the request id, never the message or a traceback.
    """
    if isinstance(exception, SCIMException):
        log.info("request %s: %s %s", request_id, exception.status, exception.detail)
        return service.error_response(exception)
    log.exception("request %s failed", request_id, exc_info=exception)
    error = Error(status=500, detail=f"Internal server error (request id {request_id})")
    return ScimResponse(HTTPStatus.INTERNAL_SERVER_ERROR, error.model_dump())
