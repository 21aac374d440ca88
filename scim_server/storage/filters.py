"""SCIM filters (RFC 7644 §3.4.2.2) translated into SQL conditions over ``scim_resource``.

The translation follows ``ScimFilter.match`` (scim2_models.path.visitor) rule for rule, so
SQL keeps exactly the resources the reference evaluator keeps: attributes resolve as there
(an attribute the model does not declare is false, RFC 7644 §3.4.2.1), a comparison on a
multi-valued attribute holds when one of its values holds (``ne``: when none is equal), an
unassigned value is ``null``, strings compare under the policy's comparison key (stored in
``search_document``, see :mod:`scim_server.storage.documents`), values of another type
never match. Every condition is two-valued: SQL's unknown never reaches a ``not``.

What SQL cannot answer as the evaluator would raises ``InvalidFilterException`` (400
invalidFilter): the storage serves no page filtered in Python and no empty page for a
filter it does not understand.

This module is over 400 lines because a filter has that many cases; the dialect details
are in :mod:`scim_server.storage.document_sql`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Protocol
from typing import cast

from scim2_models import BaseModel
from scim2_models import InvalidFilterException
from scim2_models import Resource
from scim2_models.path import STRING_OPERATORS
from scim2_models.path import AttributeBinding
from scim2_models.path import AttrPath
from scim2_models.path import CompareOperator
from scim2_models.path import Comparison
from scim2_models.path import FilterNode
from scim2_models.path import FilterVisitor
from scim2_models.path import LogicalExpr
from scim2_models.path import LogicalOperator
from scim2_models.path import Not
from scim2_models.path import Present
from scim2_models.path import ValuePath
from scim2_models.path import coerce_value
from scim2_models.path.resolution import _bind
from scim2_models.path.resolution import _resolve_filter_path
from scim2_models.path.resolution import _validate_operator
from scim2_models.path.resolution import _validate_value_selection
from sqlalchemy import ColumnElement
from sqlalchemy import DateTime
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import not_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.orm import aliased

from scim_server.storage.document_sql import DocumentSql
from scim_server.storage.document_sql import Key
from scim_server.storage.documents import Kind
from scim_server.storage.documents import comparison_form
from scim_server.storage.documents import json_key
from scim_server.storage.documents import kind_of
from scim_server.storage.tables import GroupMember
from scim_server.storage.tables import ScimResource

Condition = ColumnElement[bool]

RESOURCE = cast(Table, ScimResource.__table__)  # type: ignore[attr-defined]
"""The ``scim_resource`` table, whose columns are typed as SQL expressions."""

GROUP_MEMBERS = "urn:ietf:params:scim:schemas:core:2.0:Group:members"
USER_GROUPS = "urn:ietf:params:scim:schemas:core:2.0:User:groups"
INDEXED_COLUMNS: dict[str, ColumnElement[Any]] = {
    "urn:ietf:params:scim:schemas:core:2.0:User:userName": RESOURCE.c.user_name_key,
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName": RESOURCE.c.display_name_key,
}
"""Attributes whose comparison key has an indexed column, so that IdP lookups hit it."""


def filter_clause(
    node: FilterNode, *, model: type[Resource[Any]], dialect: str
) -> ColumnElement[bool]:
    """Return the SQL condition keeping the resources of ``model`` that a filter matches.

    :param node: The parsed filter, ``ScimFilter.ast``.
    :param model: The resource model the rows are read as; at the server root, call it once
        per resource type and join the conditions with the type of each.
    :param dialect: ``sqlite`` or ``postgresql``.
    :raises InvalidFilterException: If SQL cannot evaluate the filter as
        ``ScimFilter.match`` would, or the filter compares an attribute in a way its type
        forbids.
    """
    return _ResourceFilter(model, DocumentSql(dialect)).visit(node)


def _invalid(binding: AttributeBinding, why: str) -> InvalidFilterException:
    return InvalidFilterException(detail=f"'{binding.urn}' {why}")


@dataclass(frozen=True)
class _Scalar:
    """One value of an attribute to compare, SQL ``NULL`` when unassigned."""

    expression: ColumnElement[Any]
    kind: Kind
    binding: AttributeBinding
    is_column: bool = False
    """A column holds its own SQL type, a document value the form of its kind."""
    is_presence_only: bool = False
    """SQL holds the value but not its comparison key: only ``pr`` is answerable."""


def _constant(op: CompareOperator) -> Condition:
    """Answer a comparison with a value of another type: ``ne`` holds, nothing else does."""
    return true() if op == CompareOperator.ne else false()


def _compare(sql: DocumentSql, scalar: _Scalar, op: CompareOperator, expected: Any) -> Condition:
    """Compare one value as scim2_models' ``_compare`` does, ``null`` included."""
    value = scalar.expression
    if expected is None:
        if op == CompareOperator.eq:
            return value.is_(None)
        if op == CompareOperator.ne:
            return value.is_not(None)
        return false()
    if scalar.is_presence_only:
        raise _invalid(scalar.binding, "can only be tested with pr")
    if op in STRING_OPERATORS:
        return _compare_substring(sql, scalar, op, expected)
    if scalar.kind == Kind.number and isinstance(expected, bool):
        expected = int(expected)  # Python compares True as 1
    if not _is_of_kind(expected, scalar.kind):
        return _constant(op)
    try:
        operand = _operand(sql, scalar, expected)
    except ValueError:  # the policy cannot prepare the string: equal to nothing
        return _constant(op)
    if operand is None:
        return _constant(op)
    if op == CompareOperator.eq:
        return and_(value.is_not(None), value == operand)
    if op == CompareOperator.ne:
        return or_(value.is_(None), value != operand)
    is_timestamp = scalar.is_column and scalar.kind == Kind.datetime
    ordered = value if is_timestamp else sql.ordered(value, scalar.kind)
    comparisons: dict[CompareOperator, Callable[[], Condition]] = {
        CompareOperator.gt: lambda: ordered > operand,
        CompareOperator.ge: lambda: ordered >= operand,
        CompareOperator.lt: lambda: ordered < operand,
        CompareOperator.le: lambda: ordered <= operand,
    }
    condition = and_(value.is_not(None), comparisons[op]())
    if scalar.kind == Kind.datetime and not scalar.is_column:
        # Python refuses to order a naive moment against an aware one: same widths only.
        condition = and_(
            condition, func.length(value) == len(comparison_form(scalar.binding, expected))
        )
    return condition


