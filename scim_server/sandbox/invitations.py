"""Handlers for organization invitations (auth0.md §3.5)."""

from urllib.parse import urlencode

from scim_server.sandbox import errors
from scim_server.sandbox import identifiers
from scim_server.sandbox.paging import offset_page
from scim_server.sandbox.paging import project
from scim_server.sandbox.routing import Call
from scim_server.sandbox.routing import Endpoint
from scim_server.sandbox.routing import Reply
from scim_server.sandbox.routing import endpoint
from scim_server.sandbox.tenant import iso_timestamp

_FIELDS = {
    "inviter",
    "invitee",
    "client_id",
    "connection_id",
    "app_metadata",
    "user_metadata",
    "ttl_sec",
    "roles",
    "send_invitation_email",
}
#: Invitations live 7 days unless ``ttl_sec`` says otherwise (at most 30 days).
DEFAULT_TTL_SECONDS = 604_800


def create_invitation(call: Call) -> Reply:
    """``POST …/invitations``: 201 (the OAS says 200, a real tenant answers 201)."""
    organization = call.tenant.organization(call.params["id"])
    payload = call.payload()
    unknown = sorted(set(payload) - _FIELDS)
    if unknown:
        raise errors.invalid_body(f"Additional properties not allowed: {','.join(unknown)}")
    inviter, invitee = payload.get("inviter"), payload.get("invitee")
    if not isinstance(inviter, dict) or not inviter.get("name"):
        raise errors.invalid_body("Missing required property: inviter")
    if not isinstance(invitee, dict) or not invitee.get("email"):
        raise errors.invalid_body("Missing required property: invitee")
    if not payload.get("client_id"):
        raise errors.invalid_body("Missing required property: client_id")
    for role_id in payload.get("roles") or []:
        call.tenant.role(role_id)
    if payload.get("connection_id") and payload["connection_id"] not in call.tenant.connections:
        raise errors.connection_not_found()
    ttl = int(payload.get("ttl_sec") or DEFAULT_TTL_SECONDS)
    ticket = identifiers.ticket()
    query = urlencode(
        {
            "invitation": ticket,
            "organization": organization["id"],
            "organization_name": organization["name"],
        }
    )
    now = call.tenant.clock()
    invitation = {
        "id": identifiers.prefixed_id("uinv"),
        "organization_id": organization["id"],
        "inviter": inviter,
        "invitee": invitee,
        "invitation_url": f"{call.tenant.login_url}?{query}",
        "created_at": iso_timestamp(now),
        "expires_at": iso_timestamp(now + ttl),
        "client_id": payload["client_id"],
        "ticket_id": ticket,
    }
    for echoed in ("connection_id", "roles", "app_metadata", "user_metadata"):
        if payload.get(echoed):
            invitation[echoed] = payload[echoed]
    call.tenant.invitations.setdefault(organization["id"], {})[invitation["id"]] = invitation
    return Reply(201, invitation)


def list_invitations(call: Call) -> Reply:
    """``GET …/invitations``: newest first, ``{invitations, start, limit}`` without ``total``."""
    org_id = call.tenant.organization(call.params["id"])["id"]
    invitations = sorted(
        call.tenant.invitations.get(org_id, {}).values(),
        key=lambda i: i["created_at"],
        reverse=True,
    )
    shown = [project(i, call) for i in invitations]
    return Reply(200, offset_page(call, "invitations", shown, with_total=False))


def get_invitation(call: Call) -> Reply:
    """``GET …/invitations/{invitation_id}``: 404 ``inexistent_invitation`` when unknown."""
    org_id = call.tenant.organization(call.params["id"])["id"]
    invitation = call.tenant.invitations.get(org_id, {}).get(call.params["invitation_id"])
    if invitation is None:
        raise errors.invitation_not_found()
    return Reply(200, invitation)


def delete_invitation(call: Call) -> Reply:
    """``DELETE …/invitations/{invitation_id}``: 204; an unknown invitation is a 404.

    Auth0's answer for an unknown invitation is not recorded; a 404 is the stricter choice, so
    callers must treat "already gone" as done.
    """
    org_id = call.tenant.organization(call.params["id"])["id"]
    if call.tenant.invitations.get(org_id, {}).pop(call.params["invitation_id"], None) is None:
        raise errors.invitation_not_found()
    return Reply(204)


_ONE = "/api/v2/organizations/{id}/invitations/{invitation_id}"
ENDPOINTS: list[Endpoint] = [
    endpoint(
        "POST",
        "/api/v2/organizations/{id}/invitations",
        "organizations.invitations.create",
        create_invitation,
    ),
    endpoint(
        "GET",
        "/api/v2/organizations/{id}/invitations",
        "organizations.invitations.list",
        list_invitations,
    ),
    endpoint("GET", _ONE, "organizations.invitations.get", get_invitation),
    endpoint("DELETE", _ONE, "organizations.invitations.delete", delete_invitation),
]
"""The invitation endpoints, named after the SDK calls that reach them."""
