"""``POST /hooks/auth0/login``: the post-login Action tells us who just logged in (DESIGN §6).

Organizations in mode ``link`` use an enterprise connection, where the Management API cannot
create users (auth0.md §0.1): the Auth0 user appears at its first login. The Action in
``docs/auth0-post-login-action.js`` posts ``{user_id, email, org_id, org_name, connection}`` here
with the shared secret ``SCIM_HOOK_SECRET`` as a bearer token; the users waiting for that email
in that organization are linked, and the worker then adds membership and roles.

The answer is quick and says little: the Action must finish within 20 s (auth0.md §8), and a
login must never fail because of us, so the Action ignores errors. Without a configured secret
the endpoint answers 404, as if it did not exist.
"""

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import Response

from scim_server.provisioning.logins import Login
from scim_server.provisioning.logins import link_login
from scim_server.storage.database import Database
from scim_server.web.scim import bearer_token

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
        if not hmac.compare_digest(bearer_token(request.headers), self.secret):
            return JSONResponse({"error": "unauthorized"}, 401)
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not all(
            isinstance(body.get(name), str) and body[name] for name in _FIELDS
        ):
            return JSONResponse(
                {"error": "invalid_body", "required": list(_FIELDS)}, status_code=400
            )
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
