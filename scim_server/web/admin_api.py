"""The admin JSON API, ``/admin/api/...``: organizations, SCIM tokens, role rules, log, explain.

Support staff and customers' admins answer "why does this person (not) have access?" here and
in the ``/admin/`` page built on it (DESIGN §3, §8). Every request is authenticated by
``web/admin_auth.py``, and every organization is looked up through the caller's rights:

- an organization the caller may not read answers 404 "No such organization", exactly like one
  that does not exist, so nothing tells one tenant's existence to another;
- a change (issuing or revoking a SCIM token, replacing the role rules) on an organization the
  caller may only read answers 403.

Input is checked before use: JSON bodies (no deeper than the parser allows, no NUL or lone
surrogate in any string), query and path parameters (no NUL), numbers within what the
databases hold; each caller has a request limit (``web/rate_limits.py``).

Answers are JSON; every error is ``{"error": message}`` with its status (a 401 also carries
``WWW-Authenticate: Bearer``, a 429 ``Retry-After``). Anything unexpected is logged with a
request id and answered with a generic 500, never a traceback. Changes (tokens, rules) are
logged with who made them.
"""

import json
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from scim2_models import PayloadTooLargeException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.routing import Route

from scim_server.config import Settings
from scim_server.intake.store import refresh_desired
from scim_server.intake.tenancy import Tenancy
from scim_server.mapping.profile import describe_error
from scim_server.mapping.profile import rule_at
from scim_server.mapping.rule_files import RuleFile
from scim_server.mapping.rule_files import definition
from scim_server.mapping.rules import RoleRule
from scim_server.protocol.storable import UNSTORABLE
from scim_server.protocol.storable import first_unstorable
from scim_server.protocol.storable import is_storable
from scim_server.storage.database import Session
from scim_server.storage.links import live_user_ids
from scim_server.storage.organizations import OrganizationError
from scim_server.storage.organizations import OrganizationNotFound
from scim_server.storage.organizations import get_organization
from scim_server.storage.organizations import list_organizations
from scim_server.storage.rules import list_rules
from scim_server.storage.rules import replace_rules
from scim_server.storage.tables import Organization
from scim_server.storage.tables import ScimToken
from scim_server.storage.tokens import MAX_TOKEN_DAYS
from scim_server.storage.tokens import TokenNotFound
from scim_server.storage.tokens import is_token_active
from scim_server.storage.tokens import issue_token
from scim_server.storage.tokens import list_tokens
from scim_server.storage.tokens import revoke_token
from scim_server.support.explain import explain_user
from scim_server.support.mapping_log import LogQuery
from scim_server.support.mapping_log import LogQueryError
from scim_server.support.mapping_log import parse_since
from scim_server.support.mapping_log import search_log
from scim_server.support.status import json_time
from scim_server.support.status import queue_status
from scim_server.web.admin_auth import AdminAuthenticator
from scim_server.web.admin_auth import AdminAuthError
from scim_server.web.admin_auth import Principal
from scim_server.web.errors import TooManyRequestsException
from scim_server.web.logs import REQUEST_ID_HEADER
from scim_server.web.logs import bind_org
from scim_server.web.logs import bound_request_id
from scim_server.web.rate_limits import RateLimiter
from scim_server.web.rate_limits import admit
from scim_server.web.scim import read_body

log = logging.getLogger("scim_server.web.admin")

NO_SUCH_ORG = "No such organization"
WWW_AUTHENTICATE = 'Bearer realm="scim-server admin"'
TOKEN_NAME_LENGTH = 200


