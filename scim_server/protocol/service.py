"""The SCIM protocol of one organization: scim2-server's service, read through a mapping profile.

``OrgScimService`` changes three things in ``scim2_server.service.ScimService``:

* raw request bodies and filters go through the profile's named shims (``protocol/shims.py``)
  before validation, and User bodies through the ``active`` rule (``protocol/active.py``);
* a PATCH on a User answers 200 with the resource: the Entra SCIM validator requires it
  (idp-quirks §5.8), where scim2-server answers 204 when no ``attributes`` were asked for;
* strings no database can store (NUL, lone surrogates) in a body, a filter or a resource id
  are refused with 400, and an out-of-range ``startIndex`` is clamped (``protocol/storable.py``);
* a PATCH on a Group keeps that 204: Entra says "group PATCH should yield 204" and returning
  the members is "not advisable" (idp-quirks §5.2), and it keeps a member PATCH on a
  100,000-member group from serialising every member.

Everything else, ``userName`` echoed as sent included, is scim2-server's. ``password`` is
``returned: never`` in scim2-models, so no response carries it; storage must not keep it.
"""

import json
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from scim2_models import Context
from scim2_models import Extension
from scim2_models import Group
from scim2_models import PatchOp
from scim2_models import Resource
from scim2_models import ResourceType
from scim2_models import ResponseParameters
from scim2_models import ScimProviderError
from scim2_models import SearchRequest
from scim2_server.bulk import BulkPlan
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Target
from scim2_server.service import ModelT
from scim2_server.service import ScimService

from scim_server.protocol.provider import build_provider
from scim_server.protocol.shims import SHIMS
from scim_server.protocol.shims import JsonRewrite
from scim_server.protocol.storable import check_body
from scim_server.protocol.storable import check_filter
from scim_server.protocol.storable import check_text
from scim_server.protocol.storable import clamp_start_index
from scim_server.protocol.tolerance import ToleranceProfile