def _is_of_kind(value: Any, kind: Kind) -> bool:
    expected_types: dict[Kind, type | tuple[type, ...]] = {
        Kind.string: str,
        Kind.boolean: bool,
        Kind.number: (int, float),
        Kind.datetime: datetime,
        Kind.binary: bytes,
    }
    return kind in expected_types and isinstance(value, expected_types[kind])


def _operand(sql: DocumentSql, scalar: _Scalar, expected: Any) -> ColumnElement[Any] | None:
    """Return the bound form of a comparison value, or None when it equals no stored value."""
    if not scalar.is_column:
        return sql.literal(comparison_form(scalar.binding, expected), scalar.kind)
    if scalar.kind == Kind.datetime:
        # The meta dates are aware; Python never finds a naive moment equal to one.
        if expected.tzinfo is None:
            return None
        column_type = scalar.expression.type
        moment = expected.astimezone(UTC)
        if not (isinstance(column_type, DateTime) and column_type.timezone):
            moment = moment.replace(tzinfo=None)
        return literal(moment, column_type)
    return literal(scalar.binding.comparable(expected), String)


def _compare_substring(
    sql: DocumentSql, scalar: _Scalar, op: CompareOperator, expected: Any
) -> Condition:
    """Apply ``co``, ``sw`` or ``ew``, which only ever hold between two strings."""
    if scalar.kind != Kind.string or not isinstance(expected, str):
        return false()
    try:
        part = scalar.binding.comparable(expected)
    except ValueError:
        return false()
    value = scalar.expression
    if not part:
        return value.is_not(None)
    tests = {
        CompareOperator.co: sql.contains,
        CompareOperator.sw: sql.starts_with,
        CompareOperator.ew: sql.ends_with,
    }
    return and_(value.is_not(None), tests[op](value, part))


