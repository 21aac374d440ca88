"""One ``POST /organizations/{id}/members`` for up to 10 joiners reconciled at the same time.

Auth0 takes at most 10 users per add-members call (auth0.md §0.7), and a joiner costs one call
fewer when its membership rides with others'. Reconciles run concurrently in the worker; each is
a *participant* of the batcher while it runs. A participant that reaches its add-member step
waits here, and the pending adds of an organization go out together as soon as

- ten of them are pending for that organization, or
- every running participant is either waiting here or finished (nobody else can join), or
- the oldest has waited ``linger`` seconds (a participant stuck on a slow call does not hold
  the others back for long).

A refusal of a batch (4xx) is retried user by user, so that one bad user id does not fail nine
good ones; an unavailable Auth0 (429, 5xx) fails every waiter of the batch alike, and each
reconcile reschedules itself.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from dataclasses import field

from scim_server.auth0_gateway import MAX_MEMBERS_PER_CALL
from scim_server.auth0_gateway import Auth0Gateway
from scim_server.auth0_gateway import Auth0Rejected


@dataclass
class _Pending:
    user_id: str
    done: "asyncio.Future[None]" = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class MemberBatcher:
    """Coalesces the add-member steps of concurrent reconciles, per organization.

    :param linger: The longest a pending add waits for company, in seconds.
    """

    def __init__(self, gateway: Auth0Gateway, *, linger: float = 0.25) -> None:
        self._gateway = gateway
        self._linger = linger
        self._pending: dict[str, list[_Pending]] = {}
        self._participants = 0

    @property
    def waiting(self) -> int:
        """The adds queued and not yet sent."""
        return sum(len(batch) for batch in self._pending.values())

    @asynccontextmanager
    async def participant(self) -> AsyncIterator[None]:
        """Count the body as a reconcile that may still add a member."""
        self._participants += 1
        try:
            yield
        finally:
            self._participants -= 1
            if self._pending and self.waiting >= self._participants:
                await self._send_all()

    async def add(self, org_id: str, user_id: str) -> None:
        """Make the user a member of the organization, in a batch when others are due too.

        :raises Auth0Unavailable: When the batch could not be sent now.
        :raises Auth0Rejected: When Auth0 refused this user.
        """
        entry = _Pending(user_id)
        batch = self._pending.setdefault(org_id, [])
        batch.append(entry)
        if len(batch) >= MAX_MEMBERS_PER_CALL:
            await self._send(org_id)
        elif self.waiting >= self._participants:
            await self._send_all()
        else:
            try:
                await asyncio.wait_for(asyncio.shield(entry.done), self._linger)
            except TimeoutError:
                if entry in self._pending.get(org_id, []):
                    await self._send(org_id)
        await entry.done

    async def _send_all(self) -> None:
        for org_id in list(self._pending):
            await self._send(org_id)

    async def _send(self, org_id: str) -> None:
        queued = self._pending.pop(org_id, [])
        batch, rest = queued[:MAX_MEMBERS_PER_CALL], queued[MAX_MEMBERS_PER_CALL:]
        if rest:
            self._pending[org_id] = rest
        if not batch:
            return
        try:
            await self._gateway.add_members(org_id, [entry.user_id for entry in batch])
        except Auth0Rejected as error:
            if len(batch) == 1:
                _settle(batch, error)
            else:
                await self._send_one_by_one(org_id, batch)
        except Exception as error:
            _settle(batch, error)
        except BaseException:
            for entry in batch:
                entry.done.cancel()
            raise
        else:
            _settle(batch, None)

    async def _send_one_by_one(self, org_id: str, batch: list[_Pending]) -> None:
        for entry in batch:
            try:
                await self._gateway.add_members(org_id, [entry.user_id])
            except Exception as error:
                _settle([entry], error)
            else:
                _settle([entry], None)


def _settle(batch: list[_Pending], error: BaseException | None) -> None:
    for entry in batch:
        if entry.done.done():
            continue
        if error is None:
            entry.done.set_result(None)
        else:
            entry.done.set_exception(error)