class ApiError(Exception):
    """A request the API answers with an error status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Call:
    """One authenticated request: who calls, the request, and its database session."""

    principal: Principal
    request: Request
    session: Session

    async def org(self, *, manage: bool = False) -> Organization:
        """Return the organization of the URL, if the caller may read (or ``manage``) it.

        :raises ApiError: 404 when it does not exist or the caller may not see it; 403 when the
            caller may see it but ``manage`` is asked and not granted.
        """
        try:
            org = await get_organization(self.session, self.request.path_params["key"])
        except OrganizationNotFound:
            raise ApiError(404, NO_SUCH_ORG) from None
        if not self.principal.may_read(org):
            raise ApiError(404, NO_SUCH_ORG)
        bind_org(org.key)  # logs and metrics name the organization once the caller may see it
        if manage and not self.principal.may_manage(org):
            raise ApiError(403, f"Not allowed to manage organization {org.key}")
        return org


Handler = Callable[["AdminApi", Call], Awaitable[Response]]


@dataclass(frozen=True)
class AdminApi:
    """The endpoints, with what they read and the worker's wake-up call for rule changes."""

    tenancy: Tenancy
    authenticator: AdminAuthenticator
    max_body_bytes: int
    public_url: str | None = None
    after_write: Callable[[], None] | None = None
    """Called after role rules changed desired states: wakes the provisioning worker."""
    limiter: RateLimiter | None = None
    """Requests per caller (``web/rate_limits.py``): 429 over the limit."""

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        tenancy: Tenancy,
        wake: Callable[[], None],
        limiter: RateLimiter | None = None,
    ) -> "AdminApi":
        """Build the API of an application from its settings."""
        return cls(
            tenancy=tenancy,
            authenticator=AdminAuthenticator(settings),
            max_body_bytes=settings.max_body_bytes,
            public_url=settings.public_url,
            after_write=wake,
            limiter=limiter,
        )

    def routes(self) -> list[BaseRoute]:
        """Return the routes, to mount at ``/admin/api``."""
        endpoints: list[tuple[str, Handler, str]] = [
            ("/me", AdminApi.me, "GET"),
            ("/orgs", AdminApi.orgs, "GET"),
            ("/orgs/{key}", AdminApi.org, "GET"),
            ("/orgs/{key}/status", AdminApi.status, "GET"),
            ("/orgs/{key}/tokens", AdminApi.tokens, "GET"),
            ("/orgs/{key}/tokens", AdminApi.issue_token, "POST"),
            ("/orgs/{key}/tokens/{id}", AdminApi.revoke_token, "DELETE"),
            ("/orgs/{key}/rules", AdminApi.rules, "GET"),
            ("/orgs/{key}/rules", AdminApi.replace_rules, "PUT"),
            ("/orgs/{key}/events", AdminApi.events, "GET"),
            ("/orgs/{key}/explain", AdminApi.explain, "GET"),
        ]
        routes: list[BaseRoute] = [
            Route(path, self._endpoint(handler), methods=[method])
            for path, handler, method in endpoints
        ]
        routes.append(
            Route("/{path:path}", self._unknown, methods=["GET", "POST", "PUT", "DELETE"])
        )
        return routes

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler: authenticate, run it in one session, commit, turn errors into JSON."""

        async def serve(request: Request) -> Response:
            request_id = bound_request_id(request.headers)
            try:
                refuse_unstorable_parameters(request)
                async with self.tenancy.session() as session:
                    principal = await self.authenticator.authenticate(session, request.headers)
                    if self.limiter is not None:
                        admit(self.limiter, f"{principal.kind} {principal.name}")
                    response = await handler(self, Call(principal, request, session))
                    await session.commit()
            except AdminAuthError as error:
                response = _error(error.status, error.message)
            except ApiError as error:
                response = _error(error.status, error.message)
            except TooManyRequestsException as error:
                response = _error(error.status, error.detail)
                response.headers["Retry-After"] = str(error.retry_after)
            except Exception:  # a bug: logged with the request id, never shown
                log.exception("admin request %s failed", request_id)
                response = _error(500, f"Internal server error (request id {request_id})")
            response.headers[REQUEST_ID_HEADER] = request_id
            return response

        return serve

    async def _unknown(self, request: Request) -> Response:
        """Answer a path the API does not have, in JSON like every other error."""
        return _error(404, "No such endpoint")

    async def me(self, call: Call) -> Response:
        """``GET /me``: who the token is, and which organizations it reads and manages."""
        orgs = await list_organizations(call.session)
        principal = call.principal
        visible = [org for org in orgs if principal.may_read(org)]
        reads = "*" if principal.read.every else [org.key for org in visible]
        return JSONResponse(
            {
                "name": principal.name,
                "kind": principal.kind,
                "orgs": reads,
                "manage": principal.manage.describe(orgs),
            }
        )

    async def orgs(self, call: Call) -> Response:
        """``GET /orgs``: the organizations the caller may read."""
        orgs = await list_organizations(call.session)
        visible = [org for org in orgs if call.principal.may_read(org)]
        return JSONResponse({"orgs": [self._org_json(call.request, org) for org in visible]})

    async def org(self, call: Call) -> Response:
        """``GET /orgs/{key}``: one organization and the state of its sync queue."""
        org = await call.org()
        status = await queue_status(call.session, now=datetime.now(UTC), org_id=org.id)
        return JSONResponse({**self._org_json(call.request, org), "status": status.to_json()})

    async def status(self, call: Call) -> Response:
        """``GET /orgs/{key}/status``: the organization's sync queue (``scim-server status``)."""
        org = await call.org()
        status = await queue_status(call.session, now=datetime.now(UTC), org_id=org.id)
        return JSONResponse(status.to_json())

    async def tokens(self, call: Call) -> Response:
        """``GET /orgs/{key}/tokens``: the organization's SCIM tokens, never their secrets."""
        org = await call.org()
        now = datetime.now(UTC)
        records = await list_tokens(call.session, org)
        return JSONResponse({"tokens": [_token_json(record, now=now) for record in records]})

    async def issue_token(self, call: Call) -> Response:
        """``POST /orgs/{key}/tokens``: issue a SCIM token; its secret is in this answer only."""
        org = await call.org(manage=True)
        body = await self._json_object(call.request)
        name = body.get("name", "default")
        days = body.get("expires_in_days")
        if not isinstance(name, str) or not name.strip() or len(name) > TOKEN_NAME_LENGTH:
            raise ApiError(400, f"name must be a non-empty string of at most {TOKEN_NAME_LENGTH}")
        if days is not None and (
            isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS
        ):
            raise ApiError(
                400, f"expires_in_days must be a whole number of days from 1 to {MAX_TOKEN_DAYS}"
            )
        expires_in = None if days is None else timedelta(days=days)
        try:
            record, secret = await issue_token(
                call.session, org=org, name=name, expires_in=expires_in
            )
        except OrganizationError as error:
            raise ApiError(400, str(error)) from None
        log.info("%s issued SCIM token %s of %s", call.principal.name, record.id, org.key)
        answer = {**_token_json(record, now=datetime.now(UTC)), "token": secret}
        return JSONResponse(answer, status_code=201, headers={"Cache-Control": "no-store"})

    async def revoke_token(self, call: Call) -> Response:
        """``DELETE /orgs/{key}/tokens/{id}``: revoke a SCIM token of the organization."""
        org = await call.org(manage=True)
        try:
            record = await revoke_token(call.session, org, call.request.path_params["id"])
        except TokenNotFound:
            raise ApiError(404, "No such token") from None
        log.info("%s revoked SCIM token %s of %s", call.principal.name, record.id, org.key)
        return Response(status_code=204)

    async def rules(self, call: Call) -> Response:
        """``GET /orgs/{key}/rules``: the organization's role rules, as ``rules export`` has them."""
        org = await call.org()
        assert org.id is not None
        stored = await list_rules(call.session, org_id=org.id)
        rules = [definition(RoleRule.model_validate(rule)) for rule in stored]
        return JSONResponse({"rules": rules})

    async def replace_rules(self, call: Call) -> Response:
        """``PUT /orgs/{key}/rules``: replace the role rules, as ``rules import`` does.

        The rules are validated with the models of rule files; every user's desired state is
        recomputed at once, and those whose roles change are queued and logged (citing the
        new rules as ``org:<rule-id>``).
        """
        org = await call.org(manage=True)
        assert org.id is not None
        body = await self._json_object(call.request)
        data = {"roles": body.get("rules")}
        try:
            imported = RuleFile.model_validate(data).roles
        except ValidationError as error:
            first = error.errors()[0]
            rule = rule_at(data, first)
            where = f"rule {rule!r}: " if rule else ""
            raise ApiError(400, f"Invalid role rules: {where}{_from_rules(first)}") from None
        await replace_rules(
            call.session, org_id=org.id, definitions=[definition(rule) for rule in imported]
        )
        changed = await refresh_desired(
            call.session,
            org_id=org.id,
            profile=self.tenancy.profiles[org.profile],
            org_rules=imported,
            scim_ids=await live_user_ids(call.session, org_id=org.id),
            cause="Role rules replaced through the admin API",
            now=datetime.now(UTC),
            source="admin",
            actor=call.principal.name,
        )
        await call.session.commit()
        log.info("%s replaced the %d role rules of %s", call.principal.name, len(imported), org.key)
        if changed and self.after_write is not None:
            self.after_write()
        rules = [definition(rule) for rule in imported]
        return JSONResponse({"rules": rules, "changed_users": len(changed)})

    async def events(self, call: Call) -> Response:
        """``GET /orgs/{key}/events``: the mapping log, as ``scim-server log`` reads it.

        Query: ``user`` (any identity key), ``since`` (ISO 8601 or an age: 30m, 2h, 7d),
        ``outcome``, ``after`` (an event id, for polling) and ``limit``.
        """
        org = await call.org()
        assert org.id is not None
        params = call.request.query_params
        try:
            limit = _integer(params, "limit")
            query = LogQuery(
                user=params.get("user"),
                since=_since(params.get("since")),
                outcome=params.get("outcome") or None,
                after_id=_integer(params, "after"),
                limit=LogQuery.limit if limit is None else limit,
            )
        except LogQueryError as error:
            raise ApiError(400, str(error)) from None
        entries = await search_log(call.session, org_id=org.id, query=query)
        return JSONResponse({"events": [entry.to_json() for entry in entries]})

    async def explain(self, call: Call) -> Response:
        """``GET /orgs/{key}/explain?user=KEY``: why a person has (or lacks) access."""
        org = await call.org()
        user = (call.request.query_params.get("user") or "").strip()
        if not user:
            raise ApiError(400, "The user query parameter (any identity key) is required")
        matches = await explain_user(
            call.session, org=org, key=user, profiles=self.tenancy.profiles
        )
        if not matches:
            raise ApiError(404, f"No user of organization {org.key} matches {user!r}")
        return JSONResponse({"matches": [match.to_json() for match in matches]})

    def _org_json(self, request: Request, org: Organization) -> dict[str, Any]:
        root = (self.public_url or str(request.base_url)).rstrip("/")
        return {
            "key": org.key,
            "display_name": org.display_name,
            "auth0_org": org.auth0_org,
            "connection": org.connection,
            "identity_mode": org.identity_mode,
            "profile": org.profile,
            "scim_url": f"{root}/scim/v2/{org.key}",
        }

    async def _json_object(self, request: Request) -> dict[str, Any]:
        """Read a JSON object body.

        :raises ApiError: 413 when it is too large, 400 when it is not a JSON object (nested too
            deep included) or holds a string no database stores (NUL, a lone surrogate).
        """
        try:
            raw = await read_body(request, self.max_body_bytes)
        except PayloadTooLargeException:
            raise ApiError(413, f"The request body exceeds {self.max_body_bytes} bytes") from None
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object")
        where = first_unstorable(body)
        if where is not None:
            raise ApiError(400, f"{where} {UNSTORABLE}")
        return body


