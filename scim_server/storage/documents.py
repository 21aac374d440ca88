"""The comparison form of a resource, stored as ``search_document`` for SQL filters and sorts.

A filter compares values under the policy's comparison key (RFC 7643 §2.4 and §7: strings
are case-insensitive unless caseExact; scim2-models also folds them to NFC), so the document
keeps every value already in that form and SQL compares with plain equality and ordering:

- keys are the attribute names lower-cased (RFC 7643 §2.1: names are case-insensitive), an
  extension's attributes sit under its schema URN, lower-cased;
- strings (and references) hold their comparison key, booleans stay JSON booleans, numbers
  JSON numbers, binary values their base64 text, and dateTimes one fixed-width string
  (:func:`datetime_text`) whose order is their order;
- an unassigned attribute has no key (never a JSON ``null``), an empty list stays ``[]`` and
  an empty complex value ``{}``, since ``eq null`` tells them apart;
- in a multi-valued attribute, the first ``primary`` value is moved to the front, so
  ``[0]`` is the value RFC 7644 §3.4.2.3 sorts by (the order does not matter to filters).

``id``, ``meta``, write-only attributes (``password``) and the group relations (``members``,
``groups``) are left out: they live in columns and in ``group_member``.
"""

import base64
from datetime import UTC
from datetime import datetime
from enum import StrEnum
from functools import cache
from inspect import isclass
from typing import Any

from scim2_models import BaseModel
from scim2_models import Mutability
from scim2_models import Resource
from scim2_models.path import AttributeBinding
from scim2_models.path.resolution import _bind
from scim2_models.path.resolution import _unwrap_annotated

RELATION_URNS = frozenset(
    {
        "urn:ietf:params:scim:schemas:core:2.0:Group:members",
        "urn:ietf:params:scim:schemas:core:2.0:User:groups",
    }
)
"""Attributes stored as ``group_member`` rows rather than in the document."""

COMMON_FIELDS = frozenset({"id", "external_id", "meta"})
"""RFC 7643 §3.1 attributes, stored in columns."""


class Kind(StrEnum):
    """How the values of an attribute are stored and compared."""

    string = "string"
    boolean = "boolean"
    number = "number"
    datetime = "datetime"
    binary = "binary"
    complex = "complex"


def kind_of(attribute_type: Any) -> Kind | None:
    """Return the kind of a Python attribute type, or None for a type SQL cannot compare.

    >>> kind_of(bool), kind_of(int), kind_of(str)
    (<Kind.boolean: 'boolean'>, <Kind.number: 'number'>, <Kind.string: 'string'>)
    """
    target = _unwrap_annotated(attribute_type)
    if not isclass(target):
        return None
    if issubclass(target, bool):
        return Kind.boolean
    if issubclass(target, int | float):
        return Kind.number
    if issubclass(target, datetime):
        return Kind.datetime
    if issubclass(target, bytes):
        return Kind.binary
    if issubclass(target, str):
        return Kind.string
    if issubclass(target, BaseModel):
        return Kind.complex
    return None


def json_key(model: type[BaseModel], field_name: str) -> str:
    """Return the document key of a field: its SCIM name, lower-cased (RFC 7643 §2.1)."""
    return model._scim_name(field_name).lower()


def datetime_text(moment: datetime) -> str:
    """Return a dateTime as a fixed-width string whose order is the order of the moments.

    An aware moment is written in UTC with its offset, a naive one without: the two never
    compare equal, as in Python, and their different widths keep them apart in orderings.

    >>> from datetime import timezone, timedelta
    >>> datetime_text(datetime(2011, 5, 13, 6, 42, tzinfo=timezone(timedelta(hours=2))))
    '2011-05-13T04:42:00.000000+00:00'
    >>> datetime_text(datetime(2011, 5, 13, 4, 42))
    '2011-05-13T04:42:00.000000'
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def comparison_form(binding: AttributeBinding, value: Any) -> Any:
    """Return the JSON value a document holds for one value of an attribute.

    :raises ValueError: If the policy cannot prepare a string, which a stored resource never
        holds: a write carrying one is refused with ``invalidValue``.
    """
    value = binding.comparable(value)
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def search_document(resource: Resource[Any]) -> dict[str, Any]:
    """Return the values of a resource in the form SQL filters and sorts compare.

    :param resource: The resource as stored: ``document`` validated by its model.
    :return: The JSON for the ``search_document`` column (see the module docstring).
    """
    model = type(resource)
    document = _object_form(model, resource)
    for urn, extension_model in model.get_extension_models().items():
        extension = getattr(resource, extension_model.__name__, None)
        if extension is not None:
            document[urn.lower()] = _object_form(extension_model, extension)
    return document


def _object_form(model: type[BaseModel], obj: BaseModel) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for key, field_name, binding, sub_bindings in _stored_fields(model):
        value = getattr(obj, field_name, None)
        if value is None:
            continue
        if binding.is_multivalued:
            form[key] = [
                _value_form(binding, sub_bindings, item)
                for item in _primary_first(value)
                if item is not None
            ]
        else:
            form[key] = _value_form(binding, sub_bindings, value)
    return form


def _value_form(
    binding: AttributeBinding,
    sub_bindings: tuple[tuple[str, str, AttributeBinding], ...],
    value: Any,
) -> Any:
    if not isinstance(value, BaseModel):
        return comparison_form(binding, value)
    form: dict[str, Any] = {}
    for key, sub_field_name, sub_binding in sub_bindings:
        sub_value = getattr(value, sub_field_name, None)
        if sub_value is not None:
            form[key] = comparison_form(sub_binding, sub_value)
    return form


def _primary_first(values: list[Any]) -> list[Any]:
    """Move the first primary value to the front, as RFC 7644 §3.4.2.3 sorts by it."""
    primary = next((v for v in values if getattr(v, "primary", None)), None)
    if primary is None:
        return list(values)
    return [primary, *(v for v in values if v is not primary)]


StoredField = tuple[str, str, AttributeBinding, tuple[tuple[str, str, AttributeBinding], ...]]
"""A document key, the field it holds, its binding and those of its sub-attributes."""


@cache
def _stored_fields(model: type[BaseModel]) -> tuple[StoredField, ...]:
    """Return the fields of a resource or extension model that the document holds.

    Sub-attributes are bound through their parent attribute, as a filter binds them, so a
    policy's comparison key sees the same binding when writing and when filtering.
    """
    extensions = (
        {m.__name__ for m in model.get_extension_models().values()}
        if issubclass(model, Resource)
        else set()
    )
    fields: list[StoredField] = []
    for field_name in model.model_fields:
        if field_name in extensions or field_name in COMMON_FIELDS:
            continue
        if model.get_field_annotation(field_name, Mutability) == Mutability.write_only:
            continue
        binding = _bind(model, field_name)
        if binding.urn in RELATION_URNS:
            continue
        sub_model = binding.field_type
        sub_bindings: tuple[tuple[str, str, AttributeBinding], ...] = ()
        if isclass(sub_model) and issubclass(sub_model, BaseModel):
            sub_bindings = tuple(
                (json_key(sub_model, sub_name), sub_name, _bind(model, field_name, sub_name))
                for sub_name in sub_model.model_fields
            )
        fields.append((json_key(model, field_name), field_name, binding, sub_bindings))
    return tuple(fields)
