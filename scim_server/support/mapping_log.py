"""Reading the mapping log: one person's timeline, found by any identity key (DESIGN §8).

Support staff hold whatever the ticket names: an email, an Okta externalId, an Auth0
``user_id``, a SCIM id. :func:`search_log` resolves it to the organization's SCIM users
(:func:`~scim_server.storage.identities.find_identities`, tombstones included) and returns
their events together with every event that carries the key itself, so that a person the
SCIM side no longer knows, or a login nobody provisioned, still has a timeline. The CLI
(``scim-server log``), the admin API and the admin page all read the log through here.

Every read is bound to one organization: nothing here can return another's events.
"""

import re
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import fields
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from scim_server.storage.database import Session
from scim_server.storage.events import OUTCOMES
from scim_server.storage.events import PersonKeys
from scim_server.storage.events import folded
from scim_server.storage.events import search_events
from scim_server.storage.events import storable
from scim_server.storage.identities import find_identities
from scim_server.storage.tables import MappingEvent
from scim_server.support.status import json_time

MAX_LIMIT = 10_000
"""The most events one read returns; a longer history is read in pages (``after_id``)."""

MAX_EVENT_ID = 2**63 - 1
"""The largest event id the databases hold (a signed 64-bit integer)."""

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class LogQueryError(ValueError):
    """A log query cannot be run as asked (a bad ``since``, outcome or limit): the user's mistake."""


def parse_since(text: str, *, now: datetime) -> datetime:
    """Read a ``--since`` value: an ISO 8601 date or time (UTC unless it says), or an age.

    >>> now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    >>> parse_since("30m", now=now).isoformat()
    '2026-11-28T11:30:00+00:00'
    >>> parse_since("7d", now=now).isoformat()
    '2026-11-21T12:00:00+00:00'
    >>> parse_since("2026-11-01", now=now).isoformat()
    '2026-11-01T00:00:00+00:00'
    >>> parse_since("2026-11-01T08:00:00+01:00", now=now).isoformat()
    '2026-11-01T07:00:00+00:00'
    >>> parse_since("99999999999999d", now=now)
    Traceback (most recent call last):
    ...
    scim_server.support.mapping_log.LogQueryError: since='99999999999999d' is further back than any date

    :raises LogQueryError: When it is neither.
    """
    value = text.strip()
    relative = _RELATIVE.match(value)
    try:
        if relative:
            amount, unit = relative.groups()
            return now - timedelta(**{_UNITS[unit]: int(amount)})
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except OverflowError:
        raise LogQueryError(f"since={text!r} is further back than any date") from None
    except ValueError:
        raise LogQueryError(
            f"Cannot read since={text!r}: give an ISO date or time (2026-11-01, "
            "2026-11-01T08:00Z) or an age such as 30m, 2h or 7d"
        ) from None


@dataclass(frozen=True)
class LogQuery:
    """What to read of an organization's log.

    :param user: Any identity key (SCIM id, externalId, userName, email, Auth0 user id, or a
        request id); ``None`` for the whole organization.
    :param since: Only events at or after this moment.
    :param outcome: Only ``ok``, ``error`` or ``skipped`` events.
    :param after_id: Only events appended after this one, oldest first (polling, ``--follow``).
    :param limit: At most this many events (1 to :data:`MAX_LIMIT`).
    :raises LogQueryError: When the outcome, ``after_id`` or the limit is out of range.
    """

    user: str | None = None
    since: datetime | None = None
    outcome: str | None = None
    after_id: int | None = None
    limit: int = 200

    def __post_init__(self) -> None:
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise LogQueryError(
                f"Unknown outcome {self.outcome!r}: use one of {', '.join(sorted(OUTCOMES))}"
            )
        if self.after_id is not None and not 0 <= self.after_id <= MAX_EVENT_ID:
            raise LogQueryError(f"after must be an event id, from 0 to {MAX_EVENT_ID}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise LogQueryError(f"The limit must be between 1 and {MAX_LIMIT}, not {self.limit}")
        if self.user is not None and not self.user.strip():
            raise LogQueryError("The user key must not be empty")


@dataclass(frozen=True)
class LogEntry:
    """One event of the log, as support reads it.

    :param id: The event's position in the log; ``LogQuery.after_id`` continues after it.
    :param details: ``reasons`` (role -> rule citations), Auth0 steps, causes; never secrets.
    """

    id: int
    at: datetime
    source: str
    actor: str | None
    kind: str
    outcome: str
    request_id: str | None
    scim_id: str | None
    external_id: str | None
    user_name: str | None
    email: str | None
    auth0_user_id: str | None
    summary: str
    details: dict[str, Any]

    @classmethod
    def of(cls, event: MappingEvent) -> "LogEntry":
        """Return the entry of a stored event (its columns, ``pk`` as ``id``).

        Its strings are made :func:`~scim_server.storage.events.storable` again: events
        logged before that rule (SQLite kept lone surrogates in ``details``) must not break
        the JSON answers and the terminal that show them.
        """
        assert event.pk is not None
        columns = {f.name: getattr(event, f.name) for f in fields(cls) if f.name != "id"}
        return cls(id=event.pk, **storable({**columns, "details": dict(event.details)}))

    @property
    def reasons(self) -> dict[str, list[str]]:
        """Return the rule citations behind each role the event granted or asked for."""
        found = self.details.get("reasons") or self.details.get("roles") or {}
        if not isinstance(found, dict):
            return {}
        return {str(role): [str(c) for c in cites] for role, cites in found.items()}

    def to_json(self) -> dict[str, Any]:
        """Return the entry as JSON (the admin API's and ``log --json``'s shape)."""
        return {**asdict(self), "at": json_time(self.at)}


async def search_log(session: Session, *, org_id: int, query: LogQuery) -> list[LogEntry]:
    """Return an organization's events that match, oldest first.

    Without ``after_id``: the newest ``limit`` matching events. With it: the next ``limit``
    matching events appended after that one.
    """
    keys = None
    if query.user is not None:
        keys = await person_keys(session, org_id=org_id, key=query.user)
    events = await search_events(
        session,
        org_id=org_id,
        keys=keys,
        since=query.since,
        outcome=query.outcome,
        after_pk=query.after_id,
        limit=query.limit,
    )
    return [LogEntry.of(event) for event in events]


async def person_keys(session: Session, *, org_id: int, key: str) -> PersonKeys:
    """Return every key the person known by ``key`` may appear under in the log.

    The key itself, in each column (it may be a SCIM id, an externalId, a userName, an email,
    an Auth0 user id or a request id), and every key of the SCIM users it resolves to, so that
    an email finds the login events of the user's Auth0 id and the reverse.
    """
    exact = key.strip()
    lowered = folded(exact) or exact
    found = await find_identities(session, org_id=org_id, key=exact)

    def known(*values: str | None) -> frozenset[str]:
        return frozenset(value for value in values if value)

    return PersonKeys(
        scim_ids=known(exact, *(i.scim_id for i in found)),
        external_ids=known(exact, *(i.external_id for i in found)),
        user_names=known(lowered, *(folded(i.user_name) for i in found)),
        emails=known(lowered, *(folded(i.email) for i in found)),
        auth0_user_ids=known(exact, *(i.auth0_user_id for i in found)),
        request_ids=known(exact),
    )
