"""``sortBy`` (RFC 7644 §3.4.2.3) translated into ORDER BY expressions over ``scim_resource``.

The order is the one ``SearchRequest.sort`` gives: strings by their comparison key (caseExact
or not), a multi-valued attribute by its primary value or else its first one (the first of
the list in ``search_document``), and resources without a value last when ascending, first
when descending. Callers append their tie-breakers (``created_at``, ``pk``).
"""

from collections.abc import Mapping
from typing import Any

from scim2_models import InvalidPathException
from scim2_models import Path
from scim2_models import Resource
from scim2_models import SearchRequest
from scim2_models.path import AttributeBinding
from scim2_models.path.resolution import _bind
from sqlalchemy import ColumnElement
from sqlalchemy import case

from scim_server.storage.document_sql import DocumentSql
from scim_server.storage.document_sql import Key
from scim_server.storage.documents import RELATION_URNS
from scim_server.storage.documents import Kind
from scim_server.storage.documents import json_key
from scim_server.storage.documents import kind_of
from scim_server.storage.filters import INDEXED_COLUMNS
from scim_server.storage.filters import RESOURCE
from scim_server.storage.filters import _sub_key

COLUMNS: dict[tuple[str, str | None], ColumnElement[Any]] = {
    ("id", None): RESOURCE.c.id,
    ("external_id", None): RESOURCE.c.external_id,
    ("meta", "created"): RESOURCE.c.created_at,
    ("meta", "last_modified"): RESOURCE.c.modified_at,
    ("meta", "resource_type"): RESOURCE.c.resource_type,
}
"""The common attributes (RFC 7643 §3.1) that are sorted on their column."""


def sort_clause(
    sort_by: Path[Any],
    *,
    model: type[Resource[Any]] | Mapping[str, type[Resource[Any]]],
    dialect: str,
    descending: bool,
) -> list[ColumnElement[Any]]:
    """Return the ORDER BY expressions that order resources as ``SearchRequest.sort`` does.

    :param sort_by: ``SearchRequest.sort_by``.
    :param model: The resource model of the rows; at the server root, a mapping of each
        resource type name to its model, so that each row is sorted by its own attribute.
    :param dialect: ``sqlite`` or ``postgresql``.
    :param descending: Whether ``sortOrder`` is ``descending``.
    :return: The expressions, empty when no model declares the attribute: every resource
        then lacks the value, and keeps the callers' order.
    :raises InvalidPathException: If SQL cannot sort on the attribute.
    """
    sql = DocumentSql(dialect)
    request: SearchRequest[Any] = SearchRequest(sort_by=str(sort_by))
    if isinstance(model, Mapping):
        values = {
            name: value
            for name, each in model.items()
            if (value := _sort_value(request, each, sql)) is not None
        }
        if not values:
            return []
        if len({kind for _, kind in values.values()}) > 1:
            raise InvalidPathException(
                path=str(sort_by), detail=f"{str(sort_by)!r} has a different type per resource type"
            )
        expression: ColumnElement[Any] = case(
            *((RESOURCE.c.resource_type == name, value) for name, (value, _) in values.items())
        )
    else:
        found = _sort_value(request, model, sql)
        if found is None:
            return []
        expression = found[0]
    if descending:
        return [expression.desc().nulls_first()]
    return [expression.asc().nulls_last()]


def _sort_value(
    request: SearchRequest[Any], model: type[Resource[Any]], sql: DocumentSql
) -> tuple[ColumnElement[Any], Kind] | None:
    """Return the value a row of ``model`` sorts by, and its kind."""
    binding = request.sort_binding(model)
    if binding is None:
        return None
    kind = kind_of(binding.target_type)
    if kind is None or kind == Kind.complex:
        raise _unsortable(binding)
    if issubclass(binding.model, Resource) and binding.field_name in ("id", "external_id", "meta"):
        column = COLUMNS.get((binding.field_name, binding.sub_field_name))
        if column is None:
            raise _unsortable(binding)
        return (column if kind == Kind.datetime else sql.ordered(column, kind)), kind
    if _bind(binding.model, binding.field_name).urn in RELATION_URNS:
        raise _unsortable(binding)
    if binding.urn in INDEXED_COLUMNS:
        return sql.ordered(INDEXED_COLUMNS[binding.urn], kind), kind

    keys: tuple[Key, ...] = (json_key(binding.model, binding.field_name),)
    if not issubclass(binding.model, Resource):
        keys = (str(getattr(binding.model, "__schema__", "")).lower(), *keys)
    if binding.is_multivalued:
        keys = (*keys, 0)  # the primary value, else the first (search_document puts it first)
    if binding.sub_field_name is not None:
        keys = (*keys, _sub_key(binding))
    value = sql.value(RESOURCE.c.search_document, keys, kind)
    return sql.ordered(value, kind), kind


def _unsortable(binding: AttributeBinding) -> InvalidPathException:
    return InvalidPathException(path=binding.urn, detail=f"Cannot sort on {binding.urn!r} in SQL")
