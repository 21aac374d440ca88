"""The gateway's error tree: the only exceptions that leave ``auth0_gateway`` (STYLE.md, Errors).

::

    Auth0Error                 anything Auth0 did not do for us
      ├ Auth0Unavailable       429 / 5xx / timeout / network; carries retry_after  → retry later
      └ Auth0Rejected          4xx                                                 → record and stop
          ├ Auth0Conflict      409: already exists, too many roles                 → look up, then decide
          └ Auth0NotFound      404: no such user, organization, role, invitation
              └ Auth0ScimUnsupported  404 "This connection type does not support SCIM"

A bare :class:`Auth0Error` means Auth0 answered 2xx with a body the SDK could not read (an API
change, or an emulator bug); treat it like :class:`Auth0Rejected`. SDK exceptions (``ApiError``,
``ParsingError``) and httpx errors never escape: :mod:`scim_server.auth0_gateway.failures`
translates them.
"""


class Auth0Error(Exception):
    """Auth0 did not do what the gateway asked.

    :param message: What was asked and what Auth0 answered.
    :param status: The HTTP status, when there was an answer.
    :param error_code: Auth0's ``errorCode`` (``inexistent_user``, ``auth0_idp_error``…), if any.
    """

    def __init__(
        self, message: str, *, status: int | None = None, error_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class Auth0Unavailable(Auth0Error):
    """Auth0 could not answer now (429, 5xx, timeout, network); the same call may succeed later.

    :param retry_after: Seconds Auth0 asked us to wait (``Retry-After``, else ``X-RateLimit-Reset``
        minus now), or ``None`` when it gave no hint and the caller's backoff decides.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, error_code=error_code)
        self.retry_after = retry_after


class Auth0Rejected(Auth0Error):
    """Auth0 refused the request (4xx); sending it again unchanged will fail again."""


class Auth0Conflict(Auth0Rejected):
    """Auth0 answered 409: the user already exists, or a member has 50 roles already."""


class Auth0NotFound(Auth0Rejected):
    """Auth0 answered 404: the user, organization, role or invitation does not exist."""


class Auth0ScimUnsupported(Auth0NotFound):
    """Auth0 answered "This connection type does not support SCIM" (auth0.md §13).

    Only SAML, OIDC, Okta Workforce and Entra connections have Auth0 Inbound SCIM.
    """
