"""The ``refuse_null_active`` shim: ``active`` stays true or false once a User exists.

RFC 7643 §2.5 reads ``null`` as "unassigned", and scim2-models applies it: ``"active": null``
unsets the attribute. Downstream, a User without ``active`` reads as an active member, so with
the IdPs whose templates and string booleans can produce a stray null (Entra's null updates,
OneLogin's ``{$user.active}`` templates, idp-quirks §8.14; Better Auth answers 400 too) a null
would **reactivate** a deprovisioned person. Their profiles refuse it with 400 ``invalidValue``
on POST, PUT and PATCH, including ``remove`` on ``active``.

The generic profile leaves it off: RFC 7644 §3.5.2.2 lets a client remove any attribute that
is not required, and scim2-tester checks that it can. Leaving ``active`` out of a POST means
"not said" everywhere.
"""

from collections.abc import Mapping
from typing import Any

from scim2_models import InvalidValueException

ACTIVE_PATHS = frozenset({"active", "urn:ietf:params:scim:schemas:core:2.0:user:active"})

_DETAIL = "active must be true or false; it cannot be unassigned"


def _holds_null_active(value: Any) -> bool:
    return isinstance(value, Mapping) and any(
        key.casefold() in ACTIVE_PATHS and item is None for key, item in value.items()
    )


def refuse_null_active_in_resource(resource: Any) -> Any:
    """Refuse a User body carrying ``"active": null``; return any other body as it is.

    :raises InvalidValueException: When it does, for a 400.
    """
    if _holds_null_active(resource):
        raise InvalidValueException(detail=_DETAIL)
    return resource


def refuse_null_active_in_patch(patch: Any) -> Any:
    """Refuse a User PATCH that would unassign ``active`` (RFC 7644 §3.5.2); return any other as it is.

    That is a ``remove`` on ``active``, an ``add`` or ``replace`` of ``null`` on it, or a
    path-less value holding ``"active": null``.

    :raises InvalidValueException: When it would, for a 400.
    """
    if not isinstance(patch, Mapping):
        return patch
    operations = next((v for k, v in patch.items() if k.casefold() == "operations"), None)
    for operation in operations if isinstance(operations, list) else []:
        if not isinstance(operation, Mapping):
            continue
        fields = {key.casefold(): item for key, item in operation.items()}
        path = fields.get("path")
        op = fields.get("op")
        targets_active = isinstance(path, str) and path.strip().casefold() in ACTIVE_PATHS
        if targets_active and (
            (isinstance(op, str) and op.casefold() == "remove") or fields.get("value", 0) is None
        ):
            raise InvalidValueException(detail=_DETAIL)
        if not path and _holds_null_active(fields.get("value")):
            raise InvalidValueException(detail=_DETAIL)
    return patch
