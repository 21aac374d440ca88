"""The SQL tables of DESIGN §4.

A SCIM resource is stored as canonical JSON plus indexed projection columns for what IdPs
filter on; a group's members live in their own table so that a member PATCH touches only
the rows it changes, even on a group of 100,000 members.
"""

from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import TypeDecorator
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlmodel import Field
from sqlmodel import SQLModel

JSONDocument = JSON().with_variant(JSONB(), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL, where the filters use its operators."""


class Timestamp(TypeDecorator[datetime]):
    """A moment in UTC, timezone-aware on the way out whichever database keeps it.

    PostgreSQL keeps ``timestamptz``; SQLite keeps UTC text and gives naive datetimes back,
    which could not be compared with an aware ``now``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store every moment in UTC, so that SQLite's text sorts and compares."""
        return value.astimezone(UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Give back an aware moment: a naive one from SQLite is UTC."""
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Organization(SQLModel, table=True):
    """A customer: one Auth0 Organization with its own SCIM base URL and tokens."""

    __tablename__ = "organization"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(50), unique=True, nullable=False))
    """The URL key, ``^[a-z0-9][a-z0-9-]{0,49}$`` (Okta refuses base URLs with ``_``)."""
    auth0_org: str = Field(sa_column=Column(String(255), nullable=False))
    """The Auth0 organization id (``org_...``) or name, as the operator gave it."""
    display_name: str | None = None
    connection: str
    """The Auth0 connection users of this organization live in."""
    identity_mode: str = "create"
    """How Auth0 users are obtained: ``create``, ``link`` or ``invite`` (DESIGN §6)."""
    profile: str = "generic"
    """The mapping profile (``mappings/*.toml``) of the IdP feeding this organization."""
    leaver_policy: str = "remove_membership"
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp)


class ScimToken(SQLModel, table=True):
    """A bearer token of one organization; only its SHA-256 is kept."""

    __tablename__ = "scim_token"

    id: str = Field(primary_key=True, max_length=32)
    org_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("organization.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    name: str
    sha256: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    prefix: str
    """The first characters of the token, shown in listings so an operator can tell tokens apart."""
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp)
    expires_at: datetime | None = Field(default=None, sa_type=Timestamp)
    revoked_at: datetime | None = Field(default=None, sa_type=Timestamp)
    last_used_at: datetime | None = Field(default=None, sa_type=Timestamp)


class OperatorToken(SQLModel, table=True):
    """A bearer token of the admin API (DESIGN §3), issued by the CLI; only its SHA-256 is kept.

    Without ``org_id`` it acts on every organization (an operator); with one, on that
    organization only (what a customer's admin gets when the tenant has no Auth0 login for it).
    """

    __tablename__ = "operator_token"

    id: str = Field(primary_key=True, max_length=32)
    org_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("organization.id", ondelete="CASCADE"), index=True, nullable=True
        ),
    )
    name: str
    sha256: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    prefix: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp)
    expires_at: datetime | None = Field(default=None, sa_type=Timestamp)
    revoked_at: datetime | None = Field(default=None, sa_type=Timestamp)
    last_used_at: datetime | None = Field(default=None, sa_type=Timestamp)


class ScimResource(SQLModel, table=True):
    """A SCIM User or Group of one organization.

    ``document`` holds the resource as the client wrote it (without ``id``, ``meta``,
    ``password`` and, for groups, ``members``); ``search_document`` holds the same values
    in the form filters compare (the policy's comparison key: case-folded unless caseExact).
    A deleted user stays as a tombstone (``deleted_at``) so that a re-POST restores it.
    """

    __tablename__ = "scim_resource"
    __table_args__ = (
        Index(
            "uq_scim_resource_user_name",
            "org_id",
            "resource_type",
            "user_name_key",
            unique=True,
            sqlite_where=text("deleted_at IS NULL AND user_name_key IS NOT NULL"),
            postgresql_where=text("deleted_at IS NULL AND user_name_key IS NOT NULL"),
        ),
        Index(
            "uq_scim_resource_display_name",
            "org_id",
            "resource_type",
            "display_name_key",
            unique=True,
            sqlite_where=text("deleted_at IS NULL AND display_name_key IS NOT NULL"),
            postgresql_where=text("deleted_at IS NULL AND display_name_key IS NOT NULL"),
        ),
        # Live resources only: counting and paging a listing then never reads the table
        # (benchmarks/RESULTS.md: a page of 100,000 users went from 140-180 ms to about 100).
        Index(
            "ix_scim_resource_live_listing",
            "org_id",
            "resource_type",
            "created_at",
            "pk",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_scim_resource_user_name_any", "org_id", "resource_type", "user_name_key"),
        Index("ix_scim_resource_external_id_any", "org_id", "resource_type", "external_id"),
        Index("ix_scim_resource_email", "org_id", "resource_type", "email_key"),
    )

    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(sa_column=Column(String(36), unique=True, nullable=False))
    """The SCIM ``id``: a UUID, issued by us, never reassigned."""
    org_id: int = Field(
        sa_column=Column(Integer, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    )
    resource_type: str = Field(sa_column=Column(String(32), nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(JSONDocument, nullable=False))
    search_document: dict[str, Any] = Field(sa_column=Column(JSONDocument, nullable=False))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp)
    modified_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp)
    deleted_at: datetime | None = Field(default=None, sa_type=Timestamp)
    user_name_key: str | None = None
    """``userName`` under the comparison key (case-folded), unique per org among live users."""
    external_id: str | None = None
    """``externalId`` as sent, caseExact; unique per org and type among live resources only
    when the organization's mapping profile says so (checked in code, migration 0007)."""
    email_key: str | None = None
    """The primary (else first) email, case-folded: the key Auth0 lookups use."""
    display_name_key: str | None = None
    """Groups only: ``displayName`` case-folded, unique per org (Entra matches groups on it)."""
    active: bool | None = None


class GroupMember(SQLModel, table=True):
    """One member of one group, indexed both ways."""

    __tablename__ = "group_member"
    __table_args__ = (Index("ix_group_member_member", "member_pk", "group_pk"),)

    group_pk: int = Field(
        sa_column=Column(
            Integer, ForeignKey("scim_resource.pk", ondelete="CASCADE"), primary_key=True
        )
    )
    member_pk: int = Field(
        sa_column=Column(
            Integer, ForeignKey("scim_resource.pk", ondelete="CASCADE"), primary_key=True
        )
    )
    display: str | None = None
    type: str | None = None


class IdentityLink(SQLModel, table=True):
    """The tie between one SCIM user and its Auth0 user, with its desired and applied states.

    ``desired`` is what the last SCIM write asks for (``provisioning/desired.py``), written in
    the same transaction as that write; ``applied`` is what the worker last confirmed in Auth0
    (``provisioning/planner.py``). The worker reconciles one into the other (DESIGN §6).
    """

    __tablename__ = "identity_link"
    __table_args__ = (
        UniqueConstraint("org_id", "scim_id", name="uq_identity_link_scim_id"),
        Index("ix_identity_link_auth0_user_id", "org_id", "auth0_user_id"),
    )

    pk: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(
        sa_column=Column(Integer, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    )
    scim_id: str = Field(sa_column=Column(String(36), nullable=False))
    """The SCIM ``id`` of the user (a tombstone's too: a deleted user keeps its link)."""
    auth0_user_id: str | None = None
    link_method: str | None = None
    """How the Auth0 user was found: ``created``, ``matched_email``, ``login_hook``, ``invitation``."""
    owned: bool = False
    """Whether we created the Auth0 user: only then do we update its profile or block it."""
    invitation_id: str | None = None
    desired: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    applied: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = "pending"
    """``pending``, ``synced``, ``awaiting_login``, ``invited``, ``error`` or ``deprovisioned``."""
    last_synced_at: datetime | None = Field(default=None, sa_type=Timestamp)
    last_error: str | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp)


class SyncTask(SQLModel, table=True):
    """The durable queue: one row per user with work pending in Auth0 (DESIGN §6).

    A change bumps ``generation``; a reconcile deletes the row only when the generation it
    claimed is still the current one, so a change made meanwhile is never lost. A claim is a
    lease (``claimed_until``): a worker killed mid-reconcile lets the task be claimed again.
    """

    __tablename__ = "sync_task"
    __table_args__ = (UniqueConstraint("org_id", "scim_id", name="uq_sync_task_scim_id"),)

    pk: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(
        sa_column=Column(Integer, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    )
    scim_id: str = Field(sa_column=Column(String(36), nullable=False))
    generation: int = 1
    due_at: datetime = Field(
        sa_column=Column(Timestamp, nullable=False, index=True), default_factory=utcnow
    )
    attempts: int = 0
    last_error: str | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = Field(default=None, sa_type=Timestamp)
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp)


class MappingEvent(SQLModel, table=True):
    """One entry of the append-only mapping log (DESIGN §8): what happened to whom, and why."""

    __tablename__ = "mapping_event"
    __table_args__ = (
        Index("ix_mapping_event_at", "org_id", "at"),
        Index("ix_mapping_event_scim_id", "org_id", "scim_id"),
        Index("ix_mapping_event_email", "org_id", "email"),
        Index("ix_mapping_event_auth0_user_id", "org_id", "auth0_user_id"),
        Index("ix_mapping_event_external_id", "org_id", "external_id"),
        Index("ix_mapping_event_user_name", "org_id", "user_name"),
        Index("ix_mapping_event_request_id", "request_id"),
    )

    pk: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=Timestamp)
    org_id: int = Field(
        sa_column=Column(Integer, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    )
    request_id: str | None = None
    source: str
    """``scim``, ``worker``, ``hook``, ``reconcile``, ``cli`` or ``admin`` (the admin API)."""
    actor: str | None = None
    kind: str
    outcome: str = "ok"
    """``ok``, ``error`` or ``skipped``."""
    scim_id: str | None = Field(default=None, sa_column=Column(String(36), nullable=True))
    external_id: str | None = None
    user_name: str | None = None
    email: str | None = None
    auth0_user_id: str | None = None
    summary: str
    """One line for people, such as "Okta deactivated jdoe@acme.com: removed from acme"."""
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """Reasons (rule citations), Auth0 calls and their status, attribute diffs; never secrets."""


class RoleRule(SQLModel, table=True):
    """A role rule of one organization, stored as the definition ``mapping/rules.py`` validates."""

    __tablename__ = "role_rule"
    __table_args__ = (UniqueConstraint("org_id", "rule_id", name="uq_role_rule_rule_id"),)

    pk: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(
        sa_column=Column(Integer, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    )
    rule_id: str = Field(sa_column=Column(String(64), nullable=False))
    position: int
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class Auth0ScimToken(SQLModel, table=True):
    """The Auth0 SCIM token of an organization in mode ``relay``, encrypted (``storage/relay_tokens.py``).

    One per organization: a rotation replaces the row. Only ``sealed`` holds the secret, sealed
    with ``SCIM_SECRET_KEY``; the other columns say which token it is, for ``doctor`` and rotation.
    """

    __tablename__ = "auth0_scim_token"

    pk: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("organization.id", ondelete="CASCADE"), unique=True, nullable=False
        )
    )
    connection_id: str = Field(sa_column=Column(String(64), nullable=False))
    token_id: str = Field(sa_column=Column(String(64), nullable=False))
    sealed: str = Field(sa_column=Column(Text, nullable=False))
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=Timestamp)
    valid_until: datetime | None = Field(default=None, sa_type=Timestamp)