def refuse_unstorable_parameters(request: Request) -> None:
    """Refuse a query or path parameter holding NUL, which PostgreSQL cannot compare.

    :raises ApiError: 400, naming the parameter.
    """
    parameters = [*request.query_params.multi_items(), *request.path_params.items()]
    for name, value in parameters:
        if isinstance(value, str) and not is_storable(value):
            raise ApiError(400, f"The parameter {name} {UNSTORABLE}")


def _error(status: int, message: str) -> Response:
    headers = {"WWW-Authenticate": WWW_AUTHENTICATE} if status == 401 else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _token_json(record: ScimToken, *, now: datetime) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "prefix": record.prefix,
        "created_at": json_time(record.created_at),
        "expires_at": json_time(record.expires_at),
        "revoked_at": json_time(record.revoked_at),
        "last_used_at": json_time(record.last_used_at),
        "active": is_token_active(record, now=now),
    }


def _from_rules(error: Any) -> str:
    """Describe a rule validation error, with the location inside the ``rules`` list.

    >>> _from_rules({"loc": ("roles", 0, "grant"), "msg": "Field required"})
    'rules.0.grant: Field required'
    """
    return describe_error(error).replace("roles", "rules", 1)


def _since(text: str | None) -> datetime | None:
    return None if not text else parse_since(text, now=datetime.now(UTC))


def _integer(params: Any, name: str) -> int | None:
    """Read an optional whole-number query parameter.

    :raises LogQueryError: When it is present and not a whole number.
    """
    text = params.get(name)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise LogQueryError(f"{name} must be a whole number, not {text!r}") from None
