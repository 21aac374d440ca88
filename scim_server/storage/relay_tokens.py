"""The Auth0 SCIM token each organization in mode ``relay`` keeps, encrypted at rest.

Why one stored token per organization, rather than short-lived tokens minted on demand and kept
nowhere: Auth0 allows at most two active SCIM tokens per connection, each living at least 900 s.
Replicas (or a worker restarting) that each minted their own would fill both places within
seconds and then be locked out for up to fifteen minutes; sharing one token between them needs
shared state, which is this table anyway. Minting on demand would also need ``create:scim_token``
at run time and spend Management API calls on every start. So the token is minted once at set-up
(and at rotation), shared by every replica through the database, and sealed with
``SCIM_SECRET_KEY`` (:mod:`~scim_server.storage.secret_box`): a database dump alone does not
reveal it. The secret lives only in :attr:`RelayToken.token`, never in a ``repr``, a log line or
the mapping log.

A :class:`RelayTokenVault` is bound to one organization when it is built, and every write is its
own committed transaction: a rotation mints the new token, *stores* it, and only then deletes
the old one at Auth0, so a crash in between never leaves the organization without a token.
"""

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from sqlmodel import select

from scim_server.storage.database import Database
from scim_server.storage.database import Session
from scim_server.storage.secret_box import SecretBox
from scim_server.storage.tables import Auth0ScimToken


@dataclass(frozen=True)
class RelayToken:
    """An organization's Auth0 SCIM token: which one it is, and the secret itself."""

    connection_id: str
    token_id: str
    scopes: tuple[str, ...]
    created_at: datetime
    valid_until: datetime | None
    token: str = field(repr=False)

    def is_active(self, now: datetime) -> bool:
        """Tell whether the token has not expired."""
        return self.valid_until is None or now < self.valid_until


class RelayTokenVault:
    """The stored Auth0 SCIM token of one organization.

    :param org_id: The organization it belongs to; the vault sees no other.
    :param box: Seals and opens the secret.
    """

    def __init__(self, database: Database, *, org_id: int, box: SecretBox) -> None:
        self._database = database
        self._org_id = org_id
        self._box = box

    async def _row(self, session: Session) -> Auth0ScimToken | None:
        result = await session.scalars(
            select(Auth0ScimToken).where(Auth0ScimToken.org_id == self._org_id)
        )
        return result.first()

    async def load(self) -> RelayToken | None:
        """Return the stored token, or ``None`` when the organization has none yet.

        :raises ConfigError: When ``SCIM_SECRET_KEY`` cannot open it.
        """
        async with self._database.session() as session:
            row = await self._row(session)
        if row is None:
            return None
        return RelayToken(
            connection_id=row.connection_id,
            token_id=row.token_id,
            scopes=tuple(row.scopes),
            created_at=row.created_at,
            valid_until=row.valid_until,
            token=self._box.open(row.sealed),
        )

    async def store(self, token: RelayToken) -> None:
        """Make ``token`` the organization's token, replacing any other, and commit."""
        async with self._database.session() as session:
            row = await self._row(session) or Auth0ScimToken(
                org_id=self._org_id, connection_id="", token_id="", sealed=""
            )
            row.connection_id = token.connection_id
            row.token_id = token.token_id
            row.sealed = self._box.seal(token.token)
            row.scopes = list(token.scopes)
            row.created_at = token.created_at
            row.valid_until = token.valid_until
            session.add(row)
            await session.commit()