def _present(scalar: _Scalar) -> Condition:
    """Apply ``pr``: an empty string is no value, ``false`` and ``0`` are (RFC 7644 §3.4.2.2)."""
    value = scalar.expression
    if scalar.kind in (Kind.string, Kind.binary):
        return and_(value.is_not(None), value != "")
    return value.is_not(None)


def _sub_key(binding: AttributeBinding) -> str:
    """Return the document key of the sub-attribute a binding names."""
    assert binding.sub_field_name is not None
    return json_key(cast(type[BaseModel], binding.field_type), binding.sub_field_name)


def _kind(binding: AttributeBinding) -> Kind:
    kind = kind_of(binding.target_type)
    if kind is None:
        raise _invalid(binding, "has a type filters cannot compare")
    return kind


def _sub_bindings(binding: AttributeBinding) -> list[tuple[str, AttributeBinding]]:
    """Return the sub-attributes of a complex attribute, bound through it."""
    sub_model = binding.field_type
    assert isinstance(sub_model, type) and issubclass(sub_model, BaseModel)
    return [
        (name, _bind(binding.model, binding.field_name, name)) for name in sub_model.model_fields
    ]


class _Attribute(Protocol):
    """What a filter can ask of one attribute of a resource."""

    def compare(self, op: CompareOperator, expected: Any) -> Condition: ...

    def present(self) -> Condition: ...

    def select(self, val_filter: FilterNode) -> Condition: ...


@dataclass(frozen=True)
class _SingleValue:
    """A single-valued simple attribute, or one sub-attribute of a single complex value."""

    sql: DocumentSql
    scalar: _Scalar

    def compare(self, op: CompareOperator, expected: Any) -> Condition:
        return _compare(self.sql, self.scalar, op, expected)

    def present(self) -> Condition:
        return _present(self.scalar)

    def select(self, val_filter: FilterNode) -> Condition:
        raise _invalid(self.scalar.binding, "holds no values to select")


@dataclass(frozen=True)
class _ComplexValue:
    """A single-valued complex attribute (``name``, ``meta``): equal to no simple value."""

    present_if: Condition
    """Whether the attribute is assigned."""
    sub_values: tuple[_Scalar, ...]

    def compare(self, op: CompareOperator, expected: Any) -> Condition:
        if expected is None:
            if op == CompareOperator.eq:
                return not_(self.present_if)
            return self.present_if if op == CompareOperator.ne else false()
        return _constant(op)

    def present(self) -> Condition:
        return or_(*(_present(sub_value) for sub_value in self.sub_values))

    def select(self, val_filter: FilterNode) -> Condition:
        raise AssertionError("a value selection on a single value is refused before")


class _Row(Protocol):
    """One value of a multi-valued attribute, inside the EXISTS ranging over them."""

    def field(self, field_name: str, binding: AttributeBinding) -> _Scalar:
        """Return a sub-attribute of a complex value."""

    def itself(self, binding: AttributeBinding) -> _Scalar:
        """Return a simple value."""

    def is_present(self, binding: AttributeBinding) -> Condition:
        """Return whether a complex value has a sub-attribute present."""


class _Rows(Protocol):
    """The values of a multi-valued attribute."""

    def is_assigned(self) -> Condition:
        """Return whether the attribute holds a list, even an empty one."""

    def any(self, condition: Callable[[_Row], Condition]) -> Condition:
        """Return whether one value satisfies a condition."""


@dataclass(frozen=True)
class _JsonRow:
    sql: DocumentSql
    value: ColumnElement[Any]
    rows: Any

    def field(self, field_name: str, binding: AttributeBinding) -> _Scalar:
        kind = _kind(binding)
        if kind == Kind.complex:
            raise _invalid(binding, "is complex inside a complex attribute")
        model = binding.target_model or binding.model
        key = json_key(model, field_name)
        return _Scalar(self.sql.value(self.value, (key,), kind), kind, binding)

    def itself(self, binding: AttributeBinding) -> _Scalar:
        kind = _kind(binding)
        return _Scalar(self.sql.element(self.rows, kind), kind, binding)

    def is_present(self, binding: AttributeBinding) -> Condition:
        sub_model = binding.field_type
        assert isinstance(sub_model, type) and issubclass(sub_model, BaseModel)
        return or_(*(_present(self.field(name, sub)) for name, sub in _sub_bindings(binding)))


