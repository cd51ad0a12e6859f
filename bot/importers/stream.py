"""Write an import's batches through the BatchWriter, one transaction each, while reading on.

The reading side (bot.importers.feed) parses and maps the export on a thread or in a child
process while this writes the previous batch. The writer is idempotent on (space, event id): a
batch committed before a failure is complete, and re-running the import skips what is stored.
On SQLite a large import defers activities' (member, time) index and rebuilds it at its end
(storage.writer.bulk), whether the import ends well or not.

A batch the database refuses (storage.faults) is halved until the event it refuses is alone;
the rest are stored, and that event is logged and counted as skipped. An unavailable database
still stops the import: re-running it resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.importers.feed import ImportStats, Messages
from storage.faults import reason, store_splitting_refusals
from storage.uow import UnitOfWork
from storage.writer.batch import BatchWriter
from storage.writer.bulk import MIN_DEFERRED_ROWS, IndexDeferral, analyze_after_import

log = logging.getLogger(__name__)


async def write_stream(
    uow: UnitOfWork,
    writer: BatchWriter,
    messages: Messages,
    stats: ImportStats,
    *,
    batch_size: int,
    on_batch: Callable[[ImportStats], None] | None = None,
    defer_indexes_from: int = MIN_DEFERRED_ROWS,
    stop: asyncio.Event | None = None,
) -> None:
    """Write the records of MESSAGES (see bot.importers.feed) in batches, one commit each.

    An error while reading (a malformed file) is raised here after the records read before it
    are written, so everything committed is complete and a re-run resumes where it stopped.
    DEFER_INDEXES_FROM is the fewest events for which a SQLite import defers an index, and
    after which a PostgreSQL import refreshes the planner's statistics.

    A batch holds BATCH_SIZE records, or fewer when the reader is behind: waiting for a whole
    batch would leave the writer idle, notably at the start while the reader gets going. Once
    the writer is the slower side, records queue up and batches are whole again.

    When STOP is set (a signal) the records read so far are written and the import ends as if
    the export ended there, deferred index rebuilt; ``stats.stopped`` says so.
    """
    smallest = max(1, batch_size // 10)
    async with uow.importing() as conn:
        deferral = await IndexDeferral.start(conn, defer_indexes_from)
        logged: set[str] = set()

        def refused(record: tuple, exc: Exception) -> None:
            stats.refused += 1
            log.error("event %s cannot be stored (%s); skipped", record[2], reason(exc))

        def splitting(size: int, exc: Exception) -> None:
            why = reason(exc)
            if why not in logged:  # a bug's traceback once, not once per split
                logged.add(why)
                log.error("a batch of %d refused; splitting it", size, exc_info=exc)

        async def write(records: list[tuple]) -> None:
            await store_splitting_refusals(records, commit, refused, splitting)

        async def commit(records: list[tuple]) -> None:
            try:
                async with conn.begin():
                    if deferral is not None:
                        await deferral.before_batch(conn, len(records))
                    result = await writer.write_records(conn, records)
            except BaseException:
                writer.rollback_happened()
                raise
            writer.commit_succeeded()
            stats.batches += 1
            stats.written += len(records)
            stats.inserted += result.inserted
            stats.duplicates += result.duplicates
            stats.blocked += result.blocked
            if on_batch is not None:
                on_batch(stats)

        try:
            pending: list[tuple] = []
            async for message in messages:
                if message[0] == "records":
                    pending += message[1]
                    stats.show_progress(message[2])
                    while len(pending) >= batch_size:
                        await write(pending[:batch_size])
                        pending = pending[batch_size:]
                    if len(pending) >= smallest and not messages.waiting():
                        await write(pending)
                        pending = []
                    if stop is not None and stop.is_set():
                        if pending:
                            await write(pending)
                        stats.stopped = True
                        break
                    continue
                if pending:
                    await write(pending)
                    pending = []
                if message[0] == "done":
                    stats.take_reading(message[1])
                    break
                stats.take_reading(message[2])
                raise message[1]
        except BaseException:
            if deferral is not None:
                try:
                    await conn.rollback()
                    await deferral.finish(conn)
                except Exception:
                    # The database may be gone: the next schema upgrade rebuilds them then.
                    log.warning("could not rebuild deferred indexes yet", exc_info=True)
            raise
        if deferral is not None:
            await deferral.finish(conn)
        await analyze_after_import(conn, stats.inserted, defer_indexes_from)