def _encode(payload: Any) -> bytes:
    """Encode a rewritten body compactly, so it is no larger than what the client sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class OrgScimService(ScimService):
    """The SCIM protocol, without I/O, for the organizations of one mapping profile.

    :param profile: The mapping profile (``mapping.MappingProfile`` or anything with its ``id``,
        ``scim_policy`` and ``enabled_shims``).
    :param user_extensions: Extra User extensions, passed to :func:`build_provider`.
    :param secret: scim2-server's service secret; unused while cursors are not announced.
    :raises scim2_models.ScimProviderError: When the profile names a shim that does not exist.
    """

    def __init__(
        self,
        profile: ToleranceProfile,
        *,
        user_extensions: Sequence[type[Extension]] = (),
        secret: str | bytes | None = None,
    ) -> None:
        super().__init__(build_provider(profile, user_extensions=user_extensions), secret=secret)
        unknown = sorted(set(profile.enabled_shims) - set(SHIMS))
        if unknown:
            raise ScimProviderError(f"profile {profile.id!r} names unknown shims: {unknown}")
        self.profile_id = profile.id
        shims = [SHIMS[name] for name in sorted(profile.enabled_shims)]
        self._resource_rewrites = [s.on_resource for s in shims if s.on_resource is not None]
        self._patch_rewrites = [s.on_patch for s in shims if s.on_patch is not None]
        self._filter_rewrites = [s.on_filter for s in shims if s.on_filter is not None]

    # -- Raw bodies ---------------------------------------------------------

    @staticmethod
    def _apply(rewrites: Iterable[JsonRewrite], payload: Any) -> Any:
        for rewrite in rewrites:
            payload = rewrite(payload)
        return payload

    def rewrite_resource(self, resource_type: ResourceType | None, payload: Any) -> Any:
        """Return a decoded POST or PUT body after the profile's shims.

        :raises scim2_models.InvalidValueException: When a User body sets ``active`` to null
            under a profile with ``refuse_null_active``.
        """
        return self._apply(self._resource_rewrites, payload)

    def rewrite_patch(self, resource_type: ResourceType | None, payload: Any) -> Any:
        """Return a decoded PATCH body after the profile's shims.

        :raises scim2_models.InvalidValueException: When a User PATCH unassigns ``active``
            under a profile with ``refuse_null_active``.
        """
        return self._apply(self._patch_rewrites, payload)

    def rewrite_filter(self, text: str) -> str:
        """Return a filter after the profile's filter shims."""
        for rewrite in self._filter_rewrites:
            text = rewrite(text)
        return text

    def _resource_body(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> bytes:
        if not self._resource_rewrites:
            return body
        return _encode(self.rewrite_resource(resource_type, self.decode_body(body, content_type)))

    # -- Reading requests ---------------------------------------------------

    @staticmethod
    def match(request: ScimRequest) -> Target:
        """Return the operation a request asks for; a resource id no database stores is a 400."""
        target = ScimService.match(request)
        if target.resource_id is not None:
            check_text(target.resource_id, what="The resource id")
        return target

    def read_body(
        self, model: type[ModelT], body: bytes, content_type: str | None, scim_ctx: Context
    ) -> ModelT:
        """Validate a body with a model, once no string of it is unstorable (POST, PUT, PATCH, Bulk)."""
        check_body(body)
        return super().read_body(model, body, content_type, scim_ctx)

    def decode_body(self, body: bytes, content_type: str | None) -> Any:
        """Return a body's JSON, once no string of it is unstorable (searches, shims)."""
        check_body(body)
        return super().decode_body(body, content_type)

    def read_search(
        self, resource_types: list[ResourceType], payload: Any
    ) -> tuple[SearchRequest[Any], Any]:
        """Validate a search; refuse unstorable filter literals, clamp ``startIndex``."""
        search_request, position = super().read_search(resource_types, payload)
        check_filter(search_request)
        clamp_start_index(search_request)
        return search_request, position

    def read_creation(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> Resource[Any]:
        """Validate a POST body once the profile's shims rewrote it (RFC 7644 §3.3)."""
        body = self._resource_body(resource_type, body, content_type)
        return super().read_creation(resource_type, body, content_type)

    def read_replacement(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> Resource[Any]:
        """Validate a PUT body once the profile's shims rewrote it (RFC 7644 §3.5.1)."""
        body = self._resource_body(resource_type, body, content_type)
        return super().read_replacement(resource_type, body, content_type)

    def read_patch(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> "PatchOp[Any]":
        """Validate a PATCH body once the profile's shims rewrote it (RFC 7644 §3.5.2)."""
        self.ensure_patch_supported()
        if self._patch_rewrites:
            payload = self.rewrite_patch(resource_type, self.decode_body(body, content_type))
            body = _encode(payload)
        return super().read_patch(resource_type, body, content_type)

    def read_search_query(
        self, resource_types: list[ResourceType], query: Mapping[str, str]
    ) -> tuple[SearchRequest[Any], Any]:
        """Read a GET search once the profile's shims rewrote its filter (RFC 7644 §3.4.2)."""
        if self._filter_rewrites and "filter" in query:
            query = {**query, "filter": self.rewrite_filter(query["filter"])}
        return super().read_search_query(resource_types, query)

    def read_search_body(
        self, resource_types: list[ResourceType], body: bytes, content_type: str | None
    ) -> tuple[SearchRequest[Any], Any]:
        """Read a POST ``.search`` once the profile's shims rewrote its filter (RFC 7644 §3.4.3)."""
        payload = self.decode_body(body, content_type)
        if self._filter_rewrites and isinstance(payload, dict):
            payload = {
                key: self.rewrite_filter(value)
                if key.casefold() == "filter" and isinstance(value, str)
                else value
                for key, value in payload.items()
            }
        return self.read_search(resource_types, payload)

    def read_bulk(self, body: bytes, content_type: str | None) -> BulkPlan:
        """Validate a bulk request once each operation's data went through the shims (RFC 7644 §3.7).

        A User operation that unassigns ``active`` fails the whole request with 400: no IdP in
        scope sends Bulk (idp-quirks §3), so per-operation reporting is not worth a handler change.
        """
        self.ensure_supported(self.config.bulk, "Bulk")
        self.ensure_bulk_payload_size(len(body))
        payload = self.decode_body(body, content_type)
        operations = payload.get("Operations") if isinstance(payload, dict) else None
        if isinstance(operations, list):
            payload = {**payload, "Operations": [self._rewrite_bulk(op) for op in operations]}
            body = _encode(payload)
        return super().read_bulk(body, content_type)

    def _rewrite_bulk(self, operation: Any) -> Any:
        if not isinstance(operation, dict) or "data" not in operation:
            return operation
        method = str(operation.get("method", "")).upper()
        endpoint = str(operation.get("path", "")).strip("/").partition("/")[0]
        resource_type = self.get_resource_type_by_endpoint(endpoint) if endpoint else None
        if method in {"POST", "PUT"}:
            return {**operation, "data": self.rewrite_resource(resource_type, operation["data"])}
        if method == "PATCH":
            return {**operation, "data": self.rewrite_patch(resource_type, operation["data"])}
        return operation

    # -- Responses ----------------------------------------------------------

    def patch_response(
        self,
        base_url: str,
        resource: Resource[Any],
        response_parameters: ResponseParameters[Any],
    ) -> ScimResponse:
        """Answer a User PATCH with 200 and the resource, and a Group PATCH with 204.

        RFC 7644 §3.5.2 allows either. Entra's validator wants the User back; Entra wants 204
        for groups, which also keeps a large group's member list out of the response.
        """
        if isinstance(resource, Group):
            return super().patch_response(base_url, resource, response_parameters)
        return self.resource_response(
            self.publish(base_url, resource),
            Context.RESOURCE_REPLACEMENT_RESPONSE,
            response_parameters,
            status=HTTPStatus.OK,
        )