@dataclass(frozen=True)
class _JsonRows:
    sql: DocumentSql
    document: Any
    keys: tuple[Key, ...]

    def is_assigned(self) -> Condition:
        return self.sql.has(self.document, self.keys)

    def any(self, condition: Callable[[_Row], Condition]) -> Condition:
        rows = self.sql.elements(self.document, self.keys)
        row = _JsonRow(self.sql, rows.c.value, rows)
        return exists(select(literal(1)).select_from(rows).where(condition(row)))


@dataclass(frozen=True)
class _MemberRow:
    """A ``group_member`` row with the member it names, read as a SCIM ``members`` value."""

    membership: Any
    member: Any

    def field(self, field_name: str, binding: AttributeBinding) -> _Scalar:
        if field_name == "value":
            return _Scalar(self.member.id, Kind.string, binding, is_column=True)
        if field_name in ("display", "type"):
            # Stored as sent, not under the comparison key that their case rules need.
            column = getattr(self.membership, field_name)
            return _Scalar(column, Kind.string, binding, is_column=True, is_presence_only=True)
        if field_name == "ref":
            # The storage writes every member's $ref; only its presence is certain here.
            return _Scalar(self.member.id, Kind.string, binding, is_presence_only=True)
        raise _invalid(binding, "is not stored with group members")

    def itself(self, binding: AttributeBinding) -> _Scalar:
        raise AssertionError("members are complex values")

    def is_present(self, binding: AttributeBinding) -> Condition:
        return true()  # every member has its value


class _MemberRows:
    """The members of a group, as ``group_member`` rows joined to the member resources."""

    def is_assigned(self) -> Condition:
        # A group without members has no ``members`` attribute at all.
        return self.any(lambda row: true())

    def any(self, condition: Callable[[_Row], Condition]) -> Condition:
        membership = aliased(GroupMember)
        member = aliased(ScimResource)
        return exists(
            select(literal(1))
            .select_from(membership)
            .join(member, member.pk == membership.member_pk)  # type: ignore[arg-type]
            .where(
                membership.group_pk == RESOURCE.c.pk,  # type: ignore[arg-type]
                condition(_MemberRow(membership, member)),
            )
        )


@dataclass(frozen=True)
class _MultiValue:
    """A multi-valued attribute, or one sub-attribute across its values (``emails.type``)."""

    sql: DocumentSql
    rows: _Rows
    binding: AttributeBinding

    def _value(self, row: _Row) -> _Scalar | None:
        if self.binding.sub_field_name is not None:
            return row.field(self.binding.sub_field_name, self.binding)
        if _kind(self.binding) == Kind.complex:
            return None
        return row.itself(self.binding)

    def compare(self, op: CompareOperator, expected: Any) -> Condition:
        def holds(row: _Row) -> Condition:
            value = self._value(row)
            if value is None:  # a complex value equals no simple value, and is no null
                return true() if op == CompareOperator.ne else false()
            return _compare(self.sql, value, op, expected)

        if op == CompareOperator.ne:
            values = and_(
                self.rows.is_assigned(), not_(self.rows.any(lambda row: not_(holds(row))))
            )
        else:
            values = self.rows.any(holds)
        unassigned_holds = (op == CompareOperator.eq and expected is None) or (
            op == CompareOperator.ne and expected is not None
        )
        if unassigned_holds:
            return or_(not_(self.rows.is_assigned()), values)
        return values

    def present(self) -> Condition:
        def holds(row: _Row) -> Condition:
            value = self._value(row)
            return row.is_present(self.binding) if value is None else _present(value)

        return self.rows.any(holds)

    def select(self, val_filter: FilterNode) -> Condition:
        if _kind(self.binding) == Kind.complex:
            item_model = self.binding.field_type
            assert isinstance(item_model, type) and issubclass(item_model, BaseModel)
            return self.rows.any(
                lambda row: _ValueFilter(self.sql, row, item_model, self.binding).visit(val_filter)
            )
        return self.rows.any(
            lambda row: _SimpleValueFilter(self.sql, row.itself(self.binding)).visit(val_filter)
        )


