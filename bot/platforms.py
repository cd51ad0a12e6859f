"""What the Discord and Slack adapters share: the answer deadline and the staff marks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection

from bot.tasks import log_failure
from community.events import Platform
from storage.members import mark_staff
from storage.uow import UnitOfWork
from storage.writer.queue import IngestWriter

log = logging.getLogger(__name__)

# Both platforms want an answer within 3 seconds; past this, acknowledge (or defer) and follow up.
ANSWER_WITHIN = 2.0


class StaffMarks:
    """Marks staff in storage, again whenever a staff member shows up without a stored row.

    The writer creates a member's row when they first take part, which may be after the adapter
    last marked staff; left alone, that staff member would count toward tiers and quiet flags
    until the next restart. Seeing them schedules one more marking, after the writer stored them.
    """

    def __init__(self, uow: UnitOfWork, writer: IngestWriter, platform: Platform) -> None:
        self.uow = uow
        self.writer = writer
        self.platform = platform
        self.stored: dict[str, set[str]] = {}  # space platform id -> staff ids with a row
        self.pending: dict[str, asyncio.Task] = {}
        self.dirty: set[str] = set()

    async def mark(self, space: str, staff: Collection[str]) -> None:
        """Set exactly STAFF as staff in SPACE (a guild or workspace id)."""
        async with self.uow.write() as conn:  # reads, then writes beside the writer
            self.stored[space] = await mark_staff(conn, self.platform, space, staff)

    def seen(
        self, space: str, member: str, is_staff: bool, staff: Callable[[], Collection[str]]
    ) -> None:
        """MEMBER took part in SPACE; if they are staff without a stored mark, mark again soon.

        STAFF gives every staff id of the space, read only when a marking is due.
        """
        if is_staff and member not in self.stored.get(space, ()):
            self.again(space, staff)

    def again(self, space: str, staff: Callable[[], Collection[str]]) -> None:
        """Mark SPACE's staff again soon: once for however many ask while a marking is due."""
        if space in self.pending:
            self.dirty.add(space)  # the marking under way may have read STAFF already
            return
        self.pending[space] = asyncio.create_task(self._mark_stored(space, staff))

    async def _mark_stored(self, space: str, staff: Callable[[], Collection[str]]) -> None:
        try:
            while True:
                self.dirty.discard(space)
                await self.writer.flush()
                await self.mark(space, staff())
                if space not in self.dirty:
                    break
        except Exception as exc:
            log_failure(log, exc, "could not mark staff in %s; the next start will", space)
        finally:
            self.pending.pop(space, None)
            self.dirty.discard(space)

    async def close(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - bounds the wait
        """Let markings under way finish (the writer is still running), then stop the rest."""
        tasks = list(self.pending.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
