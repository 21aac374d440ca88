"""One mapping-log event per SCIM write, answered or refused (DESIGN §8).

"Okta says it pushed Ann but she has no access" is often a write we refused (a 409 on a
userName, a 400 on a filter): the desired-state events say nothing of those, since nothing
changed. So every POST, PUT, PATCH and DELETE of an authenticated client leaves one
``scim.request`` event: method, path, status, the attributes it touched (names only, never
values, so no password or other secret can reach the log) and, when refused, the SCIM error.
A refused write's event is written in a transaction of its own, after the request's rollback.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim_server.intake.store import idp_name
from scim_server.mapping.profile import MappingProfile
from scim_server.storage.database import Session
from scim_server.storage.events import append_event

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KIND = "scim.request"
PATCH_OP = "Operations"


@dataclass(frozen=True)
class ScimWrite:
    """A SCIM write as the log keeps it: what was asked, of what, and how it was answered.

    :param path: The path below the organization's base URL, such as ``/Users/2819c223``.
    :param body: The request body as sent (read here for attribute names and the identity).
    :param answer: The response body (the created resource, or the SCIM error).
    """

    method: str
    path: str
    status: int
    body: bytes
    answer: Mapping[str, Any] | None

    @property
    def resource_id(self) -> str | None:
        """The id of the resource written: from the path, or the created resource's."""
        parts = [part for part in self.path.split("/") if part]
        if len(parts) >= 2:
            return parts[1]
        created = (self.answer or {}).get("id") if self.status < 400 else None
        return created if isinstance(created, str) else None

    @property
    def is_user(self) -> bool:
        """Tell whether the write is to ``/Users`` (only users carry identity keys)."""
        return self.path.strip("/").split("/")[0] == "Users"

    def document(self) -> Mapping[str, Any]:
        """Return the request body as JSON; an unreadable one is empty (the refusal says why).

        Too deep a body (thousands of nested arrays) is unreadable too: ``json`` raises
        ``RecursionError`` for it.
        """
        try:
            parsed = json.loads(self.body or b"{}")
        except (ValueError, RecursionError):
            return {}
        return parsed if isinstance(parsed, dict) else {}

    def touched(self) -> list[str]:
        """Name the attributes a write touched, never their values.

        >>> ScimWrite("PATCH", "/Users/1", 200, b'{"Operations": [{"op": "replace",'
        ...     b' "value": {"active": false, "password": "x"}}]}', None).touched()
        ['replace active', 'replace password']
        >>> ScimWrite("POST", "/Users", 201, b'{"userName": "a", "password": "x"}', None).touched()
        ['password', 'userName']
        >>> ScimWrite("POST", "/Bulk", 200, b'{"Operations": [{"method": "DELETE",'
        ...     b' "path": "/Users/1"}]}', None).touched()
        ['DELETE /Users/1']
        """
        document = self.document()
        operations = document.get(PATCH_OP)
        if isinstance(operations, list) and self.path.strip("/") == "Bulk":
            return [
                f"{operation.get('method')} {operation.get('path')}"
                for operation in operations
                if isinstance(operation, dict)
            ]
        if not isinstance(operations, list):
            return sorted(name for name in document if name != "schemas")
        touched = []
        for operation in operations:
            if not isinstance(operation, dict):
                continue
            op = str(operation.get("op", "?")).lower()
            value = operation.get("value")
            if operation.get("path"):
                touched.append(f"{op} {operation['path']}")
            elif isinstance(value, dict):
                touched.extend(f"{op} {name}" for name in sorted(value))
            else:
                touched.append(op)
        return touched

    def identity(self) -> dict[str, str | None]:
        """Return the userName, externalId and primary (else first) email a User write carries.

        They put a refused creation, which has no SCIM id, on the person's timeline.
        """
        document = self.document() if self.is_user else {}
        emails = document.get("emails")
        emails = [e for e in emails if isinstance(e, dict)] if isinstance(emails, list) else []
        primary = next((e for e in emails if e.get("primary") is True), emails[0] if emails else {})
        return {
            name: value if isinstance(value, str) else None
            for name, value in (
                ("user_name", document.get("userName")),
                ("external_id", document.get("externalId")),
                ("email", primary.get("value")),
            )
        }

    def error(self) -> str | None:
        """Return the refusal's SCIM type and detail, when the write was refused."""
        if self.status < 400 or not self.answer:
            return None
        scim_type = self.answer.get("scimType")
        detail = self.answer.get("detail") or ""
        return f"{scim_type}: {detail}" if scim_type else str(detail)


async def record_scim_write(
    session: Session,
    *,
    org_id: int,
    profile: MappingProfile,
    write: ScimWrite,
    at: datetime,
    request_id: str | None,
    actor: str | None,
) -> None:
    """Append the event of one SCIM write, in the caller's transaction (the caller commits)."""
    identity = write.identity()
    error = write.error()
    who = f" ({identity['user_name']})" if identity["user_name"] else ""
    summary = f"{idp_name(profile)} {write.method} {write.path} -> {write.status}{who}"
    await append_event(
        session,
        org_id=org_id,
        source="scim",
        kind=KIND,
        summary=f"{summary}: {error}" if error else summary,
        outcome="error" if error is not None else "ok",
        at=at,
        request_id=request_id,
        actor=actor,
        scim_id=write.resource_id,
        **identity,
        details={
            "method": write.method,
            "path": write.path,
            "status": write.status,
            "attributes": write.touched(),
            **({"error": error} if error else {}),
        },
    )