class _LogicFilter(FilterVisitor[Condition]):
    """The connectives, common to every scope of a filter."""

    def visit_not(self, node: Not) -> Condition:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> Condition:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)


class _ResourceFilter(_LogicFilter):
    """A filter over the resources of one model."""

    def __init__(self, model: type[Resource[Any]], sql: DocumentSql) -> None:
        self.model = model
        self.sql = sql

    def visit_comparison(self, node: Comparison) -> Condition:
        binding = _resolve_filter_path(
            self.model, node.attr_path, strict=False, for_comparison=True
        )
        if binding is None:
            return false()
        if node.op in (CompareOperator.eq, CompareOperator.ne) and node.value is not None:
            binding = self._single_complex_value(node.attr_path, binding)
        _validate_operator(binding, node.op)
        expected = coerce_value(binding, node.value, node.op)
        return self._attribute(binding).compare(node.op, expected)

    def _single_complex_value(
        self, attr_path: AttrPath, binding: AttributeBinding
    ) -> AttributeBinding:
        """Compare a single complex attribute holding a ``value`` through that value.

        Entra queries ``id eq "…" and manager eq "<manager id>"`` before it writes a manager
        (idp-quirks §5.2), where ``ScimFilter.match`` compares the whole ``manager`` to a
        string and never matches; RFC 7643 §2.4 makes ``value`` what such a comparison
        means for a multi-valued attribute, and this reads ``manager`` the same way. Only
        ``eq`` and ``ne`` against a value are read so: everything else stays as the
        evaluator has it (pinned by ``test_a_comparison_on_manager_compares_its_value``).
        """
        sub_model = binding.field_type
        if (
            binding.sub_field_name is None
            and not binding.is_multivalued
            and isinstance(sub_model, type)
            and issubclass(sub_model, BaseModel)
            and "value" in sub_model.model_fields
        ):
            value_path = AttrPath(attr_path.attr, "value", attr_path.uri)
            rebound = _resolve_filter_path(self.model, value_path, strict=False)
            return rebound or binding
        return binding

    def visit_present(self, node: Present) -> Condition:
        binding = _resolve_filter_path(self.model, node.attr_path, strict=False)
        if binding is None:
            return false()
        return self._attribute(binding).present()

    def visit_value_path(self, node: ValuePath) -> Condition:
        binding = _resolve_filter_path(self.model, node.attr_path, strict=False)
        if binding is None:
            return false()
        _validate_value_selection(binding)
        return self._attribute(binding).select(node.val_filter)

    def _attribute(self, binding: AttributeBinding) -> _Attribute:
        is_extension = not issubclass(binding.model, Resource)
        if not is_extension and binding.field_name in ("id", "external_id", "meta"):
            return self._common_attribute(binding)
        head_urn = _bind(binding.model, binding.field_name).urn
        if head_urn == GROUP_MEMBERS:
            return _MultiValue(self.sql, _MemberRows(), binding)
        if head_urn == USER_GROUPS:
            raise _invalid(binding, "is not stored on users: filter the groups on members")
        if binding.urn in INDEXED_COLUMNS:
            column = INDEXED_COLUMNS[binding.urn]
            return _SingleValue(self.sql, _Scalar(column, Kind.string, binding, is_column=True))

        document = RESOURCE.c.search_document
        keys: tuple[Key, ...] = (json_key(binding.model, binding.field_name),)
        if is_extension:
            keys = (str(getattr(binding.model, "__schema__", "")).lower(), *keys)
        if binding.is_multivalued:
            return _MultiValue(self.sql, _JsonRows(self.sql, document, keys), binding)
        kind = _kind(binding)
        if binding.sub_field_name is not None:
            keys = (*keys, _sub_key(binding))
        elif kind == Kind.complex:
            return _ComplexValue(
                self.sql.has(document, keys),
                tuple(
                    _Scalar(
                        self.sql.value(document, (*keys, _sub_key(sub)), _kind(sub)),
                        _kind(sub),
                        sub,
                    )
                    for _, sub in _sub_bindings(binding)
                ),
            )
        return _SingleValue(self.sql, _Scalar(self.sql.value(document, keys, kind), kind, binding))

    def _common_attribute(self, binding: AttributeBinding) -> _Attribute:
        """Read ``id``, ``externalId`` and ``meta`` from their columns (RFC 7643 §3.1)."""
        columns: dict[tuple[str, str | None], tuple[Any, Kind]] = {
            ("id", None): (RESOURCE.c.id, Kind.string),
            ("external_id", None): (RESOURCE.c.external_id, Kind.string),
            ("meta", "created"): (RESOURCE.c.created_at, Kind.datetime),
            ("meta", "last_modified"): (RESOURCE.c.modified_at, Kind.datetime),
            ("meta", "resource_type"): (RESOURCE.c.resource_type, Kind.string),
        }
        key = (binding.field_name, binding.sub_field_name)
        if key in columns:
            column, kind = columns[key]
            return _SingleValue(self.sql, _Scalar(column, kind, binding, is_column=True))
        if key == ("meta", None):
            # Every stored resource has its meta, with its dates at least.
            return _ComplexValue(true(), (_Scalar(RESOURCE.c.created_at, Kind.datetime, binding),))
        raise _invalid(binding, "is computed when a resource is read, not stored")


