"""``POST /hooks/auth0/login``: the post-login Action tells us who just logged in (DESIGN §6).

Organizations in mode ``link`` use an enterprise connection, where the Management API cannot
create users (auth0.md §0.1): the Auth0 user appears at its first login. The Action in
``docs/auth0-post-login-action.js`` posts ``{user_id, email, org_id, org_name, connection}`` here
with the shared secret ``SCIM_HOOK_SECRET`` as a bearer token; the users waiting for that email
in that organization are linked, and the worker then adds membership and roles.

The answer is quick and says little: the Action must finish within 20 s (auth0.md §8), and a
login must never fail because of us, so the Action ignores errors. Without a configured secret
the endpoint answers 404, as if it did not exist. Its input is checked first
(``web/hook_input.py``): secret, body size, JSON shape.
"""

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import Response

from scim_server.provisioning.logins import Login
from scim_server.provisioning.logins import link_login
from scim_server.storage.database import Database
from scim_server.web.hook_input import HookInputError
from scim_server.web.hook_input import has_secret
from scim_server.web.hook_input import read_login

_FIELDS = ("user_id", "email", "org_id", "connection")


@dataclass(frozen=True)
class LoginHook:
    """The endpoint, with the database it links in and the worker's wake-up call."""

    database: Database
    secret: str | None
    wake: Callable[[], None]

    async def serve(self, request: Request) -> Response:
        """Link the users waiting for this login; answer how many were linked."""
        if not self.secret:
            return JSONResponse({"error": "not_found"}, 404)
        if not has_secret(request.headers, self.secret):
            return JSONResponse({"error": "unauthorized"}, 401)
        try:
            body = await read_login(request, required=_FIELDS, optional=("org_name",))
        except HookInputError as error:
            return error.response()
        org_name = body.get("org_name")
        login = Login(
            user_id=body["user_id"],
            email=body["email"],
            org_id=body["org_id"],
            org_name=org_name if isinstance(org_name, str) else None,
            connection=body["connection"],
        )
        async with self.database.session() as session:
            linked = await link_login(session, login)
            await session.commit()
        if linked:
            self.wake()
        return JSONResponse({"linked": linked})