class _ValueFilter(_LogicFilter):
    """The filter of a value selection, over one complex value (``emails[type eq "work"]``)."""

    def __init__(
        self,
        sql: DocumentSql,
        row: _Row,
        item_model: type[BaseModel],
        selected: AttributeBinding,
    ) -> None:
        self.sql = sql
        self.row = row
        self.item_model = item_model
        self.selected = selected

    def _scalar(self, attr_path: AttrPath, *, for_comparison: bool = False) -> _Scalar | None:
        binding = _resolve_filter_path(
            self.item_model, attr_path, strict=False, for_comparison=for_comparison
        )
        if binding is None:
            return None
        binding = binding._nested_in(self.selected.urn)
        if binding.sub_field_name is not None or binding.is_multivalued:
            raise _invalid(binding, "is not a simple sub-attribute")
        return self.row.field(binding.field_name, binding)

    def visit_comparison(self, node: Comparison) -> Condition:
        scalar = self._scalar(node.attr_path, for_comparison=True)
        if scalar is None:
            return false()
        _validate_operator(scalar.binding, node.op)
        expected = coerce_value(scalar.binding, node.value, node.op)
        return _compare(self.sql, scalar, node.op, expected)

    def visit_present(self, node: Present) -> Condition:
        scalar = self._scalar(node.attr_path)
        return false() if scalar is None else _present(scalar)

    def visit_value_path(self, node: ValuePath) -> Condition:
        binding = _resolve_filter_path(self.item_model, node.attr_path, strict=False)
        if binding is None:
            return false()
        _validate_value_selection(binding)
        raise _invalid(binding, "is a value selection nested in another")


class _SimpleValueFilter(_LogicFilter):
    """The filter of a value selection over simple values, which ``value`` names.

    As scim2-models' ``_ScalarEvaluator``: ``schemas[value eq "urn:…"]``; any other name
    matches nothing, and the compared value is taken as written in the filter.
    """

    def __init__(self, sql: DocumentSql, scalar: _Scalar) -> None:
        self.sql = sql
        self.scalar = scalar

    @staticmethod
    def _names_value(attr_path: AttrPath) -> bool:
        return attr_path.attr.lower() == "value" and not attr_path.sub_attr

    def visit_comparison(self, node: Comparison) -> Condition:
        if not self._names_value(node.attr_path):
            return false()
        return _compare(self.sql, self.scalar, node.op, node.value)

    def visit_present(self, node: Present) -> Condition:
        return _present(self.scalar) if self._names_value(node.attr_path) else false()

    def visit_value_path(self, node: ValuePath) -> Condition:
        return false()
